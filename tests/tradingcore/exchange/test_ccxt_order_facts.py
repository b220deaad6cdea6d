"""What the ccxt gateway reads keeps every fact the exchange reports: fees with their sign and
currency, post-only and time in force, the position side.

Real ccxt against ``OkxLoopback`` (BTC-USDT-SWAP: 0.01 BTC per contract, mark 60000), and one
ccxt-parsed order of another exchange read by the parser directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.okx_accounts import BTC, checked, make_account, order
from tests.tradingcore.exchange.okx_loopback import OkxLoopback, running_loopback
from tradingcore.enums import Liquidity, OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from tradingcore.exchange.base import Fee
from tradingcore.exchange.ccxt import CcxtGateway, parsing
from tradingcore.exchange.instruments import get_market

pytestmark = pytest.mark.django_db
D = Decimal


# -- fees --------------------------------------------------------------------------------------------


@pytest.fixture
def okx_rebating() -> Iterator[OkxLoopback]:
    """A loopback OKX paying makers 2 bp (maker rate -0.0002)."""
    yield from checked(running_loopback(maker_fee="-0.0002"))


def test_maker_rebate_is_a_negative_fee_on_the_order_and_its_trade(okx_rebating: OkxLoopback) -> None:
    # given an OKX account with a maker rate of -2 bp
    gateway = CcxtGateway(make_account(okx_rebating), timeout_seconds=5)
    # when a limit buy of 0.1 BTC at 59000 fills as maker
    placed = gateway.place_order(order(order_type=OrderType.LIMIT, price=D("59000"), client_order_id="rebate1"))
    okx_rebating.fill(placed.exchange_order_id, "10")
    filled = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    fills = gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id)
    # then OKX reported +1.18 (its sign for income) and the gateway says a fee of -1.18
    assert okx_rebating.orders[placed.exchange_order_id].data["fee"] == "1.18"
    assert (filled.status, filled.fee, filled.fee_currency) == (OrderStatus.FILLED, D("-1.18"), "USDT")
    assert filled.fees == (Fee(D("-1.18"), "USDT"),)
    assert [(f.fee, f.fee_currency, f.liquidity) for f in fills] == [(D("-1.18"), "USDT", Liquidity.MAKER)]


def test_fee_in_the_base_coin_stays_in_the_base_coin(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.charge_fees_in("BTC")

    placed = gateway.place_order(order(quantity="0.1", client_order_id="basefee1"))

    assert (placed.fee, placed.fee_currency, placed.fees) == (D("0.00005"), "BTC", (Fee(D("0.00005"), "BTC"),))


def test_an_order_with_fees_in_two_currencies_keeps_both() -> None:
    # given ccxt's parse of a Binance USDⓈ-M order filled by two trades, the second paid in BNB
    market = get_market("binance", "BTCUSDT")
    trade_fees = [{"cost": 0.03, "currency": "USDT"}, {"cost": 0.0001, "currency": "BNB"}]
    raw: dict[str, Any] = {
        "id": "8886774",
        "clientOrderId": "twofees1",
        "symbol": "BTC/USDT:USDT",
        "type": "market",
        "side": "buy",
        "status": "closed",
        "amount": 0.002,
        "filled": 0.002,
        "average": 60000.0,
        "fee": None,
        "fees": [{"cost": 0.03, "currency": "USDT"}, {"cost": 0.0001, "currency": "BNB"}],
        "trades": [
            {"id": "1", "order": "8886774", "price": 60000.0, "amount": 0.001, "side": "buy", "fee": trade_fees[0]},
            {"id": "2", "order": "8886774", "price": 60000.0, "amount": 0.001, "side": "buy", "fee": trade_fees[1]},
        ],
        "info": {"positionSide": "BOTH", "timeInForce": "GTC"},
    }
    # when the gateway reads it
    read = parsing.exchange_order(raw, market, outcome=raw, is_okx=False)
    # then both currencies are kept, on the order and on each trade, nothing added across currencies
    assert read.fees == (Fee(D("0.03"), "USDT"), Fee(D("0.0001"), "BNB"))
    assert (read.fee, read.fee_currency) == (D("0.03"), "USDT")
    assert [f.all_fees for f in read.fills] == [(Fee(D("0.03"), "USDT"),), (Fee(D("0.0001"), "BNB"),)]
    assert (read.position_side, read.time_in_force) == (None, TimeInForce.GTC)


# -- post-only, time in force, position side -----------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "post_only", "time_in_force", "status"),
    [
        ({"post_only": True}, True, TimeInForce.GTC, OrderStatus.OPEN),
        ({"time_in_force": TimeInForce.IOC}, False, TimeInForce.IOC, OrderStatus.CANCELLED),
        ({"time_in_force": TimeInForce.FOK}, False, TimeInForce.FOK, OrderStatus.CANCELLED),
        ({}, False, TimeInForce.GTC, OrderStatus.OPEN),
    ],
)
def test_post_only_and_time_in_force_are_read_back_from_the_exchange(
    gateway: CcxtGateway, flags: dict[str, Any], post_only: bool, time_in_force: TimeInForce, status: OrderStatus
) -> None:
    # given a limit buy at 59000 (below the mark of 60000) placed with a flag
    placed = gateway.place_order(order(order_type=OrderType.LIMIT, price=D("59000"), client_order_id="flag1", **flags))
    # when it is read back from the exchange
    fetched = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    # then the flags are the exchange's (OKX ordType), IOC and FOK having expired unfilled
    assert (fetched.order_type, fetched.post_only, fetched.time_in_force) == (OrderType.LIMIT, post_only, time_in_force)
    assert fetched.status is status


def test_open_post_only_order_is_listed_as_post_only_for_adoption(gateway: CcxtGateway) -> None:
    gateway.place_order(order(order_type=OrderType.LIMIT, price=D("59000"), post_only=True, client_order_id="adopt1"))

    (listed,) = gateway.fetch_open_orders()

    assert (listed.client_order_id, listed.order_type, listed.post_only) == ("adopt1", OrderType.LIMIT, True)
    assert (listed.time_in_force, listed.price, listed.quantity) == (TimeInForce.GTC, D("59000"), D("0.1"))


def test_hedge_mode_orders_name_their_position_side(gateway: CcxtGateway) -> None:
    gateway.place_order(order(quantity="0.1", client_order_id="side1"))

    close = gateway.place_order(
        order(side=OrderSide.SELL, quantity="0.04", position_side=PositionSide.LONG, client_order_id="side2")
    )
    short = gateway.place_order(order(side=OrderSide.SELL, quantity="0.02", client_order_id="side3"))

    assert (close.position_side, short.position_side) == (PositionSide.LONG, PositionSide.SHORT)
