"""The seed documents' usage examples, run as the seeds write them: only the import lines differ.

The seeds call the managers with ``await`` under their own names, iterate ``async for`` over
``monitor_order_fills`` and read success flags from ``close_position`` and ``cancel_order``;
``AsyncPositionManager`` / ``AsyncOrderManager`` are those classes. Each example is the seed's
code, token for token between ``# fmt: off`` and ``# fmt: on``, inside a coroutine (its top-level
``await`` needs one). Lines marked ``# test:`` are the test's own: the paper market moves, the
fill watcher passes, names the seed takes from its surroundings (a FastAPI router, the bot's
request and response models, ``user_id``) are given.

Seed code that cannot run anywhere is left out: seed 000's wrappers (2.1, 2.2 "After", seed 001's
"병렬 실행 모드") have ``...`` for arguments; seed 000's consistency checks compare a legacy
HYPERRSI hash (sizes in contracts, SPEC 6.2) with base sizes, and its API check posts without a
bot key; its dual-write and metrics snippets are the old code's internals.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest
from django_redis import get_redis_connection
from pydantic import BaseModel

from orders import watcher
from orders.services import AsyncOrderManager as OrderManager
from positions.services import AsyncPositionManager as PositionManager
from tests.managers import mark
from tradingcore.dto import Position
from tradingcore.enums import Exchange, OrderStatus, PositionSide, PositionStatus

pytestmark = pytest.mark.django_db(transaction=True)


class Router:
    """Stand-in for the bots' FastAPI ``APIRouter``: keeps the endpoints the seed code declares."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {}

    def post(self, path: str) -> Any:
        def register(endpoint: Any) -> Any:
            self.routes["POST", path] = endpoint
            return endpoint

        return register


class OpenPositionRequest(BaseModel):
    """The HYPERRSI bot's request model, as its ``/position/open`` route receives it."""

    user_id: str
    symbol: str
    direction: str
    size: float
    leverage: float = 10
    stop_loss: float | None = None
    take_profit: list[float] | None = None
    is_DCA: bool = False
    is_hedge: bool = False
    hedge_tp_price: float | None = None
    hedge_sl_price: float | None = None


class PositionResponse(BaseModel):
    """The HYPERRSI bot's response model."""

    symbol: str
    side: str
    size: float
    entry_price: float
    leverage: int
    sl_price: float | None = None
    tp_prices: list[float] | None = None
    order_id: str | None = None
    last_filled_price: float | None = None


def test_seed_001_position_manager_example_opens_reads_closes_with_a_flag_and_prices_pnl() -> None:
    mark("45000")

    async def example() -> tuple[Any, ...]:
        # fmt: off
        manager = PositionManager()

        # 포지션 오픈
        position = await manager.open_position(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="long",
            size=Decimal("0.1"),
            leverage=10,
            stop_loss_price=Decimal("44000"),
            take_profit_price=Decimal("46000")
        )

        # 포지션 조회
        positions = await manager.get_positions(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP"
        )
        # fmt: on
        await asyncio.to_thread(mark, "45500")  # test: the market moves before the close
        # fmt: off

        # 포지션 클로즈
        success = await manager.close_position(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="long",
            reason="Take profit"
        )

        # P&L 계산
        pnl_info = await manager.calculate_pnl(
            position=position,
            current_price=Decimal("45500")
        )
        # fmt: on
        return manager, position, positions, success, pnl_info

    manager, position, positions, success, pnl_info = asyncio.run(example())

    assert (position.size, position.entry_price, position.leverage, position.status) == (
        Decimal("0.1"), Decimal("45000"), 10, PositionStatus.OPEN
    )  # fmt: skip
    assert (position.stop_loss_price, position.take_profit_price) == (Decimal("44000"), Decimal("46000"))
    assert [p.id for p in positions] == [position.id]
    assert success is True
    closed = asyncio.run(manager.get_position(position.id))
    assert (closed.status, closed.exit_price, closed.close_reason) == ("closed", Decimal("45500"), "Take profit")
    assert closed.pnl_info.realized_pnl == Decimal("50")  # 0.1 x (45500 - 45000); leverage never multiplies it
    # The seed prices the snapshot it holds (taken while the position was open) at 45500.
    assert (pnl_info.unrealized_pnl, pnl_info.pnl_percentage) == (Decimal("50"), Decimal("1.11111111"))
    assert pnl_info.roe_percentage == Decimal("11.11111111")  # 50 / (45000 x 0.1 / 10)


