"""The seed README's usage examples, written as its bots write them (async, `a`-prefixed twins)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from orders.services import OrderManager
from positions.services import PositionManager
from tests.managers import mark
from tradingcore.enums import Exchange, OrderStatus, PositionSide

pytestmark = pytest.mark.django_db(transaction=True)


def test_position_manager_example() -> None:
    mark("45000")

    async def example() -> tuple[object, ...]:
        manager = PositionManager()
        position = await manager.aopen_position(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="long",
            size=Decimal("0.1"),
            leverage=10,
            stop_loss_price=Decimal("44000"),
            take_profit_price=Decimal("46000"),
        )
        positions = await manager.aget_positions(user_id="user123", exchange="okx", symbol="BTC-USDT-SWAP")
        pnl_info = await manager.acalculate_pnl(position=position, current_price=Decimal("45500"))
        success = await manager.aclose_position(
            user_id="user123", exchange="okx", symbol="BTC-USDT-SWAP", side="long", reason="Take profit"
        )
        return position, positions, pnl_info, success

    position, positions, pnl_info, success = asyncio.run(example())

    assert [p.id for p in positions] == [position.id]  # type: ignore[attr-defined]
    assert pnl_info.unrealized_pnl == Decimal("50")  # type: ignore[attr-defined]
    assert success
    assert success.close_reason == "Take profit"  # type: ignore[attr-defined]


def test_order_manager_example() -> None:
    mark("45000")

    async def example() -> list[tuple[OrderStatus, Decimal]]:
        manager = OrderManager()
        common = {"user_id": "user123", "exchange": "okx", "symbol": "BTC-USDT-SWAP"}
        await manager.acreate_order(**common, side="buy", order_type="market", quantity=Decimal("0.1"))
        order = await manager.acreate_order(
            **common, side="buy", order_type="limit", quantity=Decimal("0.1"), price=Decimal("44000")
        )
        trigger = await manager.acreate_order(
            **common, side="sell", order_type="trigger", quantity=Decimal("0.1"),
            trigger_price=Decimal("46000"), reduce_only=True,
        )  # fmt: skip
        assert await manager.acancel_order(**common, order_id=trigger.id)
        open_orders = await manager.aget_open_orders(**common)
        assert [o.id for o in open_orders] == [order.id]
        await asyncio.to_thread(mark, "43999")
        seen = []
        async for updated_order in manager.amonitor_order_fills(order_id=order.id, **common, poll_interval=0.05):
            seen.append((updated_order.status, updated_order.filled_qty))
        return seen

    assert asyncio.run(example()) == [(OrderStatus.FILLED, Decimal("0.1"))]


def test_grid_and_hyperrsi_integration_examples() -> None:
    mark("100")
    manager = PositionManager()

    async def grid() -> list[object]:
        for level, price in ((4, 99), (5, 98)):
            await manager.aopen_position(
                user_id="7", exchange="okx", symbol="BTC-USDT-SWAP", side="long", size=Decimal("0.05"),
                leverage=10, entry_price=Decimal(str(price)), grid_level=level,
            )  # fmt: skip
        await asyncio.to_thread(mark, "97")
        await OrderManager().arefresh_order((await OrderManager().aget_open_orders(user_id="7", exchange="okx"))[0].id)
        return await manager.aget_positions(
            user_id="7", exchange="okx", symbol="BTC-USDT-SWAP", side="long", grid_level=5
        )

    async def hyperrsi() -> object:
        return await manager.aopen_position(
            user_id="8", exchange=Exchange.OKX, symbol="BTC-USDT-SWAP", side=PositionSide["LONG"],
            size=Decimal(str(0.01)), leverage=int("10"), stop_loss=Decimal(str(90.5)), take_profit=Decimal(str(120)),
            metadata={"is_DCA": False, "is_hedge": False, "hedge_tp_price": None, "hedge_sl_price": None},
        )  # fmt: skip

    level_five = asyncio.run(grid())
    position = asyncio.run(hyperrsi())

    assert [(p.grid_level, p.entry_price) for p in level_five] == [(5, Decimal("98"))]  # type: ignore[attr-defined]
    assert position.metadata["entry_order_id"]  # type: ignore[attr-defined]
    assert position.metadata["is_hedge"] is False  # type: ignore[attr-defined]
    assert (position.stop_loss_price, position.take_profit_price) == (Decimal("90.5"), Decimal("120"))  # type: ignore[attr-defined]
