"""The built-in instrument table: contract sizes, lookups by native or unified symbol, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingcore.enums import Exchange
from tradingcore.exceptions import BadSymbol, InvalidInput, InvalidOrder
from tradingcore.exchange.instruments import contract_size, get_market, markets

D = Decimal


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("BTC-USDT-SWAP", "0.01"),
        ("ETH-USDT-SWAP", "0.1"),
        ("SOL-USDT-SWAP", "1"),
        ("XRP-USDT-SWAP", "100"),
        ("DOGE-USDT-SWAP", "1000"),
        ("ADA-USDT-SWAP", "100"),
        ("TRX-USDT-SWAP", "1000"),
        ("LTC-USDT-SWAP", "1"),
    ],
)
def test_okx_contract_sizes_are_the_real_ct_val(symbol: str, expected: str) -> None:
    assert contract_size("okx", symbol) == D(expected)


def test_okx_table_covers_at_least_the_twenty_largest_usdt_swaps() -> None:
    listed = {info.symbol for info in markets("okx")}

    assert len(listed) >= 20
    assert {"BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP", "BNB-USDT-SWAP", "LINK-USDT-SWAP"} <= listed
    assert all(info.contract and info.linear and info.settle == "USDT" for info in markets("okx"))


@pytest.mark.parametrize(
    "symbol", ["BTC-USDT-SWAP", "btc-usdt-swap", "BTC/USDT:USDT", "btc/usdt:usdt", " BTC-USDT-SWAP "]
)
def test_lookup_accepts_native_or_unified_symbol_in_any_case(symbol: str) -> None:
    market = get_market("okx", symbol)

    assert market.symbol == "BTC-USDT-SWAP"
    assert market.unified_symbol == "BTC/USDT:USDT"
    assert market.exchange is Exchange.OKX


def test_paper_uses_the_okx_table_under_its_own_name() -> None:
    market = get_market("paper", "ETH/USDT:USDT")

    assert market.exchange is Exchange.PAPER
    assert market.symbol == "ETH-USDT-SWAP"
    assert market.contract_size == D("0.1")


@pytest.mark.parametrize("exchange", ["binance", "bybit", "bitget"])
def test_unit_venues_list_native_ids_with_contract_size_one(exchange: str) -> None:
    market = get_market(exchange, "BTC/USDT:USDT")

    assert market.symbol == "BTCUSDT"
    assert market.contract_size == D(1)
    assert get_market(exchange, "btcusdt") == market


def test_upbit_lists_krw_spot_markets() -> None:
    market = get_market("upbit", "btc/krw")

    assert market.symbol == "KRW-BTC"
    assert not market.contract
    assert market.quote == "KRW"
    assert contract_size("upbit", "KRW-BTC") == D(1)


@pytest.mark.parametrize(
    ("exchange", "symbol"),
    [
        ("okx", "NOPE-USDT-SWAP"),
        ("okx", "BTCUSDT"),
        ("binance", "BTC-USDT-SWAP"),
        ("binance", "PEPEUSDT"),
        ("upbit", ""),
    ],
)
def test_unlisted_symbol_is_bad_symbol_never_a_guess(exchange: str, symbol: str) -> None:
    with pytest.raises(BadSymbol, match="does not list"):
        get_market(exchange, symbol)


def test_unknown_exchange_is_a_validation_error() -> None:
    with pytest.raises(InvalidInput, match="exchange"):
        get_market("kraken", "BTC-USDT-SWAP")


def test_base_quantity_converts_to_whole_okx_contracts_and_refuses_below_one() -> None:
    market = get_market("okx", "BTC-USDT-SWAP")

    assert market.to_contracts(D("0.0345")) == D(3)
    assert market.to_base(D(3)) == D("0.03")
    with pytest.raises(InvalidOrder, match="minimum"):
        market.to_contracts(D("0.005"))