def test_seed_001_close_position_answers_false_when_there_is_nothing_to_close() -> None:
    mark("45000")

    async def example() -> Any:
        manager = PositionManager()
        # fmt: off
        # 포지션 클로즈
        success = await manager.close_position(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="long",
            reason="Take profit"
        )
        # fmt: on
        return success

    assert asyncio.run(example()) is False


def test_seed_001_order_manager_example_places_cancels_with_a_flag_and_lists_open_orders(capsys) -> None:  # type: ignore[no-untyped-def]
    mark("45500")

    async def example() -> tuple[Any, ...]:
        # fmt: off
        manager = OrderManager()

        # 시장가 주문
        order = await manager.create_order(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="buy",
            order_type="market",
            quantity=Decimal("0.1")
        )

        # 지정가 주문
        order = await manager.create_order(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="buy",
            order_type="limit",
            quantity=Decimal("0.1"),
            price=Decimal("45000")
        )

        # 트리거 주문 (Stop Loss / Take Profit)
        order = await manager.create_order(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="sell",
            order_type="trigger",
            quantity=Decimal("0.1"),
            trigger_price=Decimal("46000"),
            reduce_only=True
        )

        # 주문 취소
        success = await manager.cancel_order(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            order_id=order.id
        )

        # 미체결 주문 조회
        open_orders = await manager.get_open_orders(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP"
        )

        # 주문 체결 모니터링 (실시간)
        async for updated_order in manager.monitor_order_fills(
            order_id=order.id,
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            poll_interval=1.0
        ):
            print(f"Order {updated_order.id}: {updated_order.status}, Filled: {updated_order.filled_qty}")
        # fmt: on
        everything = await manager.get_orders(user_id="user123", exchange="okx")  # test: what was placed
        return order, success, open_orders, everything

    trigger, success, open_orders, everything = asyncio.run(example())

    market, limit, cancelled = everything[2], everything[1], everything[0]  # newest first
    assert (market.order_type, market.status, market.filled_qty, market.avg_fill_price) == (
        "market", OrderStatus.FILLED, Decimal("0.1"), Decimal("45500")
    )  # fmt: skip
    assert cancelled.id == trigger.id
    assert (cancelled.order_type, cancelled.status, cancelled.trigger_price) == ("trigger", "cancelled", 46000)
    assert success is True
    assert [(o.id, o.status, o.price) for o in open_orders] == [(limit.id, OrderStatus.OPEN, Decimal("45000"))]
    # The seed monitors ``order``, the trigger it has just cancelled: a terminal order has no changes to show.
    assert capsys.readouterr().out == ""


def test_seed_001_monitor_order_fills_prints_the_fill_of_a_resting_limit(capsys) -> None:  # type: ignore[no-untyped-def]
    mark("45500")

    async def example() -> Any:
        # fmt: off
        manager = OrderManager()

        # 지정가 주문
        order = await manager.create_order(
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            side="buy",
            order_type="limit",
            quantity=Decimal("0.1"),
            price=Decimal("45000")
        )
        # fmt: on
        await asyncio.to_thread(mark, "44999")  # test: the market crosses the limit
        # fmt: off

        # 주문 체결 모니터링 (실시간)
        async for updated_order in manager.monitor_order_fills(
            order_id=order.id,
            user_id="user123",
            exchange="okx",
            symbol="BTC-USDT-SWAP",
            poll_interval=1.0
        ):
            print(f"Order {updated_order.id}: {updated_order.status}, Filled: {updated_order.filled_qty}")
        # fmt: on
        return await manager.get_order(order.id)

    order = asyncio.run(example())

    assert (order.status, order.filled_qty, order.avg_fill_price) == ("filled", Decimal("0.1"), Decimal("45000"))
    assert capsys.readouterr().out == f"Order {order.id}: filled, Filled: 0.10000000\n"  # as stored: numeric(20,8)


