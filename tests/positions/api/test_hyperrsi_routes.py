"""The HYPERRSI compatibility routes keep the old request and response shapes and status codes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from positions.models import Position
from tests.managers import BTC, OTHER_USER, mark
from tests.tradingcore.api.cases import client_for, error_of

pytestmark = pytest.mark.django_db(transaction=True)
BOT_USER = "1709556958"  # HYPERRSI user ids are OKX uids, sent as numbers by some bots
OPEN_FIELDS = {"symbol", "side", "size", "entry_price", "leverage", "sl_price", "tp_prices", "order_id",
               "last_filled_price"}  # fmt: skip
CCXT_FIELDS = {"symbol", "side", "contracts", "contractSize", "entryPrice", "markPrice", "unrealizedPnl", "leverage",
               "liquidationPrice", "notional", "timestamp", "datetime", "marginMode", "info"}  # fmt: skip


@pytest.fixture
def client() -> Any:
    mark("45000")
    return client_for(BOT_USER)


def open_long(client: Any, **body: Any) -> Any:
    values = {"user_id": int(BOT_USER), "symbol": BTC, "direction": "long", "size": 3, **body}
    return client.post("/position/open", values, format="json")


def test_open_takes_the_old_request_and_answers_the_old_shape_in_contracts(client: Any) -> None:
    # when an old bot opens 3 contracts with two take-profit levels, its own flags and an unknown field
    response = open_long(client, leverage=10.0, stop_loss=44000, take_profit=[46000, 47000.5], is_DCA=True,
                         is_hedge=False, hedge_tp_price=None, order_concept="initial")  # fmt: skip

    # then it gets the old PositionResponse with JSON numbers, sizes in contracts
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == OPEN_FIELDS
    assert (body["symbol"], body["side"], body["size"], body["entry_price"], body["leverage"]) == (
        BTC,
        "long",
        3,
        45000,
        10,
    )
    assert (body["sl_price"], body["tp_prices"], body["last_filled_price"]) == (44000, [46000, 47000.5], 45000)
    assert b'"size":3,' in response.content  # a number, not a string

    # and the position holds 3 contracts of 0.01 BTC, with the bot's flags kept
    position = Position.objects.get(user_id=BOT_USER)
    assert position.size == Decimal("0.03")
    assert (position.metadata["is_DCA"], position.metadata["is_hedge"]) == (True, False)


def test_positions_of_a_user_come_in_ccxts_shape(client: Any) -> None:
    open_long(client)
    open_long(client, direction="short", size=2)

    response = client.get(f"/position/{BOT_USER}", {"symbol": BTC})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"timestamp", "logger", "message", "data", "position_qty"}
    assert body["position_qty"] == 2
    assert all(CCXT_FIELDS <= set(item) for item in body["data"])
    assert sorted((item["side"], item["contracts"], item["symbol"]) for item in body["data"]) == [
        ("long", 3, "BTC/USDT:USDT"), ("short", 2, "BTC/USDT:USDT")
    ]  # fmt: skip


def test_no_position_is_a_404_and_so_is_another_users(client: Any) -> None:
    assert client.get(f"/position/{BOT_USER}").status_code == 404
    client_for(OTHER_USER, name="other").post(
        "/position/open", {"user_id": OTHER_USER, "symbol": BTC, "direction": "long", "size": 1}, format="json"
    )

    response = client.get(f"/position/{OTHER_USER}")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_close_answers_success_and_closes_the_contracts_asked(client: Any) -> None:
    open_long(client, size=5)

    partial = client.post("/position/close", {"user_id": BOT_USER, "symbol": BTC, "side": "long", "size": 2,
                                              "comment": "tp1"}, format="json")  # fmt: skip
    full = client.post("/position/close", {"user_id": BOT_USER, "symbol": BTC, "side": "long"}, format="json")

    assert partial.json() == {"success": True, "message": f"{BTC} long position partly closed"}
    assert full.json() == {"success": True, "message": f"{BTC} long position closed"}
    assert Position.objects.get(user_id=BOT_USER).status == "closed"


def test_closing_without_a_position_is_404_and_closing_too_much_is_400(client: Any) -> None:
    close = {"user_id": BOT_USER, "symbol": BTC, "side": "long"}
    assert client.post("/position/close", close, format="json").status_code == 404
    open_long(client, size=1)

    response = client.post("/position/close", {**close, "size": 5}, format="json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "insufficient_position"


def test_the_routes_need_an_api_key(client: Any) -> None:
    anonymous = client_for(BOT_USER)
    anonymous.credentials()

    assert anonymous.get(f"/position/{BOT_USER}").status_code == 401
    assert anonymous.post("/position/open", {}, format="json").status_code == 401


def test_a_bad_old_request_is_a_400_naming_the_field(client: Any) -> None:
    response = open_long(client, direction="up")

    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["direction"]


@pytest.mark.parametrize("field", ["stop_los", "takeProfit", "percent"])
def test_open_refuses_a_field_the_old_request_did_not_declare_and_opens_nothing(client: Any, field: str) -> None:
    # a misspelt stop_loss must not open an unprotected position
    response = open_long(client, **{field: 44000})

    assert response.status_code == 400, response.content
    assert error_of(response)["details"] == {field: ["unknown field"]}
    assert not Position.objects.exists()


@pytest.mark.parametrize("user_id", [12.5, 1709556958.0, True])
def test_open_refuses_a_user_id_that_is_not_text_or_an_integer(client: Any, user_id: Any) -> None:
    response = open_long(client, user_id=user_id)

    assert response.status_code == 400, response.content
    assert list(error_of(response)["details"]) == ["user_id"]
    assert not Position.objects.exists()


def test_open_takes_the_user_id_as_text_too(client: Any) -> None:
    response = open_long(client, user_id=BOT_USER)

    assert response.status_code == 200, response.content
    assert Position.objects.get().user_id == BOT_USER


def test_close_refuses_a_percent_it_would_otherwise_read_as_a_full_close_and_unknown_fields(client: Any) -> None:
    open_long(client, size=5)
    close = {"user_id": BOT_USER, "symbol": BTC, "side": "long"}

    half = client.post("/position/close", {**close, "percent": 50}, format="json")
    typo = client.post("/position/close", {**close, "sise": 2}, format="json")

    assert (half.status_code, typo.status_code) == (400, 400)
    assert set(error_of(half)["details"]) == {"percent"}
    assert Position.objects.get(user_id=BOT_USER).size == Decimal("0.05")
    assert client.post("/position/close", {**close, "percent": 100}, format="json").status_code == 200
