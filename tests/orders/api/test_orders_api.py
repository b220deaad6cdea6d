"""``/api/v1/orders/``: the reusable API cases, and what only orders do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orders.services import OrderManager
from tests.managers import BTC, USER, mark
from tests.tradingcore.api import cases
from tests.tradingcore.api.cases import client_for, error_of

URL = "/api/v1/orders/"


class OrderObjects:
    """Each object is a resting limit buy of ``USER`` (or another user) on the paper exchange."""

    list_url = URL

    def make_object(self, user_id: str = USER, **overrides: Any) -> str:
        values = {"user_id": user_id, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "limit",
                  "quantity": Decimal("0.1"), "price": Decimal("40000"), **overrides}  # fmt: skip
        return str(OrderManager().create_order(**values).id)


class TestOrdersApi(OrderObjects, cases.GetObject, cases.ListObjects, cases.CreateObject, cases.DetailActions):
    filter_cases = [
        ({}, 4),
        ({"side": "sell"}, 1),
        ({"order_type": "market"}, 1),
        ({"status": "filled"}, 1),
        ({"status": ["open", "filled"]}, 4),
        ({"grid_level": 3}, 1),
        ({"client_order_id": "filterme1"}, 1),
    ]
    bad_filter = {"status": "lost"}
    actions = [
        ("post", "cancel/", {}, 200),
        ("get", "fills/", {}, 200),
        ("get", "events/", {}, 200),
    ]

    def make_filter_objects(self) -> None:
        self.make_object(side="sell", price=Decimal("50000"))
        self.make_object(order_type="market", price=None)
        self.make_object(grid_level=3)
        self.make_object(client_order_id="filterme1")

    def create_body(self, user_id: str = USER) -> dict[str, Any]:
        return {"user_id": user_id, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "limit",
                "quantity": "0.1", "price": "40000"}  # fmt: skip


@pytest.fixture
def client(transactional_db: Any) -> Any:
    mark("45000")
    return client_for(USER)


def place(client: Any, **body: Any) -> Any:
    values = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "limit",
              "quantity": "0.1", "price": "40000", **body}  # fmt: skip
    return client.post(URL, values, format="json")


def test_a_market_order_is_filled_and_its_fill_listed(client: Any) -> None:
    order = place(client, order_type="market", price=None).json()

    fills = client.get(f"{URL}{order['id']}/fills/").json()["results"]

    assert (order["status"], order["filled_qty"], order["avg_fill_price"]) == ("filled", "0.10000000",
                                                                             "45000.00000000")  # fmt: skip
    assert [(fill["quantity"], fill["price"], fill["liquidity"]) for fill in fills] == [
        ("0.10000000", "45000.00000000", "taker")
    ]


def test_a_limit_without_price_is_a_400_naming_price(client: Any) -> None:
    response = place(client, price=None)

    assert response.status_code == 400
    assert error_of(response)["details"] == {"price": ["required for limit orders"]}


def test_cancelling_a_filled_order_is_a_409(client: Any) -> None:
    order = place(client, order_type="market", price=None).json()

    response = client.post(f"{URL}{order['id']}/cancel/", format="json")

    assert response.status_code == 409
    assert error_of(response)["code"] == "order_not_cancellable"
    assert error_of(response)["details"] == {"status": "filled"}


def test_a_retried_cancel_answers_the_cancelled_order_again(client: Any) -> None:
    order = place(client).json()
    first = client.post(f"{URL}{order['id']}/cancel/", format="json")

    again = client.post(f"{URL}{order['id']}/cancel/", format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "cancelled"


def test_open_orders_are_the_live_ones(client: Any) -> None:
    resting = place(client).json()
    place(client, order_type="market", price=None)

    live = client.get(f"{URL}open/").json()["results"]

    assert [order["id"] for order in live] == [resting["id"]]


def test_order_events_tell_the_story_with_the_key_as_actor(client: Any) -> None:
    order = place(client).json()
    client.post(f"{URL}{order['id']}/cancel/", format="json")

    events = client.get(f"{URL}{order['id']}/events/").json()["results"]

    types = [event["type"] for event in events]
    assert (types[0], types[-1]) == ("created", "cancelled")
    assert "cancel_requested" in types
    assert {event["actor"] for event in events} == {"api:bot"}


class TestOpenOrdersApi(OrderObjects, cases.ListObjects):
    """``GET /api/v1/orders/open/``: the same cases over the live orders only."""

    list_url = f"{URL}open/"
    filter_cases = [({}, 2), ({"side": "sell"}, 1), ({"grid_level": 3}, 1), ({"status": "filled"}, 0)]
    bad_filter = {"grid_level": "1.5"}

    def make_filter_objects(self) -> None:
        self.make_object(side="sell", price=Decimal("50000"))
        self.make_object(order_type="market", price=None)  # filled at once: not live
        self.make_object(grid_level=3)