def test_seed_001_hyperrsi_open_endpoint_answers_the_bots_response() -> None:
    mark("45000")
    router = Router()  # test: the bot's FastAPI router

    # fmt: off
    position_manager = PositionManager()

    @router.post("/open")
    async def open_position_endpoint(req: OpenPositionRequest):
        position = await position_manager.open_position(
            user_id=req.user_id,
            exchange="okx",
            symbol=req.symbol,
            side=req.direction,
            size=Decimal(str(req.size)),
            leverage=req.leverage,
            stop_loss_price=Decimal(str(req.stop_loss)) if req.stop_loss else None,
            take_profit_price=Decimal(str(req.take_profit[0])) if req.take_profit else None
        )

        return PositionResponse(
            symbol=position.symbol,
            side=position.side.value,
            size=float(position.size),
            entry_price=float(position.entry_price),
            leverage=position.leverage
        )
    # fmt: on

    request = OpenPositionRequest(
        user_id="8", symbol="BTC-USDT-SWAP", direction="long", size=0.1, leverage=10, stop_loss=44000.5,
        take_profit=[46000, 47000],
    )  # fmt: skip
    response = asyncio.run(router.routes["POST", "/open"](request))

    assert response == PositionResponse(symbol="BTC-USDT-SWAP", side="long", size=0.1, entry_price=45000, leverage=10)
    [position] = asyncio.run(position_manager.get_positions(user_id="8", exchange="okx"))
    assert (position.stop_loss_price, position.take_profit_price) == (Decimal("44000.5"), Decimal("46000"))


def test_seed_000_hyperrsi_open_endpoint_keeps_the_legacy_response() -> None:
    mark("45000")
    router = Router()  # test: the bot's FastAPI router and the seed's constructor arguments
    exchange_store, redis_client = None, get_redis_connection("default")

    # fmt: off
    @router.post("/open")
    async def open_position_endpoint(req: OpenPositionRequest):
        # 통합 Manager 사용
        from positions.services import AsyncPositionManager as PositionManager
        from tradingcore.enums import Exchange, PositionSide

        manager = PositionManager(exchange_store, redis_client)

        position = await manager.open_position(
            user_id=req.user_id,
            exchange=Exchange.OKX,
            symbol=req.symbol,
            side=PositionSide[req.direction.upper()],
            size=Decimal(str(req.size)),
            leverage=int(req.leverage),
            stop_loss=Decimal(str(req.stop_loss)) if req.stop_loss else None,
            take_profit=Decimal(str(req.take_profit[0])) if req.take_profit else None,
            metadata={
                "is_DCA": req.is_DCA,
                "is_hedge": req.is_hedge,
                "hedge_tp_price": req.hedge_tp_price,
                "hedge_sl_price": req.hedge_sl_price
            }
        )

        # 기존 응답 형식 유지
        return PositionResponse(
            symbol=position.symbol,
            side=position.side.value,
            size=float(position.size),
            entry_price=float(position.entry_price),
            leverage=position.leverage,
            sl_price=float(position.stop_loss_price) if position.stop_loss_price else None,
            tp_prices=[float(position.take_profit_price)] if position.take_profit_price else None,
            order_id=position.metadata.get("entry_order_id"),
            last_filled_price=float(position.entry_price)
        )
    # fmt: on

    request = OpenPositionRequest(
        user_id="8", symbol="BTC-USDT-SWAP", direction="short", size=0.2, leverage=5.0, stop_loss=46000,
        take_profit=[44000], is_DCA=True, hedge_tp_price=43000,
    )  # fmt: skip
    response = asyncio.run(router.routes["POST", "/open"](request))

    assert response.model_dump(exclude={"order_id"}) == {
        "symbol": "BTC-USDT-SWAP", "side": "short", "size": 0.2, "entry_price": 45000.0, "leverage": 5,
        "sl_price": 46000.0, "tp_prices": [44000.0], "last_filled_price": 45000.0,
    }  # fmt: skip
    [entry] = asyncio.run(OrderManager().get_orders(user_id="8", exchange="okx", side="sell", status="filled"))
    assert response.order_id == str(entry.id)
    [position] = asyncio.run(PositionManager().get_positions(user_id="8", exchange="okx"))
    assert position.metadata == {
        "is_DCA": True, "is_hedge": False, "hedge_tp_price": 43000.0, "hedge_sl_price": None,
        "entry_order_id": str(entry.id),
    }  # fmt: skip


