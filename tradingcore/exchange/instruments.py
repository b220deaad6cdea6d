"""A built-in table of instruments: contract sizes, amount and price steps, minimums.

It serves the paper exchange (which sizes orders like the real instrument) and, when ccxt cannot
reach an exchange, any code that must turn contracts into base quantity (the legacy import). The
ccxt market list is authoritative whenever it is available; this table is a recorded copy of the
values that matter, for the largest USDT-margined perpetual swaps:

- ``okx`` (and ``paper``, which simulates OKX): ``BTC-USDT-SWAP`` counts contracts of ``ctVal``
  base units (0.01 BTC), in whole contracts.
- ``binance``, ``bybit``, ``bitget``: ``BTCUSDT`` counts base units (contract size 1). Bases these
  venues re-denominate (``1000PEPEUSDT``) are left out rather than guessed.
- ``upbit``: KRW spot markets ``KRW-BTC`` (unified ``BTC/KRW``), base units to 8 decimals. Upbit's
  tick depends on the price level; ``price_step`` is its finest tick.

Symbols are looked up by native id or ccxt unified symbol, case-insensitively. An unlisted symbol
raises ``BadSymbol``: a contract size is never guessed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from tradingcore.enums import Exchange
from tradingcore.exceptions import BadSymbol
from tradingcore.exchange.base import MarketInfo

# base, OKX ctVal (base units per contract), OKX tickSz, base-unit step on binance/bybit/bitget
# (None: listed there under a re-denominated name such as 1000PEPEUSDT, so not in this table).
_USDT_SWAPS: tuple[tuple[str, str, str, str | None], ...] = (
    ("BTC", "0.01", "0.1", "0.001"),
    ("ETH", "0.1", "0.01", "0.001"),
    ("SOL", "1", "0.01", "0.1"),
    ("XRP", "100", "0.0001", "0.1"),
    ("DOGE", "1000", "0.00001", "1"),
    ("BNB", "0.01", "0.01", "0.01"),
    ("ADA", "100", "0.0001", "1"),
    ("TRX", "1000", "0.00001", "1"),
    ("LINK", "1", "0.001", "0.01"),
    ("AVAX", "1", "0.01", "1"),
    ("DOT", "1", "0.001", "0.1"),
    ("LTC", "1", "0.01", "0.001"),
    ("BCH", "0.1", "0.01", "0.001"),
    ("TON", "1", "0.001", "0.1"),
    ("SUI", "1", "0.0001", "0.1"),
    ("UNI", "1", "0.001", "1"),
    ("NEAR", "10", "0.001", "1"),
    ("APT", "1", "0.001", "0.1"),
    ("ETC", "10", "0.001", "0.01"),
    ("FIL", "0.1", "0.001", "0.1"),
    ("ARB", "10", "0.0001", "0.1"),
    ("OP", "1", "0.001", "0.1"),
    ("ATOM", "1", "0.001", "0.01"),
    ("XLM", "100", "0.00001", "1"),
    ("SHIB", "1000000", "0.000000001", None),
    ("PEPE", "10000000", "0.0000000001", None),
)
# OKX's long-standing lot and minimum for these swaps: whole contracts. OKX has since opened
# fractional contracts (0.1, 0.01) on some of them; whole contracts stay valid there, so an order
# this table accepts is never refused by OKX for its size.
_OKX_LOT = Decimal(1)
_OKX_MIN = Decimal(1)

_UPBIT_BASES = frozenset(
    {"BTC", "ETH", "XRP", "SOL", "DOGE", "ADA", "TRX", "LINK", "AVAX", "DOT", "BCH", "ETC", "SUI", "NEAR", "APT"}
    | {"ARB", "XLM", "ATOM", "SHIB", "PEPE"}
)
_UPBIT_AMOUNT_STEP = Decimal("0.00000001")
_UPBIT_PRICE_STEP = Decimal("0.0001")


def _okx_markets(exchange: Exchange) -> list[MarketInfo]:
    return [
        MarketInfo(
            exchange=exchange,
            symbol=f"{base}-USDT-SWAP",
            unified_symbol=f"{base}/USDT:USDT",
            base=base,
            quote="USDT",
            settle="USDT",
            contract_size=Decimal(ct_val),
            amount_step=_OKX_LOT,
            price_step=Decimal(tick),
            min_amount=_OKX_MIN,
        )
        for base, ct_val, tick, _ in _USDT_SWAPS
    ]


def _unit_swap_markets(exchange: Exchange) -> list[MarketInfo]:
    return [
        MarketInfo(
            exchange=exchange,
            symbol=f"{base}USDT",
            unified_symbol=f"{base}/USDT:USDT",
            base=base,
            quote="USDT",
            settle="USDT",
            contract_size=Decimal(1),
            amount_step=Decimal(step),
            price_step=Decimal(tick),
            min_amount=Decimal(step),
        )
        for base, _, tick, step in _USDT_SWAPS
        if step is not None
    ]


def _upbit_markets() -> list[MarketInfo]:
    return [
        MarketInfo(
            exchange=Exchange.UPBIT,
            symbol=f"KRW-{base}",
            unified_symbol=f"{base}/KRW",
            base=base,
            quote="KRW",
            settle="KRW",
            contract_size=Decimal(1),
            amount_step=_UPBIT_AMOUNT_STEP,
            price_step=_UPBIT_PRICE_STEP,
            min_amount=_UPBIT_AMOUNT_STEP,
            contract=False,
        )
        for base, _, _, _ in _USDT_SWAPS
        if base in _UPBIT_BASES
    ]


@cache
def _index(exchange: Exchange) -> dict[str, MarketInfo]:
    if exchange in (Exchange.OKX, Exchange.PAPER):
        listed = _okx_markets(exchange)
    elif exchange is Exchange.UPBIT:
        listed = _upbit_markets()
    else:
        listed = _unit_swap_markets(exchange)
    index: dict[str, MarketInfo] = {}
    for info in listed:
        index[info.symbol.upper()] = info
        index[info.unified_symbol.upper()] = info
    return index


def markets(exchange: Exchange | str) -> list[MarketInfo]:
    """Every instrument the table lists for ``exchange``, ordered by native id."""
    listed = {info.symbol: info for info in _index(Exchange.parse(exchange, field="exchange")).values()}
    return [listed[symbol] for symbol in sorted(listed)]


def get_market(exchange: Exchange | str, symbol: str) -> MarketInfo:
    """The instrument ``symbol`` (native id or ccxt unified symbol, any case) on ``exchange``.

    Raises ``tradingcore.exceptions.InvalidInput`` for an unknown exchange and ``BadSymbol``
    for a symbol the table does not list.
    """
    venue = Exchange.parse(exchange, field="exchange")
    key = symbol.strip().upper() if isinstance(symbol, str) else ""
    info = _index(venue).get(key)
    if info is None:
        raise BadSymbol(
            f"{venue.value} does not list {symbol!r} in the built-in instrument table",
            details={"symbol": [f"unknown instrument on {venue.value}"]},
        )
    return info


def contract_size(exchange: Exchange | str, symbol: str) -> Decimal:
    """Base units per contract of ``symbol`` on ``exchange`` (1 where the venue counts base units);
    ``BadSymbol`` if unlisted."""
    return get_market(exchange, symbol).contract_size


def native_symbol(exchange: Exchange | str | None, symbol: str) -> str:
    """The stored form of a symbol for lookups: the native id when the table knows a unified
    symbol (``BTC/USDT:USDT`` on okx is ``BTC-USDT-SWAP``), else the input in upper case.

    For read paths only; write paths normalise through the exchange's own market list.
    """
    text = str(symbol).strip()
    if exchange is not None:
        try:
            return get_market(exchange, text).symbol
        except BadSymbol:
            pass
    return text.upper()


def currencies(exchange: Exchange | str, symbol: str) -> tuple[str, str] | None:
    """(base, settlement currency) of a symbol: from the table, else read off a native id of the
    usual shapes (``BTC-USDT-SWAP``, ``BTCUSDT``); None when neither tells."""
    try:
        market = get_market(exchange, symbol)
        return market.base, market.settle
    except BadSymbol:
        pass
    text = symbol.upper()
    parts = text.split("-")
    if len(parts) >= 2 and parts[0] and parts[1]:
        return parts[0], parts[1]
    for settle in ("USDT", "USDC"):
        if text.endswith(settle) and len(text) > len(settle):
            return text[: -len(settle)], settle
    return None
