"""``Idempotency-Key`` (or ``client_order_id``): a retry gets the first response and never acts twice."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from orders.models import Order
from positions.services import PositionManager
from tests.managers import BTC, USER, mark
from tests.tradingcore.api.cases import client_for, error_of
from tradingcore.models import PaperOrder

pytestmark = pytest.mark.django_db(transaction=True)
ORDERS = "/api/v1/orders/"
MARKET_BUY = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "market",
              "quantity": "0.1"}  # fmt: skip


@pytest.fixture
def client() -> Any:
    mark("45000")
    return client_for(USER)


def test_a_retry_gets_the_first_response_and_places_nothing_more(client: Any) -> None:
    first = client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")

    retry = client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert (Order.objects.count(), PaperOrder.objects.count()) == (1, 1)


def test_the_same_key_for_another_body_is_a_422_naming_the_header(client: Any) -> None:
    client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")

    response = client.post(ORDERS, {**MARKET_BUY, "quantity": "0.2"}, format="json", HTTP_IDEMPOTENCY_KEY="buy-1")

    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in error_of(response)["details"]
    assert Order.objects.count() == 1


def test_client_order_id_alone_makes_the_retry_idempotent(client: Any) -> None:
    body = {**MARKET_BUY, "client_order_id": "bot7order1"}

    first, retry = (client.post(ORDERS, body, format="json") for _ in range(2))

    assert retry.json() == first.json()
    assert first.json()["client_order_id"] == "bot7order1"
    assert PaperOrder.objects.count() == 1


def test_an_error_is_replayed_too(client: Any) -> None:
    position = client.post("/api/v1/positions/", {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long",
                                                  "size": "0.1"}, format="json").json()  # fmt: skip
    url = f"/api/v1/positions/{position['id']}/close/"

    first = client.post(url, {"size": "0.5"}, format="json", HTTP_IDEMPOTENCY_KEY="close-1")
    retry = client.post(url, {"size": "0.5"}, format="json", HTTP_IDEMPOTENCY_KEY="close-1")

    assert (first.status_code, retry.status_code) == (409, 409)
    assert retry.json() == first.json()


def test_a_close_retried_after_its_answer_was_lost_gets_the_closed_position(client: Any) -> None:
    # given a full close that acted but whose answer never reached the bot (a killed worker: no
    # response stored for the retry to replay)
    position = client.post("/api/v1/positions/", {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long",
                                                  "size": "0.1"}, format="json").json()  # fmt: skip
    PositionManager().close_position(position["id"], client_order_id="bot7close1")

    # when the bot retries it
    retry = client.post(f"/api/v1/positions/{position['id']}/close/", {"client_order_id": "bot7close1"}, format="json")

    # then it gets the position that close left, not a conflict, and nothing more was sold
    assert retry.status_code == 200, retry.json()
    assert (retry.json()["status"], retry.json()["size"]) == ("closed", "0.10000000")
    assert PaperOrder.objects.filter(client_order_id="bot7close1").count() == 1


def test_keys_of_two_bots_do_not_collide(client: Any) -> None:
    other = client_for(USER, name="second-bot")

    client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="same")
    response = other.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="same")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert PaperOrder.objects.count() == 2


def test_after_the_key_expired_a_retry_still_finds_its_order_instead_of_placing_another(
    client: Any, settings: Any
) -> None:
    # given a stored response that has expired
    settings.API_IDEMPOTENCY_TTL_SECONDS = 0
    first = client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="old")

    # when the bot retries with the same key
    response = client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="old")

    # then the request ran again, and the client order id derived from the key found the first order
    assert "Idempotent-Replayed" not in response.headers
    assert (response.status_code, response.json()["id"]) == (201, first.json()["id"])
    assert PaperOrder.objects.count() == 1


def test_a_malformed_key_is_a_400_naming_the_header(client: Any) -> None:
    response = client.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256)

    assert response.status_code == 400
    assert error_of(response)["details"] == {"Idempotency-Key": ["1 to 255 printable ASCII characters"]}


def test_two_requests_at_the_same_moment_place_one_order(client: Any) -> None:
    # given two workers (threads, each with its own database session) and one key
    start = threading.Barrier(2)
    responses: list[Any] = []

    def send() -> None:
        worker = APIClient(SERVER_NAME="localhost")
        worker.credentials(**client._credentials)
        start.wait()
        try:
            responses.append(worker.post(ORDERS, MARKET_BUY, format="json", HTTP_IDEMPOTENCY_KEY="together"))
        finally:
            connections.close_all()

    # when both send the same order at once
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # then both get the same first response, and the exchange holds one order
    assert [response.status_code for response in responses] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(response.headers.get("Idempotent-Replayed", "no") for response in responses) == ["no", "true"]
    assert (Order.objects.count(), PaperOrder.objects.count()) == (1, 1)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (ORDERS, MARKET_BUY),
        ("/position/open", {"user_id": 1709556958, "symbol": BTC, "direction": "long", "size": 3}),
    ],
)
def test_a_replay_answers_the_first_bodys_bytes(url: str, body: dict[str, Any]) -> None:
    # jsonb keeps no key order and the HYPERRSI routes answer exact JSON numbers: the bytes are kept
    mark("45000")
    client = client_for(USER, "1709556958")

    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="same-bytes")
    retry = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="same-bytes")

    assert first.status_code in (200, 201), first.content
    assert (retry.status_code, retry.headers["Idempotent-Replayed"]) == (first.status_code, "true")
    assert retry.content == first.content
    assert retry.headers["Content-Type"] == first.headers["Content-Type"]


def test_a_replayed_error_answers_the_first_bodys_bytes(client: Any) -> None:
    body = {**MARKET_BUY, "quantity": "0"}

    first = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    retry = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")

    assert (first.status_code, retry.status_code) == (400, 400)
    assert retry.content == first.content
