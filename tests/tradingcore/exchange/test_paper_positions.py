"""Paper positions are built from paper fills only, in base currency, per user, exchange, symbol, side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.paper_requests import request
from tradingcore.decimals import quantize
from tradingcore.enums import MarginMode, PositionSide
from tradingcore.exceptions import InvalidOrder
from tradingcore.exchange.base import OrderRequest
from tradingcore.exchange.paper import PaperGateway, set_mark
from tradingcore.models import PaperPosition

pytestmark = pytest.mark.django_db
D = Decimal
USER = "position-user"
BTC = "BTC-USDT-SWAP"


def order(side: str, quantity: str, order_type: str = "market", **extra: Any) -> OrderRequest:
    return request(side, order_type, quantity, prefix="positions", **extra)


@pytest.fixture
def gateway() -> PaperGateway:
    set_mark("paper", BTC, D("50000"))
    return PaperGateway(exchange="paper", user_id=USER)


def test_partial_reduce_leaves_the_rest_at_the_same_entry_in_base_currency(gateway: PaperGateway) -> None:
    gateway.place_order(order("buy", "0.05"))
    set_mark("paper", BTC, D("51000"))

    gateway.place_order(order("sell", "0.02", reduce_only=True))

    (position,) = gateway.fetch_positions()
    assert (position.side, position.size, position.contracts) == (PositionSide.LONG, D("0.03"), D(3))
    assert position.entry_price == D("50000")
    assert position.mark_price == D("51000")
    assert position.unrealized_pnl == D("30")  # 0.03 x (51000 - 50000)


def test_adding_to_a_position_weights_the_entry_by_quantity(gateway: PaperGateway) -> None:
    gateway.place_order(order("buy", "0.01"))
    set_mark("paper", BTC, D("53000"))
    gateway.place_order(order("buy", "0.02"))

    (position,) = gateway.fetch_positions([BTC])

    assert (position.size, position.entry_price) == (D("0.03"), D("52000"))


def test_one_way_sell_larger_than_the_long_closes_it_and_opens_a_short(gateway: PaperGateway) -> None:
    gateway.place_order(order("buy", "0.03"))
    set_mark("paper", BTC, D("51000"))

    gateway.place_order(order("sell", "0.05"))

    assert [(p.side, p.size, p.entry_price) for p in gateway.fetch_positions()] == [
        (PositionSide.SHORT, D("0.02"), D("51000"))
    ]


def test_hedge_mode_keeps_long_and_short_apart_and_closes_each_by_position_side(gateway: PaperGateway) -> None:
    gateway.place_order(order("buy", "0.05", position_side=PositionSide.LONG))
    gateway.place_order(order("sell", "0.02", position_side=PositionSide.SHORT))
    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [
        (PositionSide.LONG, D("0.05")),
        (PositionSide.SHORT, D("0.02")),
    ]

    gateway.place_order(order("buy", "0.02", position_side=PositionSide.SHORT))

    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.05"))]


def test_reduce_only_cannot_open_or_increase_a_position(gateway: PaperGateway) -> None:
    with pytest.raises(InvalidOrder, match="would increase the position"):
        gateway.place_order(order("sell", "0.01", reduce_only=True))
    gateway.place_order(order("buy", "0.01"))

    with pytest.raises(InvalidOrder, match="would increase the position"):
        gateway.place_order(order("sell", "0.02", reduce_only=True))
    with pytest.raises(InvalidOrder, match="cannot reduce a long"):
        gateway.place_order(order("buy", "0.01", reduce_only=True, position_side=PositionSide.LONG))
    with pytest.raises(InvalidOrder, match="would increase the position"):
        gateway.place_order(order("buy", "0.01", position_side=PositionSide.SHORT))  # hedge close, no short

    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.01"))]


def test_positions_belong_to_their_user(gateway: PaperGateway) -> None:
    gateway.place_order(order("buy", "0.01"))

    assert PaperGateway(exchange="paper", user_id="another-user").fetch_positions() == []


def test_leverage_is_recorded_per_symbol_and_side_and_refused_out_of_range(gateway: PaperGateway) -> None:
    gateway.set_leverage(BTC, 10)
    gateway.set_leverage("BTC/USDT:USDT", 20, margin_mode=MarginMode.ISOLATED, side=PositionSide.SHORT)
    gateway.place_order(order("buy", "0.01", position_side=PositionSide.LONG))
    gateway.place_order(order("sell", "0.01", position_side=PositionSide.SHORT))

    assert [(p.side, p.leverage, p.margin_mode) for p in gateway.fetch_positions()] == [
        (PositionSide.LONG, 10, MarginMode.CROSS),
        (PositionSide.SHORT, 20, MarginMode.ISOLATED),
    ]
    for bad in (0, 126):
        with pytest.raises(InvalidOrder, match="leverage"):
            gateway.set_leverage(BTC, bad)


def test_fetch_positions_reads_its_numbers_exactly_as_the_orm_does(gateway: PaperGateway) -> None:
    # fetch_positions reads with one plain statement (db.from_column converts as the ORM would)
    gateway.place_order(order("buy", "0.3"))
    set_mark("paper", BTC, D("50123.45"))
    gateway.place_order(order("buy", "0.1"))

    [position] = gateway.fetch_positions([BTC])
    row = PaperPosition.objects.get(user_id=USER, exchange="paper", symbol=BTC, side="long")

    assert (position.size, position.mark_price) == (row.size, D("50123.45000000"))
    assert position.entry_price == quantize(row.entry_price)
    assert all(isinstance(v, Decimal) for v in (position.size, position.entry_price, position.mark_price))
    assert position.size.as_tuple().exponent == -8
