"""Validation and errors: one body everywhere, the bad field named, no input answered with a 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from positions.models import Position
from tests.managers import BTC, USER, mark
from tests.tradingcore.api.cases import client_for, error_of

pytestmark = pytest.mark.django_db(transaction=True)
POSITIONS = "/api/v1/positions/"
OPEN = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1"}


@pytest.fixture
def client() -> Any:
    mark("45000")
    return client_for(USER)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size", "NaN"),
        ("size", "Infinity"),
        ("size", "-Infinity"),
        ("size", "-0.1"),
        ("size", "0"),
        ("size", 0),
        ("size", "0.123456789"),
        ("size", "1234567890123.1"),
        ("size", "abc"),
        ("size", True),
        ("entry_price", "1e30"),
        ("side", "sideways"),
        ("exchange", "nasdaq"),
        ("symbol", "X" * 33),
        ("leverage", 126),
        ("leverage", "10.5"),
        ("grid_level", 101),
        ("client_order_id", "not valid!"),
        ("metadata", ["not", "an", "object"]),
        ("surprise", 1),
    ],
)
def test_a_bad_field_is_a_400_naming_it_and_nothing_is_opened(client: Any, field: str, value: Any) -> None:
    response = client.post(POSITIONS, {**OPEN, field: value}, format="json")

    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == "invalid"
    assert list(error_of(response)["details"]) == [field]
    assert error_of(response)["message"].startswith(f"{field}: ")
    assert not Position.objects.exists()


def test_bare_nan_in_the_json_is_refused_naming_the_field(client: Any) -> None:
    body = '{"user_id": "user123", "exchange": "okx", "symbol": "BTC-USDT-SWAP", "side": "long", "size": NaN}'

    response = client.post(POSITIONS, body, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["details"] == {"size": ["must be finite"]}


def test_numbers_are_taken_exactly_never_through_float(client: Any) -> None:
    # 0.30000000000000004 is what 0.1 + 0.2 gives in floats; a JSON number is read as written
    body = '{"user_id": "user123", "exchange": "okx", "symbol": "BTC-USDT-SWAP", "side": "long", "size": 0.3,'
    body += ' "stop_loss_price": 40000.1}'  # on the 0.1 tick; 40000.0999999999985448 as a float

    response = client.post(POSITIONS, body, content_type="application/json")

    assert response.status_code == 201
    assert (response.json()["size"], response.json()["stop_loss_price"]) == ("0.30000000", "40000.10000000")


def test_enums_are_case_insensitive(client: Any) -> None:
    response = client.post(POSITIONS, {**OPEN, "side": "LONG", "exchange": "OKX"}, format="json")

    assert (response.status_code, response.json()["side"], response.json()["exchange"]) == (201, "long", "okx")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("{not json", "application/json"), ("[1, 2]", "application/json"), ("size=1", "text/plain")],
    ids=["malformed", "not_an_object", "not_json"],
)
def test_a_body_that_is_not_a_json_object_is_a_4xx_with_the_error_body(
    client: Any, body: str, content_type: str
) -> None:
    response = client.post(POSITIONS, body, content_type=content_type)

    assert response.status_code in (400, 415)
    assert error_of(response)["code"] in ("parse_error", "invalid", "unsupported_media_type")


def test_an_unknown_url_and_a_wrong_method_answer_the_error_body(client: Any) -> None:
    assert error_of(client.get("/api/v1/nothing-here/"))["code"] == "not_found"
    response = client.put(f"{POSITIONS}00000000-0000-0000-0000-000000000000/", {}, format="json")
    assert (response.status_code, error_of(response)["code"]) == (405, "method_not_allowed")


def test_a_malformed_id_is_a_404(client: Any) -> None:
    response = client.get(f"{POSITIONS}not-a-uuid/")

    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_a_wrong_key_is_401_and_token_scheme_works_too(client: Any) -> None:
    anonymous = client_for(USER)
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer tc_wrong")
    assert error_of(anonymous.get(POSITIONS))["code"] == "authentication_failed"

    token = client._credentials["HTTP_AUTHORIZATION"].replace("Bearer", "Token")
    anonymous.credentials(HTTP_AUTHORIZATION=token)
    assert anonymous.get(POSITIONS).status_code == 200
