"""The exchange's markets for one account: loaded once, refreshed on a timer, read as ``MarketInfo``.

Markets load on first use and reload when older than the TTL. A failed reload keeps the markets
already loaded and is retried a minute later; a failed first load raises. Loads run under a lock,
so threads that need a market at the same moment trigger one load between them.

Only the instruments the service models are handed out: linear derivatives (USDT-margined swaps and
futures), and spot on the spot-only venues (Upbit). An inverse contract, an option, or spot on a
derivatives venue is refused by name (``UnsupportedInstrument``) rather than read as a linear
contract: an inverse ``BTC-USD-SWAP`` counts 100 USD per contract, never 100 BTC. OKX options are
not even loaded (thousands of them); an option id is recognised by its shape and refused the same way.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

from tradingcore.enums import Exchange
from tradingcore.exceptions import BadSymbol, ExchangeError, UnsupportedInstrument
from tradingcore.exchange.base import MarketInfo
from tradingcore.exchange.ccxt.client import AccountClient
from tradingcore.exchange.ccxt.values import decimal_or_none

logger = logging.getLogger(__name__)

# Default of how long loaded markets are trusted; the setting TRADING_EXCHANGE_MARKETS_TTL_SECONDS
# overrides it.
DEFAULT_MARKETS_TTL_SECONDS = 3600.0
MARKETS_RETRY_SECONDS = 60.0
_FALLBACK_STEP = Decimal("1e-8")  # when ccxt gives no step (or significant digits, which have none)
# Venues whose instruments are spot markets; everywhere else the service trades derivatives.
SPOT_VENUES = frozenset({Exchange.UPBIT})
# An option: OKX BTC-USD-250328-100000-C, or ccxt's unified BTC/USD:BTC-250328-100000-C.
_OPTION_ID = re.compile(r"^[A-Z0-9]+[-/][A-Z0-9]+(:[A-Z0-9]+)?-\d{6}-[0-9.]+-[CP]$", re.IGNORECASE)


class MarketCache:
    """The markets of one account's client, by ccxt unified symbol and by native id (any case)."""

    def __init__(self, client: AccountClient, *, ttl_seconds: float) -> None:
        self.ttl_seconds = ttl_seconds
        self._client = client
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._by_native_id: dict[str, dict[str, Any]] = {}
        self._infos: dict[str, MarketInfo] = {}

    def load(self, *, force: bool = False) -> None:
        """Load the markets if never loaded, older than the TTL, or ``force``.

        Side effect: the market list requests. A failed reload keeps the markets already loaded
        (retried after a minute); a failed first load raises ``ExchangeUnavailable`` and kin.
        """
        if not force and self._fresh():
            return
        with self._lock:
            if not force and self._fresh():
                return
            try:
                self._client.call("load markets", self._client.api.load_markets, True)
            except ExchangeError as error:
                if not self._by_native_id:
                    raise
                self._retry_soon(error)
                return
            self._index(self._client.api.markets.values())

    def get(self, symbol: str) -> MarketInfo:
        """The instrument for a native id (any case) or a ccxt unified symbol.

        Loads or refreshes the markets when needed. Raises ``BadSymbol`` if the exchange does not
        list it, ``UnsupportedInstrument`` for a kind the service does not model (inverse, option,
        spot on a derivatives venue), ``ExchangeUnavailable`` and kin if the first load fails.
        """
        self.load()
        raw = self._raw(symbol)
        refuse_unsupported(raw, self._client.exchange)
        native_id = str(raw["id"]).upper()
        info = self._infos.get(native_id)
        if info is None:
            info = market_info(raw, exchange=self._client.exchange, precision_mode=self._client.api.precisionMode)
            self._infos[native_id] = info
        return info

    def _fresh(self) -> bool:
        loaded_at = self._loaded_at
        return loaded_at is not None and time.monotonic() - loaded_at < self.ttl_seconds

    def _retry_soon(self, error: ExchangeError) -> None:
        """After a failed reload: keep the loaded markets, and try again in a minute, not at once."""
        logger.warning("%s: market reload failed, keeping the loaded markets: %s", self._client, error)
        self._loaded_at = time.monotonic() - self.ttl_seconds + MARKETS_RETRY_SECONDS

    def _index(self, raws: Any) -> None:
        by_native_id: dict[str, dict[str, Any]] = {}
        for raw in raws:
            by_native_id.setdefault(str(raw["id"]).upper(), raw)
        self._by_native_id = by_native_id
        self._infos = {}
        self._loaded_at = time.monotonic()

    def _raw(self, symbol: str) -> dict[str, Any]:
        text = str(symbol or "").strip()
        markets = self._client.api.markets or {}
        for candidate in (text, text.upper()):
            if candidate in markets:
                return dict(markets[candidate])
        raw = self._by_native_id.get(text.upper())
        if raw is None:
            exchange = self._client.exchange.value
            if _OPTION_ID.match(text):
                raise _unsupported(self._client.exchange, text, "an option")
            raise BadSymbol(f"{exchange} does not list {symbol!r}", details={"symbol": [f"unknown on {exchange}"]})
        return dict(raw)


