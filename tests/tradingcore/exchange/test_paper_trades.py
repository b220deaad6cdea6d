"""The paper exchange reports trades and order facts like a real one: every trade of one order, the
account's trades since a time, fees with their sign (a maker rebate is negative), post-only, time in
force and position side.

BTC-USDT-SWAP: 0.01 BTC per contract, whole contracts; maker fee 2 bp, taker fee 5 bp unless a test
says otherwise.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.paper_requests import BTC, request
from tradingcore.enums import Liquidity, OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import ExchangeOrderNotFound, InvalidInput
from tradingcore.exchange.base import Fee
from tradingcore.exchange.paper import PaperGateway, set_mark

pytestmark = pytest.mark.django_db
D = Decimal
USER = "trades-user"


@pytest.fixture(autouse=True)
def _fees(settings: Any) -> None:
    settings.TRADING_PAPER_MAKER_FEE = "0.0002"
    settings.TRADING_PAPER_TAKER_FEE = "0.0005"
    settings.TRADING_PAPER_SLIPPAGE_BPS = "0"


@pytest.fixture
def gateway() -> PaperGateway:
    set_mark("paper", BTC, D("50000"))
    return PaperGateway(exchange="paper", user_id=USER)


def a_moment_ago() -> datetime:
    return datetime.now(tz=UTC) - timedelta(seconds=5)


# -- fees --------------------------------------------------------------------------------------------


def test_negative_maker_rate_books_the_rebate_as_a_negative_fee(gateway: PaperGateway, settings: Any) -> None:
    # given a maker rate of -2 bp and the mark at 60000
    settings.TRADING_PAPER_MAKER_FEE = "-0.0002"
    set_mark("paper", BTC, D("60000"))
    # when a limit buy of 0.1 at 59000 rests and the mark comes down to it
    placed = gateway.place_order(request("buy", "limit", "0.1", price="59000"))
    set_mark("paper", BTC, D("59000"))
    # then it filled as maker with a fee of -1.18 on the order and on its trade
    filled = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert (filled.status, filled.fee, filled.fee_currency) == (OrderStatus.FILLED, D("-1.18"), "USDT")
    assert filled.fees == (Fee(D("-1.18"), "USDT"),)
    fills = gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id)
    assert [(f.fee, f.liquidity, f.all_fees) for f in fills] == [
        (D("-1.18"), Liquidity.MAKER, (Fee(D("-1.18"), "USDT"),))
    ]


# -- every trade of one order ----------------------------------------------------------------------


def test_order_trades_list_each_partial_fill_naming_the_order(gateway: PaperGateway) -> None:
    # given a limit buy of 0.1 at 49000 filled 0.04 on a thin move, then the rest
    placed = gateway.place_order(
        request("buy", "limit", "0.1", price="49000", position_side=PositionSide.LONG, client_order_id="parts1")
    )
    set_mark("paper", BTC, D("49000"), volume=D("0.04"))
    set_mark("paper", BTC, D("48900"))
    # when its trades are asked for, by exchange id and by client id
    by_id = gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id)
    by_client_id = gateway.fetch_order_trades("BTC/USDT:USDT", client_order_id="parts1")
    # then both list the two maker fills at the limit price with their fees
    assert by_id == by_client_id
    assert [(f.quantity, f.price, f.fee, f.liquidity) for f in by_id] == [
        (D("0.04"), D("49000"), D("0.392"), Liquidity.MAKER),
        (D("0.06"), D("49000"), D("0.588"), Liquidity.MAKER),
    ]
    assert {(f.exchange_order_id, f.client_order_id, f.side, f.position_side, f.liquidation) for f in by_id} == {
        (placed.exchange_order_id, "parts1", OrderSide.BUY, PositionSide.LONG, False)
    }


def test_order_without_fills_has_no_trades(gateway: PaperGateway) -> None:
    placed = gateway.place_order(request("buy", "limit", "0.1", price="49000"))

    assert gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id) == []


def test_order_trades_of_an_unknown_or_foreign_order_raise_not_found(gateway: PaperGateway) -> None:
    theirs = PaperGateway(exchange="paper", user_id="someone-else").place_order(request("buy", quantity="0.01"))

    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, exchange_order_id=theirs.exchange_order_id)
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, client_order_id="nosuchorder")
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, exchange_order_id="okx-123")


# -- the account's trades since a time --------------------------------------------------------------


def test_account_trades_since_a_time_are_the_users_own_later_ones_oldest_first(gateway: PaperGateway) -> None:
    # given a buy, then (later) two sells, and another user's trade
    gateway.place_order(request("buy", quantity="0.1"))
    time.sleep(0.01)
    since = datetime.now(tz=UTC)
    first = gateway.place_order(request("sell", quantity="0.03", position_side=PositionSide.LONG))
    second = gateway.place_order(request("sell", quantity="0.02", position_side=PositionSide.LONG))
    PaperGateway(exchange="paper", user_id="someone-else").place_order(request("buy", quantity="0.05"))
    # when the user's trades since then are asked for
    fills = gateway.fetch_trades(BTC, since=since)
    # then they are the two sells, oldest first, each naming its order and the side it reduced
    assert [(f.exchange_order_id, f.side, f.position_side, f.quantity) for f in fills] == [
        (first.exchange_order_id, OrderSide.SELL, PositionSide.LONG, D("0.03")),
        (second.exchange_order_id, OrderSide.SELL, PositionSide.LONG, D("0.02")),
    ]
    assert all(f.price == D("50000") and f.fee == f.quantity * D("25") for f in fills)  # 5 bp of 50000


def test_account_trades_need_an_aware_time(gateway: PaperGateway) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        gateway.fetch_trades(BTC, since=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time under test


# -- post-only, time in force, position side -----------------------------------------------------


def test_orders_report_post_only_time_in_force_and_position_side(gateway: PaperGateway) -> None:
    post_only = gateway.place_order(request("buy", "limit", "0.1", price="49000", post_only=True))
    ioc = gateway.place_order(request("buy", "limit", "0.1", price="49000", time_in_force=TimeInForce.IOC))
    short = gateway.place_order(request("sell", quantity="0.02", position_side=PositionSide.SHORT))

    fetched = gateway.fetch_order(BTC, exchange_order_id=post_only.exchange_order_id)
    assert (fetched.order_type, fetched.post_only, fetched.time_in_force) == (OrderType.LIMIT, True, TimeInForce.GTC)
    assert (ioc.time_in_force, ioc.status, ioc.post_only) == (TimeInForce.IOC, OrderStatus.EXPIRED, False)
    assert (short.position_side, post_only.position_side) == (PositionSide.SHORT, None)
