"""Full closes and leverage changes sent at the same moment by a bot's threads.

Found by the adversarial review of issue 13: a second full close that read our position before the
first one committed, and the exchange's empty position after it, reconciled the difference as a
sale at the mark that never traded (an ``adjustment`` order with an estimated fill); adds sent at
once with different leverage left the position recording another leverage than the exchange's.
Paper exchange, OKX BTC-USDT-SWAP.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, OrderFill
from positions.models import Position
from positions.services import PositionManager
from tests.concurrency import at_once
from tests.managers import btc, mark
from tradingcore.decimals import ZERO
from tradingcore.enums import OrderRole, PositionStatus
from tradingcore.exceptions import InsufficientPosition
from tradingcore.models import PaperLeverage

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
ROUNDS = 6


def test_three_full_closes_at_once_close_once_and_book_nothing_that_did_not_trade() -> None:
    manager = PositionManager(actor="bot:test")
    mark("45000")
    for round_ in range(ROUNDS):
        user = f"closer-{round_}"
        opened = manager.open_position(**btc(user_id=user, side="long", size="0.1", leverage=10))

        results, errors = at_once(*[lambda pk=opened.id: manager.close_position(pk)] * 3)

        assert [type(e) for e in errors] == [InsufficientPosition] * len(errors), errors
        assert len(results) == 1
        assert results[0].status == PositionStatus.CLOSED
        assert not Order.objects.filter(user_id=user, role__in=[OrderRole.ADJUSTMENT, OrderRole.LIQUIDATION]).exists()
        fills = OrderFill.objects.filter(order__user_id=user).select_related("order")
        bought = sum((f.quantity for f in fills if f.order.side == "buy"), ZERO)
        sold = sum((f.quantity for f in fills if f.order.side == "sell"), ZERO)
        assert (bought, sold) == (D("0.1"), D("0.1"))
        assert not any(f.trade_id.startswith("estimate:") for f in fills)


def test_adds_at_once_with_different_leverage_leave_ours_equal_to_the_exchanges() -> None:
    manager = PositionManager(actor="bot:test")
    mark("45000")
    for round_ in range(ROUNDS // 2):
        user = f"leverage-{round_}"
        opened = manager.open_position(**btc(user_id=user, side="long", size="0.1", leverage=10))

        adds = [
            lambda lev=lev, user=user: manager.open_position(
                **btc(user_id=user, side="long", size="0.01", leverage=lev)
            )
            for lev in (10, 20, 30) * 3
        ]
        _, errors = at_once(*adds)

        assert errors == []
        ours = Position.objects.get(pk=opened.id)
        theirs = PaperLeverage.objects.get(user_id=user, exchange="okx", symbol=ours.symbol, side="long").leverage
        assert ours.size == D("0.19")
        assert ours.leverage == theirs, (ours.leverage, theirs)
