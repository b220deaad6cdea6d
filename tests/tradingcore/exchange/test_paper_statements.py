"""The paper exchange's hot paths stay within a budget of database round trips.

Counted with ``CaptureQueriesContext`` in transactional tests, so the BEGIN and COMMIT of each
``transaction.atomic()`` block are captured too: every entry is one round trip to PostgreSQL.
A count, never a duration, so the test is stable on any machine.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.tradingcore.exchange.paper_requests import BTC, request
from tradingcore.enums import MarginMode, OrderStatus, PositionSide
from tradingcore.exchange.paper import PaperGateway, set_mark
from tradingcore.models import PaperLeverage

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
USER = "statements-user"
# BEGIN, lock the book, read the positions, insert the order, insert its fill, upsert the positions
# (two statements when one row is new and another one changes), COMMIT. An order naming its position
# side changes one row only, and first reads the account's position mode (once per gateway).
MARKET_ORDER_BUDGET = 8


def round_trips(action: Callable[[], Any]) -> list[str]:
    """The statements ``action`` sent, BEGIN and COMMIT included."""
    with CaptureQueriesContext(connection) as captured:
        action()
    return [query["sql"] for query in captured.captured_queries]


@pytest.fixture
def gateway() -> PaperGateway:
    set_mark("paper", BTC, D("50000"))
    return PaperGateway(exchange="paper", user_id=USER)


def test_market_order_opening_a_position_stays_within_the_round_trip_budget(gateway: PaperGateway) -> None:
    sent = round_trips(lambda: gateway.place_order(request("buy", quantity="0.05", prefix="budget")))

    assert sent[0] == "BEGIN"
    assert sent[-1] == "COMMIT"
    assert len(sent) <= MARKET_ORDER_BUDGET, "\n".join(sent)
    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.05"))]


@pytest.mark.parametrize(
    ("side", "quantity", "extra"),
    [
        ("buy", "0.02", {}),  # adds to the long
        ("sell", "0.05", {"reduce_only": True}),  # closes it
        ("sell", "0.08", {}),  # one-way: closes the long and opens a short
        ("sell", "0.03", {"position_side": PositionSide.SHORT}),  # hedge: opens a short beside the long
    ],
)
def test_market_order_on_an_existing_position_stays_within_the_round_trip_budget(
    gateway: PaperGateway, side: str, quantity: str, extra: dict[str, Any]
) -> None:
    gateway.place_order(request("buy", quantity="0.05", prefix="budget"))

    sent = round_trips(lambda: gateway.place_order(request(side, quantity=quantity, prefix="budget", **extra)))

    assert len(sent) <= MARKET_ORDER_BUDGET, "\n".join(sent)


def test_set_leverage_is_one_statement_whether_it_inserts_updates_or_changes_nothing(gateway: PaperGateway) -> None:
    inserted = round_trips(lambda: gateway.set_leverage(BTC, 10, side=PositionSide.LONG))
    stored = PaperLeverage.objects.get(user_id=USER, symbol=BTC, side=PositionSide.LONG)

    repeated = round_trips(lambda: gateway.set_leverage(BTC, 10, side=PositionSide.LONG))
    unchanged = PaperLeverage.objects.get(pk=stored.pk)
    updated = round_trips(
        lambda: gateway.set_leverage(BTC, 20, margin_mode=MarginMode.ISOLATED, side=PositionSide.LONG)
    )

    assert (len(inserted), len(repeated), len(updated)) == (1, 1, 1)
    assert unchanged.updated_at == stored.updated_at
    row = PaperLeverage.objects.get(pk=stored.pk)
    assert (row.leverage, row.margin_mode) == (20, MarginMode.ISOLATED)
    assert row.updated_at > stored.updated_at


def test_the_market_order_placed_within_the_budget_is_filled_with_its_fill(gateway: PaperGateway) -> None:
    placed = gateway.place_order(request("buy", quantity="0.05", prefix="budget"))

    fetched = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)

    assert placed == fetched
    assert placed.status == OrderStatus.FILLED