def refuse_unsupported(raw: Mapping[str, Any], exchange: Exchange) -> None:
    """Raise ``UnsupportedInstrument`` naming the instrument and its kind unless the ccxt market
    ``raw`` is one the service models: a linear derivative, or spot on a spot venue."""
    native_id = str(raw.get("id") or raw.get("symbol") or "")
    if raw.get("option") or raw.get("type") == "option":
        raise _unsupported(exchange, native_id, "an option")
    if raw.get("contract") and (raw.get("inverse") or raw.get("linear") is False):
        size = f"{decimal_or_none(raw.get('contractSize')) or '?'} {raw.get('quote') or ''} per contract".strip()
        settle = raw.get("settle") or raw.get("base") or "the base coin"
        raise _unsupported(exchange, native_id, f"an inverse contract ({size}, settled in {settle})")
    if not raw.get("contract") and exchange not in SPOT_VENUES:
        raise _unsupported(exchange, native_id, "a spot market where derivatives are traded")


def _unsupported(exchange: Exchange, native_id: str, kind: str) -> UnsupportedInstrument:
    return UnsupportedInstrument(
        f"{exchange.value} {native_id} is {kind}: the service models linear (USDT-margined) derivatives "
        "only (and spot on spot-only venues)",
        details={"symbol": [f"{kind} is not supported"], "instrument": native_id},
    )


def market_info(raw: Mapping[str, Any], *, exchange: Exchange, precision_mode: Any) -> MarketInfo:
    """Our ``MarketInfo`` for a ccxt market: contract size (1 for spot), amount and price steps,
    minimum order size in contracts (one amount step when the exchange states none)."""
    contract = bool(raw.get("contract"))
    precision = raw.get("precision") or {}
    amount_step = _step(precision.get("amount"), precision_mode)
    limits = raw.get("limits") or {}
    return MarketInfo(
        exchange=exchange,
        symbol=str(raw["id"]).upper(),
        unified_symbol=str(raw["symbol"]),
        base=str(raw.get("base") or ""),
        quote=str(raw.get("quote") or ""),
        settle=str(raw.get("settle") or raw.get("quote") or ""),
        contract_size=(decimal_or_none(raw.get("contractSize")) if contract else None) or Decimal(1),
        amount_step=amount_step,
        price_step=_step(precision.get("price"), precision_mode),
        min_amount=decimal_or_none((limits.get("amount") or {}).get("min")) or amount_step,
        contract=contract,
        linear=raw.get("linear") is not False,
    )


def _step(precision: Any, precision_mode: Any) -> Decimal:
    """A ccxt precision value as a step, whatever the client's precision mode."""
    value = decimal_or_none(precision)
    if value is None:
        return _FALLBACK_STEP
    if precision_mode == TICK_SIZE:
        return value
    if precision_mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    return _FALLBACK_STEP
