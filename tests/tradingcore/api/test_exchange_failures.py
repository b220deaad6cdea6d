"""The API when the exchange fails: 503 with ``Retry-After``, and a retry that never places twice.

Dry-run is off: the real ccxt client talks to the loopback OKX (the simulated outside world).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.tradingcore.api.cases import client_for, error_of
from tests.tradingcore.exchange.okx_loopback import PLACE_ORDER, OkxLoopback, loopback_account

pytestmark = pytest.mark.django_db(transaction=True)
USER = "okx-api-user"
BTC = "BTC-USDT-SWAP"


@pytest.fixture
def okx(settings: Any) -> Iterator[OkxLoopback]:
    yield from loopback_account(settings, USER)


def test_an_unreachable_exchange_is_a_503_and_the_retry_does_not_place_again(okx: OkxLoopback) -> None:
    # given the exchange answers the placement with a server error
    okx.fail("POST", PLACE_ORDER, http_status=503)
    client = client_for(USER)
    body = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "limit",
            "quantity": "0.1", "price": "40000"}  # fmt: skip

    # when the bot places an order, then retries with the same key
    first = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    retry = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    # then it was told to come back later; the retry found no order with its client order id on
    # the exchange and sent it under that id (an exchange refuses a second order with it), so the
    # exchange holds it once and the retry answers it placed
    assert first.status_code == 503
    assert int(first.headers["Retry-After"]) > 0
    assert error_of(first)["code"] in ("exchange_unavailable", "order_outcome_unknown")
    assert (retry.status_code, retry.json()["status"]) == (201, "open")
    assert len(okx.requests_to(PLACE_ORDER, "POST")) == 2
    assert len(okx.orders) == 1
    assert okx.order_by_client_id(retry.json()["client_order_id"]) is not None


def test_hyperrsi_open_without_margin_is_a_503_with_retry_after_300(okx: OkxLoopback) -> None:
    okx.fail("POST", PLACE_ORDER, okx_code="51008")

    response = client_for(USER).post(
        "/position/open", {"user_id": USER, "symbol": BTC, "direction": "long", "size": 10}, format="json"
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "300"
    assert error_of(response)["code"] == "insufficient_funds"


def test_v1_open_without_margin_is_a_400(okx: OkxLoopback) -> None:
    okx.fail("POST", PLACE_ORDER, okx_code="51008")

    response = client_for(USER).post(
        "/api/v1/positions/",
        {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1"},
        format="json",
    )

    assert (response.status_code, error_of(response)["code"]) == (400, "insufficient_funds")
