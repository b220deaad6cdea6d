"""The seed's usage examples, run against the managers on PostgreSQL, Redis and the paper exchange."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tradingcore.enums import OrderStatus, PositionSide, PositionStatus

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def manager() -> PositionManager:
    return PositionManager(actor="system:test")


@pytest.fixture
def opened(manager: PositionManager):  # type: ignore[no-untyped-def]
    mark("45000")
    return manager.open_position(
        **btc(side="long", size=D("0.1"), leverage=10, stop_loss_price=D("44000"), take_profit_price=D("46000"))
    )


def test_open_creates_position_at_mark_with_protective_orders(opened) -> None:  # type: ignore[no-untyped-def]
    assert opened.size == D("0.1")
    assert opened.entry_price == D("45000")
    assert opened.leverage == 10
    assert opened.side == PositionSide.LONG
    assert opened.stop_loss_price == D("44000")
    assert opened.take_profit_price == D("46000")
    assert opened.notional_value == D("4500")
    protective = Order.objects.filter(position_id=opened.id, reduce_only=True, status=OrderStatus.OPEN)
    assert sorted((o.order_type, o.trigger_price, o.quantity) for o in protective) == [
        ("stop_loss", D("44000"), D("0.1")),
        ("take_profit", D("46000"), D("0.1")),
    ]
    assert PositionEvent.objects.filter(position_id=opened.id, type="opened").count() == 1


def test_get_positions_with_and_without_symbol_side_and_grid_filters(manager, opened) -> None:  # type: ignore[no-untyped-def]
    assert [p.id for p in manager.get_positions(user_id=USER, exchange="okx", symbol=BTC)] == [opened.id]
    assert [p.id for p in manager.get_positions(user_id=USER, exchange="okx")] == [opened.id]
    assert [p.id for p in manager.get_positions(user_id=USER, exchange="okx", side="long")] == [opened.id]
    assert manager.get_positions(user_id=USER, exchange="okx", side="short") == []
    assert manager.get_positions(user_id=USER, exchange="okx", symbol=BTC, grid_level=5) == []
    assert manager.get_positions(user_id="nobody", exchange="okx") == []


def test_unified_symbol_input_is_normalised_to_native_id(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")

    position = manager.open_position(user_id=USER, exchange="okx", symbol="BTC/USDT:USDT", side="long", size="0.01")

    assert position.symbol == BTC


def test_partial_close_realizes_pnl_on_closed_part(manager, opened) -> None:  # type: ignore[no-untyped-def]
    mark("45500")

    position = manager.close_position(opened.id, size=D("0.04"), reason="scale out")

    assert position.size == D("0.06")
    assert position.status == PositionStatus.OPEN
    assert position.pnl_info.realized_pnl == D("20")  # 0.04 x (45500 - 45000), never x leverage
    protective = Order.objects.filter(position_id=opened.id, reduce_only=True, status=OrderStatus.OPEN)
    assert {o.quantity for o in protective} == {D("0.06")}


def test_full_close_with_reason_sets_exit_price_closed_time_and_realized_pnl(manager, opened) -> None:  # type: ignore[no-untyped-def]
    mark("45500")
    manager.close_position(opened.id, size=D("0.04"))
    mark("45950")  # just below the take-profit trigger

    closed = manager.close_position(user_id=USER, exchange="okx", symbol=BTC, side="long", reason="Take profit")

    assert closed.status == PositionStatus.CLOSED
    assert closed.size == D("0.06")  # the last size is kept, never 0
    assert closed.exit_price == D("45770")  # (0.04 x 45500 + 0.06 x 45950) / 0.1
    assert closed.pnl_info.realized_pnl == D("77")  # 0.04 x 500 + 0.06 x 950
    assert closed.close_reason == "Take profit"
    assert closed.closed_at is not None
    assert not Order.objects.filter(position_id=opened.id, status__in=["open", "pending", "partially_filled"]).exists()
    assert manager.get_positions(user_id=USER, exchange="okx") == []
    assert [p.id for p in manager.get_positions(user_id=USER, exchange="okx", status="closed")] == [opened.id]


def test_pnl_at_a_given_price_never_multiplies_by_leverage(manager, opened) -> None:  # type: ignore[no-untyped-def]
    pnl_info = manager.calculate_pnl(opened, D("45500"))

    assert pnl_info.unrealized_pnl == D("50")
    assert pnl_info.pnl_percentage == D("1.11111111")
    assert pnl_info.roe_percentage == D("11.11111111")
    assert pnl_info.total_pnl == pnl_info.realized_pnl + D("50")
    assert pnl_info.net_pnl == pnl_info.total_pnl - pnl_info.fees


def test_adding_to_open_position_weights_entry_and_keeps_dca_metadata(manager, opened) -> None:  # type: ignore[no-untyped-def]
    mark("44000")

    added = manager.open_position(**btc(side="long", size=D("0.1"), leverage=10, metadata={"is_DCA": True}))

    assert added.id == opened.id
    assert added.size == D("0.2")
    assert added.entry_price == D("44500")
    assert added.metadata["is_DCA"] is True
    assert Position.objects.filter(user_id=USER, status="open").count() == 1


def test_update_position_replaces_protective_orders(manager, opened) -> None:  # type: ignore[no-untyped-def]
    updated = manager.update_position(opened.id, stop_loss=D("44500"), take_profit_price=None)

    live = Order.objects.filter(position_id=opened.id, status=OrderStatus.OPEN)
    assert updated.stop_loss_price == D("44500")
    assert updated.take_profit_price is None
    assert [(o.order_type, o.trigger_price) for o in live] == [("stop_loss", D("44500"))]
    assert Order.objects.filter(position_id=opened.id, status=OrderStatus.CANCELLED).count() == 2


def test_stop_loss_fires_through_the_watcher_and_closes_the_position(opened) -> None:  # type: ignore[no-untyped-def]
    from orders import watcher

    mark("43900")
    watcher.run_pass()

    position = Position.objects.get(pk=opened.id)
    assert position.status == PositionStatus.CLOSED
    assert position.close_reason == "stop loss"
    assert position.realized_pnl == D("0.1") * (D("43900") - D("45000"))
    assert Order.objects.get(position=position, order_type="take_profit").status == OrderStatus.CANCELLED


def test_position_is_persisted_and_dual_written(opened, redis_client) -> None:  # type: ignore[no-untyped-def]
    from tradingcore.redis import keys

    assert Position.objects.filter(pk=opened.id).exists()
    unified = redis_client.hgetall(keys.position(USER, "okx", BTC, "long"))
    legacy = redis_client.hgetall(keys.hyperrsi_position(USER, BTC, "long"))
    assert unified["size"] == "0.1"
    assert unified["id"] == str(opened.id)
    assert legacy["position_qty"] == "0.1"
    assert legacy["size"] == "10.0"  # contracts of 0.01 BTC, written like HYPERRSI's str(float)


def test_get_positions_accepts_the_unified_symbol_too(manager, opened) -> None:  # type: ignore[no-untyped-def]
    found = manager.get_positions(user_id=USER, exchange="okx", symbol="BTC/USDT:USDT")

    assert [p.id for p in found] == [opened.id]
