"""What a request may carry: numbers in plain notation, bodies of bounded size and depth, and
metadata within its limits, on every endpoint that takes it. Every refusal is a 4xx with the
error body, never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from orders.models import Order
from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, mark
from tests.tradingcore.api.cases import client_for, error_of

pytestmark = pytest.mark.django_db(transaction=True)
POSITIONS = "/api/v1/positions/"
ORDERS = "/api/v1/orders/"
OPEN = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1"}
LIMIT_BUY = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "limit",
             "quantity": "0.1", "price": "40000"}  # fmt: skip
# What Python's Decimal() reads but is not a number on the wire (each was accepted: "1_0" opened 10).
NOT_NUMBERS = ["1_0", "1_000", "1_0000", "\u0661", "\uff10.\uff10\uff11", " 0.01", "0.1 ", "1 0", "\u0967", "0x1"]


@pytest.fixture
def client() -> Any:
    mark("45000")
    return client_for(USER)


def assert_refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return error_of(response)


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_a_size_in_a_spelling_only_python_reads_is_not_a_number(client: Any, text: str) -> None:
    response = client.post(POSITIONS, {**OPEN, "size": text}, format="json")

    assert assert_refused(response)["details"] == {"size": ["not a number"]}
    assert not Position.objects.exists()


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_a_price_in_a_spelling_only_python_reads_is_not_a_number(client: Any, text: str) -> None:
    response = client.post(ORDERS, {**LIMIT_BUY, "price": text}, format="json")

    assert assert_refused(response)["details"] == {"price": ["not a number"]}
    assert not Order.objects.exists()


@pytest.mark.parametrize("text", ["1_0", "\u0661", " 45000"])
def test_a_pnl_price_in_a_spelling_only_python_reads_is_not_a_number(client: Any, text: str) -> None:
    position = PositionManager().open_position(**{**OPEN, "size": Decimal("0.1")})

    response = client.get(f"{POSITIONS}{position.id}/pnl/", {"price": text})

    assert assert_refused(response)["details"] == {"price": ["not a number"]}


@pytest.mark.parametrize("text", ["1e999999999999999999", "1E+1000000"])
def test_a_number_with_an_enormous_exponent_is_a_400_not_an_overflow(client: Any, text: str) -> None:
    body = json.dumps({**OPEN, "size": text}).replace(f'"{text}"', text)  # a bare JSON number

    response = client.post(POSITIONS, body, content_type="application/json")

    assert list(assert_refused(response)["details"]) == ["size"]


def test_plain_notation_with_exponent_and_sign_still_opens(client: Any) -> None:
    response = client.post(POSITIONS, {**OPEN, "size": "+1e-1"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["size"] == "0.10000000"


def test_a_body_over_the_upload_limit_is_a_413_with_the_error_body(client: Any) -> None:
    body = {**OPEN, "metadata": {"blob": "x" * 5_000_000}}

    response = client.post(POSITIONS, body, format="json")

    assert assert_refused(response, 413)["code"] == "request_too_large"
    assert not Position.objects.exists()


def test_json_nested_a_hundred_thousand_levels_is_a_400_not_a_recursion_error(client: Any) -> None:
    response = client.post(POSITIONS, '{"a":' * 100_000, content_type="application/json")

    assert assert_refused(response)["code"] == "parse_error"


def test_a_body_nested_past_the_parser_limit_is_a_400(client: Any) -> None:
    deep = "[" * 65 + "]" * 65

    response = client.post(POSITIONS, f'{{"user_id": "{USER}", "metadata": {deep}}}', content_type="application/json")

    assert "nested more than 64 levels" in assert_refused(response)["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"symbol": "BTC\\u0000", "size": "0.1"}', "symbol"),
        ('{"metadata": {"a": [{"b": "x\\u0000"}]}}', "metadata"),
        ('{"metadata": {"a\\u0000": 1}}', "metadata"),
        ('["\\u0000"]', "body"),
    ],
)
def test_a_nul_character_anywhere_is_a_400_naming_the_top_level_field(client: Any, body: str, field: str) -> None:
    response = client.post(POSITIONS, body, content_type="application/json")

    assert assert_refused(response)["details"] == {field: ["NUL characters are not allowed"]}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def raw_metadata(text: str) -> Callable[[dict[str, Any]], str]:
    """A body whose metadata is ``text`` as written (bare tokens such as NaN survive)."""
    return lambda body: json.dumps({**body, "metadata": "@@"}).replace('"@@"', text)


# Every endpoint that takes metadata: (method, url or a position id placeholder, body)
ENDPOINTS = {
    "open": ("post", POSITIONS, OPEN),
    "update": ("patch", POSITIONS + "{id}/", {}),
    "order": ("post", ORDERS, LIMIT_BUY),
}


@pytest.fixture(params=sorted(ENDPOINTS))
def send(request: Any, client: Any) -> Callable[[str], Any]:
    """Send a body with the given metadata JSON text to one of the endpoints that take metadata."""
    method, url, body = ENDPOINTS[request.param]
    if "{id}" in url:
        url = url.format(id=PositionManager().open_position(**{**OPEN, "size": Decimal("0.1"), "grid_level": 1}).id)

    def post(metadata_json: str) -> Any:
        return getattr(client, method)(url, raw_metadata(metadata_json)(body), content_type="application/json")

    return post


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        (json.dumps({"blob": "x" * 2_000_000}), "at most 8192 bytes as JSON"),
        (json.dumps({"blob": "x" * 8200}), "at most 8192 bytes as JSON"),
        (json.dumps(nested(33)), "at most 32 levels of objects and lists"),
        (json.dumps(nested(60)), "at most 32 levels of objects and lists"),
        ('{"ratio": NaN}', "numbers must be finite"),
        ('{"ratio": Infinity}', "numbers must be finite"),
        ('{"ratio": -Infinity}', "numbers must be finite"),
        ('{"ratio": 1e999}', "numbers must be finite"),
        ('{"ratios": [1, 2, NaN]}', "numbers must be finite"),
        ('{"entry_order_id": "hacked"}', "entry_order_id: set by the system"),
        ('{"legacy": {"source": "grid"}}', "legacy: set by the system"),
    ],
)
def test_metadata_beyond_its_limits_is_a_400_on_every_endpoint_that_takes_it(
    send: Callable[[str], Any], metadata: str, problem: str
) -> None:
    response = send(metadata)

    details = assert_refused(response)["details"]
    assert list(details) == ["metadata"]
    assert details["metadata"][0].startswith(problem), details
    assert Order.objects.count() == Position.objects.count()  # only the PATCH's own position, if any


def test_metadata_within_its_limits_is_kept_on_every_endpoint_that_takes_it(send: Callable[[str], Any]) -> None:
    metadata = {"strategy": "rsi", "ratio": "1.5", "levels": [1, 2.5, {"deep": nested(28)}], "note": "x" * 7000}

    response = send(json.dumps(metadata))

    assert response.status_code in (200, 201), response.content
    kept = response.json()["metadata"]
    assert (kept["strategy"], kept["note"], kept["levels"][2]) == ("rsi", "x" * 7000, {"deep": nested(28)})


def test_five_hundred_levels_of_metadata_are_a_400(client: Any) -> None:
    response = client.post(POSITIONS, {**OPEN, "metadata": nested(500)}, format="json")

    assert assert_refused(response)["code"] == "parse_error"
    assert not Position.objects.exists()
