"""A one-way (net) account through the ccxt gateway: orders carry no position side, the exchange
nets every fill, and one net position per symbol comes back.

Real ccxt against ``OkxLoopback`` in ``net_mode`` (BTC-USDT-SWAP: 0.01 BTC per contract).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.tradingcore.exchange.okx_accounts import BTC, order
from tests.tradingcore.exchange.okx_loopback import PLACE_ORDER, SET_LEVERAGE, OkxLoopback
from tradingcore.enums import OrderSide, PositionMode, PositionSide
from tradingcore.exchange.ccxt import CcxtGateway

pytestmark = pytest.mark.django_db
D = Decimal


def test_gateway_takes_its_position_mode_from_the_account(gateway: CcxtGateway, net_gateway: CcxtGateway) -> None:
    assert (gateway.position_mode, net_gateway.position_mode) == (PositionMode.HEDGE, PositionMode.ONE_WAY)


def test_sell_larger_than_the_long_closes_it_and_opens_the_net_short(
    okx_net: OkxLoopback, net_gateway: CcxtGateway
) -> None:
    # given a one-way long of 0.1 BTC at 60000, and the mark at 61000
    net_gateway.place_order(order(quantity="0.1", client_order_id="net1"))
    okx_net.set_mark(BTC, "61000")
    # when a market sell of 0.3 arrives, even one that names the long side
    sold = net_gateway.place_order(
        order(side=OrderSide.SELL, quantity="0.3", position_side=PositionSide.LONG, client_order_id="net2")
    )
    # then OKX got it without posSide and nets it: one short of 0.2 at 61000
    assert [("posSide" in request.body) for request in okx_net.requests_to(PLACE_ORDER, "POST")] == [False, False]
    assert sold.position_side is None
    positions = net_gateway.fetch_positions()
    assert [(p.symbol, p.side, p.size, p.contracts, p.entry_price) for p in positions] == [
        (BTC, PositionSide.SHORT, D("0.2"), D("20"), D("61000"))
    ]


def test_leverage_of_a_one_way_account_is_set_without_a_side(okx_net: OkxLoopback, net_gateway: CcxtGateway) -> None:
    net_gateway.set_leverage(BTC, 5, side=PositionSide.LONG)

    assert [request.body for request in okx_net.requests_to(SET_LEVERAGE, "POST")] == [
        {"instId": BTC, "lever": 5, "mgnMode": "cross"}
    ]
