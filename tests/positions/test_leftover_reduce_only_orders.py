"""A reduce-only order still resting when its position is fully closed is cancelled, as the
exchanges do; it never waits for the next position of the same side and closes it unasked.

Found by the adversarial review of issue 13: a bot's sell limit 0.1 @ 46000, reduce-only, outlived
the full close of its long, and filled against the next long when the mark reached 46000.
Paper exchange, OKX BTC-USDT-SWAP.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import watcher
from orders.models import Order
from orders.services import OrderManager
from positions.models import Position
from positions.services import PositionManager
from tests.managers import USER, btc, mark
from tradingcore import dto
from tradingcore.enums import OrderStatus, PositionStatus

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def resting_take_profit(**overrides: object) -> dto.Order:
    return OrderManager().create_order(
        **btc(side="sell", order_type="limit", quantity="0.1", price="46000", reduce_only=True,
              position_side="long", **overrides)
    )  # fmt: skip


def test_a_full_close_cancels_the_resting_reduce_only_order_so_the_next_long_survives_its_price() -> None:
    positions = PositionManager()
    mark("45000")
    first = positions.open_position(**btc(side="long", size="0.1"))
    leftover = resting_take_profit()

    positions.close_position(first.id)

    assert Order.objects.get(pk=leftover.id).status == OrderStatus.CANCELLED
    second = positions.open_position(**btc(side="long", size="0.1"))
    mark("46000")
    watcher.run_pass(interval=0)
    assert Position.objects.get(pk=second.id).status == PositionStatus.OPEN
    assert Position.objects.get(pk=second.id).size == D("0.1")


def test_a_partial_close_keeps_it_and_another_open_grid_level_keeps_its_own() -> None:
    positions = PositionManager()
    mark("45000")
    first = positions.open_position(**btc(side="long", size="0.2"))
    kept = resting_take_profit()

    positions.close_position(first.id, size="0.1")
    assert Order.objects.get(pk=kept.id).status == OrderStatus.OPEN

    level_1 = positions.open_position(**btc(side="long", size="0.1", grid_level=1))
    level_2 = positions.open_position(**btc(side="long", size="0.1", grid_level=2))
    of_level_2 = resting_take_profit(grid_level=2)
    positions.close_position(level_1.id)
    assert Order.objects.get(pk=of_level_2.id).status == OrderStatus.OPEN
    assert Position.objects.get(pk=level_2.id).status == PositionStatus.OPEN
    assert Order.objects.filter(user_id=USER, status=OrderStatus.OPEN).count() == 2
