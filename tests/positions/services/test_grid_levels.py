"""Grid positions: 20 levels on one symbol, independent per level."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import watcher
from positions.models import Position
from positions.services import PositionManager
from tests.concurrency import at_once
from tests.managers import BTC, USER, btc, mark
from tradingcore.enums import PositionStatus

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LEVELS = range(20)


def level_price(level: int) -> Decimal:
    return D(100 - level)


def level_size(level: int) -> Decimal:
    return D("0.01") * (level + 1)


def test_twenty_grid_levels_open_fill_and_close_at_once(redis_client) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager(actor="system:grid-test")
    mark("101")
    for level in LEVELS:
        pending = manager.open_position(
            **btc(side="long", size=level_size(level), leverage=5, entry_price=level_price(level), grid_level=level)
        )
        assert pending.size == 0
        assert "pending_entry_order_id" in pending.metadata

    mark("80")  # one move through every level's limit price
    watcher.run_pass()

    open_levels = {p.grid_level: p for p in manager.get_positions(user_id=USER, exchange="okx", symbol=BTC)}
    assert sorted(open_levels) == list(LEVELS)
    for level, position in open_levels.items():
        assert position.size == level_size(level)
        assert position.entry_price == level_price(level)

    mark("110")
    closes = [
        lambda level=level: manager.close_position(
            user_id=USER, exchange="okx", symbol=BTC, side="long", grid_level=level, reason="grid"
        )
        for level in LEVELS
    ]
    _, errors = at_once(*closes)

    assert errors == []
    for level in LEVELS:
        position = Position.objects.get(user_id=USER, grid_level=level)
        assert position.status == PositionStatus.CLOSED
        assert position.realized_pnl == level_size(level) * (D("110") - level_price(level))
        assert position.exit_price == D("110")
