"""``/api/v1/positions/``: the reusable API cases, and what only positions do."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from positions.services import PositionManager
from tests.managers import BTC, ETH, OTHER_USER, USER, mark
from tests.tradingcore.api import cases
from tests.tradingcore.api.cases import client_for, error_of
from tradingcore.redis import rebuild

URL = "/api/v1/positions/"


class PositionObjects:
    """Each object is a separate position (its own grid level), opened at market through the manager."""

    list_url = URL
    _levels = itertools.count(1)

    def make_object(self, user_id: str = USER, **overrides: Any) -> str:
        values = {"user_id": user_id, "exchange": "okx", "symbol": BTC, "side": "long", "size": Decimal("0.1"),
                  "grid_level": next(self._levels), **overrides}  # fmt: skip
        return str(PositionManager().open_position(**values).id)


class TestPositionsApi(PositionObjects, cases.GetObject, cases.ListObjects, cases.CreateObject, cases.DetailActions):
    filter_cases = [
        ({}, 4),
        ({"side": "short"}, 1),
        ({"symbol": ETH}, 1),
        ({"symbol": "ETH/USDT:USDT", "exchange": "okx"}, 1),
        ({"symbol": "ETH/USDT:USDT"}, 1),  # the ccxt form without an exchange: each exchange's id
        ({"symbol": "BTC/USDT:USDT", "status": "open"}, 2),
        ({"status": "closed"}, 1),
        ({"status": "open", "grid_level": 7}, 1),
        ({"user_id": USER, "exchange": "okx", "status": "open"}, 3),
        ({"user_id": OTHER_USER}, 0),
    ]
    actions = [
        ("post", "close/", {"size": "0.04", "reason": "scale out"}, 200),
        ("patch", "", {"stop_loss_price": "40000"}, 200),
        ("get", "pnl/", {"price": "46000"}, 200),
        ("get", "events/", {}, 200),
    ]

    def make_filter_objects(self) -> None:
        mark("2500", symbol=ETH)
        self.make_object(side="short")
        self.make_object(symbol=ETH)
        self.make_object(grid_level=7)
        PositionManager().close_position(self.make_object())

    def create_body(self, user_id: str = USER) -> dict[str, Any]:
        return {"user_id": user_id, "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1", "leverage": 5}


@pytest.fixture
def client(transactional_db: Any) -> Any:
    mark("45000")
    return client_for(USER)


def open_btc(client: Any, **body: Any) -> Any:
    return client.post(URL, {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long", **body}, format="json")


def test_opening_answers_the_position_with_decimals_as_strings(client: Any) -> None:
    # when a bot opens 0.1 BTC long at 10x with a stop-loss
    response = open_btc(client, size=0.1, leverage=10, stop_loss_price="44000")

    # then the position is open at the mark, sizes in base currency, decimals as strings
    assert response.status_code == 201
    position = response.json()
    assert (position["size"], position["entry_price"], position["status"]) == ("0.10000000", "45000.00000000", "open")
    assert position["leverage"] == 10
    assert (position["stop_loss_price"], position["notional_value"]) == ("44000.00000000", "4500.00000000")
    assert position["metadata"]["entry_order_id"]


def test_partial_close_realizes_pnl_on_the_closed_part(client: Any) -> None:
    position = open_btc(client, size="0.1").json()
    mark("46000")

    response = client.post(f"{URL}{position['id']}/close/", {"size": "0.04", "reason": "scale out"}, format="json")

    assert response.status_code == 200
    assert (response.json()["size"], response.json()["realized_pnl"]) == ("0.06000000", "40.00000000")


def test_closing_more_than_is_open_is_a_409_naming_the_size(client: Any) -> None:
    position = open_btc(client, size="0.1").json()

    response = client.post(f"{URL}{position['id']}/close/", {"size": "0.2"}, format="json")

    assert response.status_code == 409
    assert error_of(response)["code"] == "insufficient_position"
    assert "size" in error_of(response)["details"]


def test_pnl_at_a_price_never_multiplies_by_leverage(client: Any) -> None:
    position = open_btc(client, size="0.1", leverage=20).json()

    pnl = client.get(f"{URL}{position['id']}/pnl/", {"price": "45500"}).json()

    assert (pnl["price"], pnl["unrealized_pnl"], pnl["roe_percentage"]) == ("45500.00000000", "50.00000000",
                                                                          "22.22222222")  # fmt: skip


def test_stop_loss_update_replaces_the_protective_order_and_null_removes_it(client: Any) -> None:
    position = open_btc(client, size="0.1", stop_loss_price="44000").json()

    moved = client.patch(f"{URL}{position['id']}/", {"stop_loss_price": "44500"}, format="json")
    removed = client.patch(f"{URL}{position['id']}/", {"stop_loss_price": None}, format="json")
    live = client.get("/api/v1/orders/open/", {"user_id": USER}).json()["results"]

    assert moved.json()["stop_loss_price"] == "44500.00000000"
    assert removed.json()["stop_loss_price"] is None
    assert [order for order in live if order["role"] == "stop_loss"] == []


def test_events_list_every_change_with_the_key_as_actor(client: Any) -> None:
    position = open_btc(client, size="0.1").json()
    client.post(f"{URL}{position['id']}/close/", {}, format="json")

    events = client.get(f"{URL}{position['id']}/events/").json()["results"]

    assert [event["type"] for event in events] == ["opened", "closed"]
    assert {event["actor"] for event in events} == {"api:bot"}


def test_open_positions_of_one_user_are_read_from_redis_and_match_the_database(client: Any) -> None:
    # given two open positions, the projection rebuilt (Redis holds all of it)
    open_btc(client, size="0.1")
    open_btc(client, size="0.2", side="short")
    rebuild.rebuild()
    fast_query = {"user_id": USER, "exchange": "okx", "status": "open"}

    # when the same positions are listed through the fast path and through PostgreSQL
    from_redis = client.get(URL, fast_query).json()
    from_database = client.get(URL, {"user_id": USER, "status": "open"}).json()

    # then both answers are the same
    assert from_redis["count"] == 2
    assert from_redis["results"] == from_database["results"]


def test_a_user_outside_the_key_sees_nothing_even_when_asked_by_name(client: Any) -> None:
    open_btc(client, size="0.1")
    rebuild.rebuild()

    response = client_for(OTHER_USER).get(URL, {"user_id": USER, "exchange": "okx", "status": "open"})

    assert response.json()["count"] == 0


def test_a_revoked_key_is_401(client: Any) -> None:
    from django.core.management import call_command

    call_command("revoke_api_key", "--name", "bot")

    assert open_btc(client, size="0.1").status_code == 401