def test_seed_001_grid_example_opens_levels_and_reads_one_level(caplog) -> None:  # type: ignore[no-untyped-def]
    mark("100")
    logger = logging.getLogger("GRID.strategies.strategy")  # test: the names the seed takes from its module
    user_id, symbol = "7", "BTC-USDT-SWAP"
    levels = ((4, 99.0), (5, 98.0))

    # fmt: off
    position_manager = PositionManager()

    async def execute_grid_level(user_id: str, symbol: str, level: int, price: float):
        # GRID 레벨별 포지션 오픈
        position = await position_manager.open_position(
            user_id=user_id,
            exchange="okx",
            symbol=symbol,
            side="long",
            size=Decimal("0.05"),
            leverage=10,
            entry_price=Decimal(str(price)),
            grid_level=level  # GRID 특화 필드
        )

        logger.info(f"Grid level {level} executed at {price}")
        return position
    # fmt: on

    with caplog.at_level(logging.INFO, logger="GRID.strategies.strategy"):
        placed = [asyncio.run(execute_grid_level(user_id, symbol, level, price)) for level, price in levels]
    mark("97.5")  # test: the market crosses both levels, and the fill watcher passes
    watcher.run_pass(interval=0.1)

    async def read_level_five() -> Any:
        # fmt: off
        # GRID 레벨별 포지션 조회
        positions = await position_manager.get_positions(
            user_id=user_id,
            exchange="okx",
            symbol=symbol,
            side="long",
            grid_level=5  # 특정 레벨만 필터링
        )
        # fmt: on
        return positions

    positions = asyncio.run(read_level_five())

    # While a limit entry rests, the seed gets the position it will become: size 0, the order named.
    assert [(p.grid_level, p.size, p.entry_price) for p in placed] == [(4, 0, Decimal("99")), (5, 0, Decimal("98"))]
    assert all(p.metadata["pending_entry_order_id"] for p in placed)
    assert [p.id for p in positions] == [placed[1].id]
    assert [(p.grid_level, p.size, p.entry_price, p.leverage) for p in positions] == [
        (5, Decimal("0.05"), Decimal("98"), 10)
    ]
    assert [r.getMessage() for r in caplog.records if r.name == logger.name] == [
        "Grid level 4 executed at 99.0",
        "Grid level 5 executed at 98.0",
    ]


def test_seed_000_grid_is_price_placed_finds_a_level_by_price_or_by_level() -> None:
    mark("100")
    exchange_store, redis_client = None, get_redis_connection("default")  # test: the seed's constructor arguments

    # fmt: off
    async def is_price_placed(exchange_name, user_id, symbol_name, price, grid_level, grid_num):
        manager = OrderManager(exchange_store, redis_client)

        # 통합 Manager로 주문 조회
        orders = await manager.get_orders(
            user_id=str(user_id),
            exchange=exchange_name,
            symbol=symbol_name,
            status=OrderStatus.OPEN
        )

        # 가격 중복 체크
        for order in orders:
            if order.price and abs(float(order.price) - price) / price < 0.0003:
                return True

        # 그리드 레벨 체크 (GRID 전용)
        if grid_level is not None:
            grid_orders = [o for o in orders if o.grid_level == grid_level]
            if grid_orders:
                return True

        return False
    # fmt: on

    asyncio.run(
        OrderManager().create_order(
            user_id="7", exchange="okx", symbol="BTC-USDT-SWAP", side="buy", order_type="limit",
            quantity=Decimal("0.05"), price=Decimal("98"), grid_level=5,
        )
    )  # fmt: skip

    async def ask() -> list[bool]:
        return [
            await is_price_placed("okx", 7, "BTC-USDT-SWAP", 98.02, 3, 20),  # 0.02% from 98: the same price
            await is_price_placed("okx", 7, "BTC-USDT-SWAP", 97.0, 5, 20),  # another price on level 5
            await is_price_placed("okx", 7, "BTC-USDT-SWAP", 97.0, 3, 20),  # neither
            await is_price_placed("okx", 8, "BTC-USDT-SWAP", 98.0, 5, 20),  # another user
        ]

    assert asyncio.run(ask()) == [True, True, False, False]


def test_position_model_validation():  # type: ignore[no-untyped-def]
    # fmt: off
    position = Position(
        user_id="test",
        exchange=Exchange.OKX,
        symbol="BTC-USDT-SWAP",
        side=PositionSide.LONG,
        size=Decimal("0.1"),
        entry_price=Decimal("45000")
    )
    assert position.notional_value == Decimal("4500")
    assert position.is_open == True
    # fmt: on
