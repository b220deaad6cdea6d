"""Trigger-style orders on the paper exchange: they rest until the mark crosses the trigger."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.paper_requests import request
from tradingcore.enums import Liquidity, OrderStatus, PositionSide, TimeInForce
from tradingcore.exceptions import InvalidOrder
from tradingcore.exchange.base import OrderRequest
from tradingcore.exchange.paper import PaperGateway, set_mark

pytestmark = pytest.mark.django_db
D = Decimal
USER = "trigger-user"
BTC = "BTC-USDT-SWAP"


def order(side: str, order_type: str = "market", quantity: str = "0.02", **extra: Any) -> OrderRequest:
    return request(side, order_type, quantity, prefix="triggers", **extra)


@pytest.fixture(autouse=True)
def _fees(settings: Any) -> None:
    settings.TRADING_PAPER_MAKER_FEE = "0.0002"
    settings.TRADING_PAPER_TAKER_FEE = "0.0005"
    settings.TRADING_PAPER_SLIPPAGE_BPS = "0"


@pytest.fixture
def gateway() -> PaperGateway:
    return PaperGateway(exchange="paper", user_id=USER)


@pytest.fixture
def long_position(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    gateway.place_order(order("buy", quantity="0.02"))


def test_stop_loss_of_a_long_fires_when_the_mark_falls_through_and_not_before(
    gateway: PaperGateway, long_position: None
) -> None:
    stop = gateway.place_order(order("sell", "stop_loss", trigger_price="48000", reduce_only=True))
    assert stop.status == OrderStatus.OPEN

    assert set_mark("paper", BTC, D("48500")) == []
    assert gateway.fetch_order(BTC, exchange_order_id=stop.exchange_order_id).status == OrderStatus.OPEN
    trades = set_mark("paper", BTC, D("47900"))

    assert [(t.fill.price, t.fill.quantity, t.fill.liquidity) for t in trades] == [
        (D("47900"), D("0.02"), Liquidity.TAKER)
    ]
    assert trades[0].order.status == OrderStatus.FILLED
    assert gateway.fetch_positions() == []


def test_take_profit_of_a_long_fires_when_the_mark_rises_through(gateway: PaperGateway, long_position: None) -> None:
    gateway.place_order(order("sell", "take_profit", trigger_price="52000", reduce_only=True))

    assert set_mark("paper", BTC, D("51999")) == []
    trades = set_mark("paper", BTC, D("52100"))

    assert [(t.fill.price, t.order.status) for t in trades] == [(D("52100"), OrderStatus.FILLED)]
    assert gateway.fetch_positions() == []


def test_stop_loss_of_a_hedge_short_fires_when_the_mark_rises(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    gateway.place_order(order("sell", position_side=PositionSide.SHORT))
    gateway.place_order(
        order("buy", "stop_loss", trigger_price="51000", reduce_only=True, position_side=PositionSide.SHORT)
    )

    assert set_mark("paper", BTC, D("49000")) == []
    trades = set_mark("paper", BTC, D("51000"))

    assert [t.fill.price for t in trades] == [D("51000")]
    assert gateway.fetch_positions() == []


def test_trigger_on_the_wrong_side_of_the_mark_is_refused(gateway: PaperGateway, long_position: None) -> None:
    with pytest.raises(InvalidOrder, match="would fire at once"):
        gateway.place_order(order("sell", "stop_loss", trigger_price="50500", reduce_only=True))
    with pytest.raises(InvalidOrder, match="would fire at once"):
        gateway.place_order(order("sell", "take_profit", trigger_price="49000", reduce_only=True))

    assert gateway.fetch_open_orders() == []


def test_plain_trigger_fires_when_the_mark_reaches_it_from_the_side_it_was_on(
    gateway: PaperGateway, long_position: None
) -> None:
    gateway.place_order(order("sell", "trigger", trigger_price="51000", reduce_only=True))

    assert set_mark("paper", BTC, D("49000")) == []
    trades = set_mark("paper", BTC, D("51000"))

    assert [t.fill.price for t in trades] == [D("51000")]


def test_stop_market_buy_fires_on_a_breakout(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    gateway.place_order(order("buy", "stop_market", trigger_price="50500"))

    trades = set_mark("paper", BTC, D("50600"))

    assert [(t.fill.price, t.fill.liquidity) for t in trades] == [(D("50600"), Liquidity.TAKER)]
    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.02"))]


def test_stop_limit_that_is_marketable_at_the_trigger_fills_at_once_as_taker(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("buy", "stop_limit", trigger_price="51000", price="51200"))

    assert set_mark("paper", BTC, D("50500")) == []
    trades = set_mark("paper", BTC, D("51100"))

    assert [(t.fill.price, t.fill.liquidity) for t in trades] == [(D("51100"), Liquidity.TAKER)]
    assert gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id).status == OrderStatus.FILLED


def test_stop_limit_rests_as_a_limit_after_its_trigger_and_fills_as_maker_at_its_price(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("sell", "stop_limit", trigger_price="49000", price="48800"))

    assert set_mark("paper", BTC, D("48500")) == []  # triggered, but 48800 is above the mark: rests
    assert [o.exchange_order_id for o in gateway.fetch_open_orders()] == [placed.exchange_order_id]
    trades = set_mark("paper", BTC, D("48900"))

    assert [(t.fill.price, t.fill.liquidity) for t in trades] == [(D("48800"), Liquidity.MAKER)]


def test_ioc_stop_limit_fills_what_the_capped_volume_allows_and_expires_the_rest(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    gateway.place_order(
        order("buy", "stop_limit", quantity="0.03", trigger_price="51000", price="51200", time_in_force=TimeInForce.IOC)
    )

    (trade,) = set_mark("paper", BTC, D("51100"), volume=D("0.01"))

    assert (trade.order.status, trade.order.filled_qty) == (OrderStatus.EXPIRED, D("0.01"))


def test_fok_stop_limit_that_cannot_fill_entirely_expires_untouched(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(
        order("buy", "stop_limit", quantity="0.03", trigger_price="51000", price="51200", time_in_force=TimeInForce.FOK)
    )

    assert set_mark("paper", BTC, D("51100"), volume=D("0.02")) == []

    state = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert (state.status, state.filled_qty) == (OrderStatus.EXPIRED, D(0))


def test_triggered_market_order_capped_by_volume_keeps_filling_on_later_moves(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("buy", "stop_market", quantity="0.02", trigger_price="50500"))

    first = set_mark("paper", BTC, D("50600"), volume=D("0.01"))
    second = set_mark("paper", BTC, D("50700"), volume=D("0.01"))

    assert [t.fill.price for t in first + second] == [D("50600"), D("50700")]
    state = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert (state.status, state.filled_qty, state.avg_fill_price) == (OrderStatus.FILLED, D("0.02"), D("50650"))


def test_reduce_only_trigger_after_the_position_closed_is_cancelled_and_never_reverses(
    gateway: PaperGateway, long_position: None
) -> None:
    stop = gateway.place_order(order("sell", "stop_loss", trigger_price="48000", reduce_only=True))
    gateway.place_order(order("sell", reduce_only=True))  # closes the long at market

    assert set_mark("paper", BTC, D("47000")) == []

    state = gateway.fetch_order(BTC, exchange_order_id=stop.exchange_order_id)
    assert (state.status, state.filled_qty) == (OrderStatus.CANCELLED, D(0))
    assert "no position" in state.reject_reason
    assert gateway.fetch_positions() == []
