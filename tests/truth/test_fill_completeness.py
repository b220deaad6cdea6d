"""Kinds 6 and 12 of issue 9: what a fill needs, what status may say, and a fill counted once.

An order never becomes ``filled`` without fills that add up to its filled quantity at known
prices. A report of running totals (filled quantity and average, no trades) has the order's
trades fetched; when they are not listed yet, the order stays live with an ``incomplete_report``
event and the next poll books every trade once, at its own price.
Loopback OKX with real ccxt; BTC-USDT-SWAP, 0.01 BTC a contract.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import watcher
from orders.models import Order, OrderEvent, OrderFill
from orders.services import OrderManager
from positions.models import Position
from tests.truth.conftest import BTC, OKX_USER
from tradingcore.enums import OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def limit_buy(okx, quantity: str = "0.1", price: str = "60000"):  # type: ignore[no-untyped-def]
    okx.set_mark(BTC, "61000")
    return OrderManager().create_order(
        user_id=OKX_USER, exchange="okx", symbol=BTC, side="buy", order_type="limit", quantity=quantity, price=price
    )


def test_running_totals_without_trades_never_make_an_order_filled(okx) -> None:  # type: ignore[no-untyped-def]
    placed = limit_buy(okx)
    okx.report_totals_only(placed.exchange_order_id)
    okx.fill(placed.exchange_order_id, "4", "60000")
    okx.fill(placed.exchange_order_id, "6", "59900")

    seen = OrderManager().refresh_order(placed.id)
    again = OrderManager().refresh_order(placed.id)

    assert seen.status == OrderStatus.OPEN
    assert again.status == OrderStatus.OPEN
    assert seen.filled_qty == D("0")
    assert not OrderFill.objects.filter(order_id=placed.id).exists()
    assert not Position.objects.exists()
    [event] = OrderEvent.objects.filter(order_id=placed.id, type="incomplete_report")  # once per report
    assert event.parameters["reported_status"] == "filled"
    assert D(event.parameters["reported_filled_qty"]) == D("0.1")
    assert D(event.parameters["missing_qty"]) == D("0.1")


def test_the_trades_listed_later_are_each_booked_once_at_their_price(okx) -> None:  # type: ignore[no-untyped-def]
    placed = limit_buy(okx)
    okx.report_totals_only(placed.exchange_order_id)
    okx.fill(placed.exchange_order_id, "4", "60000")
    OrderManager().refresh_order(placed.id)  # running total 0.04 @ 60000, no trade yet
    okx.fill(placed.exchange_order_id, "6", "59900")
    OrderManager().refresh_order(placed.id)  # running total 0.1 @ 59940, no trade yet

    assert okx.list_trades(placed.exchange_order_id) == 2
    filled = OrderManager().refresh_order(placed.id)

    assert filled.status == OrderStatus.FILLED
    assert filled.filled_qty == D("0.1")
    assert filled.avg_fill_price == D("59940")
    fills = list(OrderFill.objects.filter(order_id=placed.id).order_by("filled_at").values_list("quantity", "price"))
    assert fills == [(D("0.04"), D("60000")), (D("0.06"), D("59900"))]
    position = Position.objects.get(user_id=OKX_USER)
    assert position.size == D("0.1")
    assert position.entry_price == D("59940")


def test_running_totals_whose_trades_are_listed_are_booked_from_the_trades(okx) -> None:  # type: ignore[no-untyped-def]
    # The order report has no trades (OKX never lists them in the order); the fills history
    # does: each trade is booked at its own price, not one fill at the average.
    placed = limit_buy(okx)
    okx.fill(placed.exchange_order_id, "3", "60000")
    okx.fill(placed.exchange_order_id, "7", "59800")

    filled = OrderManager().refresh_order(placed.id)

    assert filled.status == OrderStatus.FILLED
    fills = list(OrderFill.objects.filter(order_id=placed.id).order_by("filled_at").values_list("quantity", "price"))
    assert fills == [(D("0.03"), D("60000")), (D("0.07"), D("59800"))]
    assert Position.objects.get(user_id=OKX_USER).entry_price == D("59860")


def test_a_partial_fill_then_its_trades_then_more_progress_counts_every_trade_once(okx) -> None:  # type: ignore[no-untyped-def]
    placed = limit_buy(okx)
    okx.fill(placed.exchange_order_id, "2", "60000")
    OrderManager().refresh_order(placed.id)
    okx.report_totals_only(placed.exchange_order_id)
    okx.fill(placed.exchange_order_id, "8", "59950")

    held = OrderManager().refresh_order(placed.id)
    assert held.status == OrderStatus.PARTIALLY_FILLED
    assert held.filled_qty == D("0.02")

    okx.list_trades()
    filled = OrderManager().refresh_order(placed.id)

    assert filled.status == OrderStatus.FILLED
    assert OrderFill.objects.filter(order_id=placed.id).count() == 2
    assert filled.avg_fill_price == D("59960")  # (0.02 x 60000 + 0.08 x 59950) / 0.1
    assert Position.objects.get(user_id=OKX_USER).size == D("0.1")


def test_the_watcher_keeps_an_incomplete_order_live_and_finishes_it_later(okx) -> None:  # type: ignore[no-untyped-def]
    placed = limit_buy(okx)
    okx.report_totals_only(placed.exchange_order_id)
    okx.fill(placed.exchange_order_id, "10", "60000")

    watcher.run_pass(interval=0)
    assert Order.objects.get(pk=placed.id).status == OrderStatus.OPEN

    okx.list_trades()
    watcher.run_pass(interval=0)
    assert Order.objects.get(pk=placed.id).status == OrderStatus.FILLED
    assert Position.objects.get(user_id=OKX_USER).size == D("0.1")
