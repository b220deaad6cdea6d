"""The paper exchange keeps all its state in the database: a restart loses nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connections

from tradingcore.enums import Liquidity, OrderSide, OrderStatus, OrderType, PositionSide
from tradingcore.exchange.base import OrderRequest
from tradingcore.exchange.paper import PaperGateway, set_mark

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
USER = "restart-user"
BTC = "BTC-USDT-SWAP"


def restart() -> PaperGateway:
    """A new gateway on fresh database connections: nothing survives but what was committed."""
    connections.close_all()
    return PaperGateway(exchange="okx", user_id=USER)


def test_marks_orders_fills_positions_and_leverage_survive_a_restart() -> None:
    set_mark("okx", BTC, D("50000"))
    before = PaperGateway(exchange="okx", user_id=USER)
    before.set_leverage(BTC, 7)
    before.place_order(OrderRequest(BTC, OrderSide.BUY, OrderType.MARKET, D("0.05"), "restartentry01"))
    resting = before.place_order(
        OrderRequest(BTC, OrderSide.SELL, OrderType.LIMIT, D("0.02"), "restartexit001", price=D("51000"))
    )

    after = restart()

    assert after.fetch_mark_price("BTC/USDT:USDT") == D("50000")
    assert [o.exchange_order_id for o in after.fetch_open_orders()] == [resting.exchange_order_id]
    (position,) = after.fetch_positions()
    assert (position.side, position.size, position.leverage) == (PositionSide.LONG, D("0.05"), 7)
    entry = after.fetch_order(BTC, client_order_id="restartentry01")
    assert (entry.status, len(entry.fills)) == (OrderStatus.FILLED, 1)


def test_a_resting_order_placed_before_a_restart_fills_after_it() -> None:
    set_mark("okx", BTC, D("50000"))
    placed = PaperGateway(exchange="okx", user_id=USER).place_order(
        OrderRequest(BTC, OrderSide.BUY, OrderType.LIMIT, D("0.03"), "restartlimit01", price=D("49000"))
    )

    restart()
    (trade,) = set_mark("okx", BTC, D("48000"))
    after = restart()

    assert trade.order.exchange_order_id == placed.exchange_order_id
    state = after.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert (state.status, state.filled_qty, state.fills[0].liquidity) == (
        OrderStatus.FILLED,
        D("0.03"),
        Liquidity.MAKER,
    )
    assert [p.size for p in after.fetch_positions()] == [D("0.03")]
