"""The ccxt gateway refuses, by name, every instrument kind the service does not model, instead of
reading it as a linear contract: inverse contracts, options, and spot on a derivatives venue.

The loopback OKX lists them in OKX's recorded shapes: ``BTC-USD-SWAP`` (inverse, 100 USD per
contract, settled in BTC), the spot pair ``BTC-USDT`` and BTC-USD options.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.tradingcore.exchange.okx_accounts import BTC, order
from tests.tradingcore.exchange.okx_loopback import INSTRUMENTS, PLACE_ORDER, POSITIONS, OkxLoopback
from tradingcore.enums import PositionSide
from tradingcore.exceptions import BadSymbol, UnsupportedInstrument
from tradingcore.exchange.ccxt import CcxtGateway

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.mark.parametrize("symbol", ["BTC-USD-SWAP", "btc-usd-swap", "BTC/USD:BTC"])
def test_inverse_contract_is_refused_by_name_with_its_contract_size(gateway: CcxtGateway, symbol: str) -> None:
    with pytest.raises(UnsupportedInstrument) as refused:
        gateway.market(symbol)

    assert "okx BTC-USD-SWAP is an inverse contract (100 USD per contract, settled in BTC)" in refused.value.message
    assert refused.value.details["instrument"] == "BTC-USD-SWAP"


@pytest.mark.parametrize("symbol", ["BTC-USDT", "BTC/USDT"])
def test_spot_market_is_refused_where_derivatives_are_traded(gateway: CcxtGateway, symbol: str) -> None:
    with pytest.raises(UnsupportedInstrument, match="okx BTC-USDT is a spot market where derivatives are traded"):
        gateway.market(symbol)


@pytest.mark.parametrize("symbol", ["BTC-USD-250328-100000-C", "BTC/USD:BTC-250328-80000-P"])
def test_option_is_refused_by_name_without_loading_the_option_list(
    okx: OkxLoopback, gateway: CcxtGateway, symbol: str
) -> None:
    with pytest.raises(UnsupportedInstrument, match=f"okx {symbol} is an option"):
        gateway.market(symbol)

    assert {r.query.get("instType") for r in okx.requests_to(INSTRUMENTS)} == {"SPOT", "FUTURES", "SWAP"}


def test_unsupported_instruments_are_still_bad_symbols_and_unknown_ones_stay_plain_bad_symbols(
    gateway: CcxtGateway,
) -> None:
    with pytest.raises(BadSymbol) as unknown:
        gateway.market("DOGE-XYZ-SWAP")

    assert not isinstance(unknown.value, UnsupportedInstrument)
    assert issubclass(UnsupportedInstrument, BadSymbol)


def test_order_on_an_inverse_contract_is_refused_before_anything_is_sent(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    with pytest.raises(UnsupportedInstrument):
        gateway.place_order(order(symbol="BTC-USD-SWAP", quantity="1"))

    assert okx.requests_to(PLACE_ORDER) == []


def test_an_inverse_position_is_never_read_as_base_coins(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a long of 0.1 BTC on the linear swap, and one inverse contract (100 USD) opened elsewhere
    gateway.place_order(order(quantity="0.1", client_order_id="lin1"))
    okx.set_position("BTC-USD-SWAP", "long", "1", "60000")
    # when every position is listed, then the inverse one is left out, not reported as 100 BTC
    assert [(p.symbol, p.side, p.size) for p in gateway.fetch_positions()] == [(BTC, PositionSide.LONG, D("0.1"))]
    # and asking for it by name is refused
    requests_before = len(okx.requests_to(POSITIONS))
    with pytest.raises(UnsupportedInstrument):
        gateway.fetch_positions(["BTC-USD-SWAP"])
    assert len(okx.requests_to(POSITIONS)) == requests_before
