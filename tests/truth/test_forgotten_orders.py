"""Kind 2 of issue 9: orders the exchange has forgotten (OKX 51603 "Order does not exist").

An acknowledged order the exchange no longer knows is counted on every poll (a ``not_found``
event each time) and, after three such answers in a row, settled from the exchange's trades of
that order: ``filled`` with its fills, or ``cancelled`` keeping the fills it had. A cancel of a
forgotten order settles it at once. The fills change the order's own position: never a second one.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import watcher
from orders.models import Order, OrderEvent, OrderFill
from orders.services import OrderManager
from positions.models import Position
from positions.services import PositionManager
from tests.managers import btc, mark
from tests.truth.conftest import BTC, OKX_USER
from tradingcore.enums import OrderStatus, PositionStatus
from tradingcore.exchange.paper import outside

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def okx_limit_buy(okx, price: str = "60000"):  # type: ignore[no-untyped-def]
    okx.set_mark(BTC, "61000")
    return OrderManager().create_order(
        user_id=OKX_USER, exchange="okx", symbol=BTC, side="buy", order_type="limit", quantity="0.1", price=price
    )


def test_partly_filled_order_the_exchange_forgot_is_settled_cancelled_with_its_fills(okx) -> None:  # type: ignore[no-untyped-def]
    placed = okx_limit_buy(okx)
    okx.fill(placed.exchange_order_id, "4", "60000")
    okx.forget(placed.exchange_order_id)

    for _ in range(2):
        watcher.run_pass(interval=0)
        assert Order.objects.get(pk=placed.id).status == OrderStatus.OPEN
    watcher.run_pass(interval=0)

    order = Order.objects.get(pk=placed.id)
    assert order.status == OrderStatus.CANCELLED
    assert order.filled_qty == D("0.04")
    assert order.exchange_misses == 3
    assert list(OrderFill.objects.filter(order=order).values_list("quantity", "price")) == [(D("0.04"), D("60000"))]
    events = list(OrderEvent.objects.filter(order=order, type="not_found").values_list("parameters", flat=True))
    assert [event["misses"] for event in events] == [1, 2, 3, 3]
    assert events[-1]["settled_as"] == "cancelled"
    assert [(p.size, p.status) for p in Position.objects.all()] == [(D("0.04"), PositionStatus.OPEN)]
    watcher.run_pass(interval=0)  # settled: the watcher stops asking
    assert OrderEvent.objects.filter(order=order, type="not_found").count() == 4


def test_filled_order_the_exchange_forgot_before_we_saw_the_fill_is_settled_filled_once(okx) -> None:  # type: ignore[no-untyped-def]
    placed = okx_limit_buy(okx)
    okx.fill(placed.exchange_order_id, "10", "60000")
    okx.forget(placed.exchange_order_id)

    for _ in range(3):
        watcher.run_pass(interval=0)

    order = Order.objects.get(pk=placed.id)
    assert order.status == OrderStatus.FILLED
    assert order.filled_qty == D("0.1")
    assert [(p.size, p.entry_price) for p in Position.objects.all()] == [(D("0.1"), D("60000"))]


def test_cancel_of_a_forgotten_order_settles_it_instead_of_raising(okx) -> None:  # type: ignore[no-untyped-def]
    placed = okx_limit_buy(okx)
    okx.forget(placed.exchange_order_id, keep_trades=False)

    cancelled = OrderManager().cancel_order(placed.id)

    assert cancelled.status == OrderStatus.CANCELLED
    assert cancelled.filled_qty == D("0")
    event = OrderEvent.objects.filter(order_id=placed.id, type="not_found").last()
    assert event is not None
    assert event.parameters["settled_as"] == "cancelled"


def test_an_order_found_again_starts_counting_from_zero(okx) -> None:  # type: ignore[no-untyped-def]
    from tests.tradingcore.exchange.okx_loopback import API

    placed = okx_limit_buy(okx)
    okx.fail("GET", f"{API}/trade/order", okx_code="51603", times=2)
    okx.fail("GET", f"{API}/trade/order-algo", okx_code="51603", times=2)

    watcher.run_pass(interval=0)
    watcher.run_pass(interval=0)
    assert Order.objects.get(pk=placed.id).exchange_misses == 2
    watcher.run_pass(interval=0)

    order = Order.objects.get(pk=placed.id)
    assert order.status == OrderStatus.OPEN
    assert order.exchange_misses == 0


def test_paper_stop_loss_forgotten_after_firing_closes_the_one_position() -> None:
    mark("45000")
    opened = PositionManager().open_position(**btc(side="long", size=D("0.1"), stop_loss_price=D("44000")))
    stop = Order.objects.get(position_id=opened.id, role="stop_loss")
    mark("43900")  # the stop fires on the exchange...
    outside.forget("okx", stop.exchange_order_id)  # ...and the exchange forgets it before we look

    for _ in range(3):
        watcher.run_pass(interval=0)

    stop.refresh_from_db()
    assert stop.status == OrderStatus.FILLED
    assert [(p.status, p.realized_pnl) for p in Position.objects.all()] == [(PositionStatus.CLOSED, D("-110"))]


def test_cancel_that_races_a_fill_books_the_fill_instead_of_failing() -> None:
    # Not a forgotten order, the other side of the same coin: the exchange filled the order just
    # before the cancel arrived. The cancel answers with the filled order and books its fill.
    mark("45000")
    placed = OrderManager().create_order(**btc(side="buy", order_type="limit", quantity=D("0.1"), price=D("44900")))
    mark("44800")  # fills on the exchange; no watcher pass has seen it yet

    final = OrderManager().cancel_order(placed.id)

    assert final.status == OrderStatus.FILLED
    assert [(p.size, p.entry_price) for p in Position.objects.all()] == [(D("0.1"), D("44900"))]
