"""Sixteen threads opening and closing the same position at once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from orders.models import OrderFill
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import USER, btc, mark
from tradingcore import pnl
from tradingcore.decimals import ZERO
from tradingcore.enums import OrderSide, PositionSide
from tradingcore.exceptions import InsufficientPosition

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
STEP = D("0.1")
ROUNDS = 4


def test_sixteen_threads_open_and_close_the_same_position_exactly(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRADING_PAPER_TAKER_FEE = "0.0005"
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="long", size="0.5"))
    refused: list[int] = []
    failures: list[BaseException] = []

    def opener(worker: int) -> None:
        for round_ in range(ROUNDS):
            try:
                mark(str(100 + worker + round_))
                manager.open_position(**btc(side="long", size=STEP))
            except BaseException as exc:  # noqa: BLE001 - asserted below
                failures.append(exc)
        connections.close_all()

    def closer(worker: int) -> None:
        for _ in range(ROUNDS):
            try:
                manager.close_position(position.id, size=STEP * 2)
            except InsufficientPosition:
                refused.append(worker)
            except BaseException as exc:  # noqa: BLE001 - asserted below
                failures.append(exc)
        connections.close_all()

    threads = [threading.Thread(target=opener, args=(i,)) for i in range(8)]
    threads += [threading.Thread(target=closer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    opened = D("0.5") + 8 * ROUNDS * STEP
    closes = 8 * ROUNDS - len(refused)
    closed = closes * STEP * 2
    assert closed <= opened  # never a close beyond the open size
    fills = list(OrderFill.objects.filter(order__user_id=USER).select_related("order"))
    assert sum((f.quantity for f in fills if f.order.side == "buy"), ZERO) == opened
    assert sum((f.quantity for f in fills if f.order.side == "sell"), ZERO) == closed
    # The closers may empty the first position while openers still run: later opens then start
    # a new one (and closes of the first are refused). Every position is exact on its own.
    open_rows = Position.objects.filter(user_id=USER, status="open")
    assert sum((row.size for row in open_rows), ZERO) == opened - closed
    for row in Position.objects.filter(user_id=USER):
        _assert_equals_its_fills_and_events(row)
    assert Position.objects.filter(user_id=USER, status="open").count() <= 1


def _assert_equals_its_fills_and_events(row: Position) -> None:
    fills = OrderFill.objects.filter(order__position=row)
    assert row.fees == sum((f.fee for f in fills), ZERO)
    assert row.realized_pnl == sum((f.realized_pnl for f in fills), ZERO)
    # Replaying the position's events in the order they were applied gives the same figures.
    state = pnl.PositionState(side=PositionSide.LONG)
    for event in PositionEvent.objects.filter(position=row).order_by("id"):
        if event.type in ("opened", "increased"):
            side = OrderSide.BUY
        elif event.type in ("reduced", "closed"):
            side = OrderSide.SELL
        else:
            continue
        state = pnl.apply_fill(
            state, side=side, qty=D(event.parameters["qty"]), price=D(event.parameters["price"]), fee=ZERO
        ).state
    assert state.realized_pnl == row.realized_pnl
    if row.status == "open":
        assert state.size == row.size
        assert pnl.quantize_entry(state.entry_price) == row.entry_price
