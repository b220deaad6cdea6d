"""The ccxt gateway: real exchanges through ccxt's synchronous clients (SPEC section 5).

This is the only module of the service that imports ccxt. Everything it returns is in our terms:
base-currency quantities as ``Decimal`` (converted from contracts with the market's contract size),
native upper-case symbols, our enums, and our exceptions (every ccxt exception is translated at
this boundary, see ``translate_ccxt_error``).

One ccxt client serves one ``ExchangeAccount`` and is cached by ``gateway_for_account`` until the
account row changes. OKX is the exchange this gateway is built and tested for (hedge-mode
``posSide``, ``tdMode``, algo orders); the other exchanges of ``Exchange`` get a client of the
ccxt exchange named in ``CCXT_EXCHANGE_IDS`` (Binance is ``binanceusdm``, its USDⓈ-M futures,
where the strategy bots trade) and the unified ccxt calls, without OKX's extras.

Choices worth knowing:

- Placement is never repeated. When ccxt cannot tell whether a placement landed (timeout, lost
  connection, HTTP 5xx, garbled answer), the gateway looks the order up by its client id, and only
  that; a found order is returned, otherwise ``OrderOutcomeUnknown`` (``ExchangeUnavailable`` for
  an explicit 5xx) tells the caller to retry with the same client id. A retry that the exchange
  refuses as a duplicate client id is answered with the existing order.
- OKX single orders go to ``/api/v5/trade/order`` (ccxt's default is the batch endpoint), and
  OKX markets are loaded for spot, futures and swaps only (options are thousands of instruments
  the service never trades). ccxt's currency list is not loaded: it needs a funding-read key and
  nothing here uses it.
- Markets are loaded on first use and reloaded when older than ``markets_ttl_seconds``; a failed
  reload keeps the previous markets and is retried a minute later.
- ccxt logs request headers at DEBUG level; each client logs through ``_RedactingLogger`` so the
  API key, secret and passphrase never reach a log record.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt
from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE
from django.conf import settings

from tradingcore.crypto import MASK
from tradingcore.decimals import plain
from tradingcore.enums import (
    Exchange,
    Liquidity,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    TimeInForce,
)
from tradingcore.exceptions import (
    AuthenticationFailed,
    BadSymbol,
    ConfigurationError,
    ExchangeError,
    ExchangeOrderNotFound,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidInput,
    InvalidOrder,
    OrderOutcomeUnknown,
    OrderRejected,
    RateLimited,
)
from tradingcore.exchange.base import (
    ExchangeFill,
    ExchangeGateway,
    ExchangeOrder,
    ExchangePosition,
    MarketInfo,
    OrderRequest,
)

if TYPE_CHECKING:
    from tradingcore.models import ExchangeAccount

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Which ccxt exchange class serves each of our exchanges.
CCXT_EXCHANGE_IDS: dict[Exchange, str] = {
    Exchange.OKX: "okx",
    Exchange.BINANCE: "binanceusdm",
    Exchange.BYBIT: "bybit",
    Exchange.BITGET: "bitget",
    Exchange.UPBIT: "upbit",
}
# Defaults of the two knobs; settings may override them (TRADING_EXCHANGE_TIMEOUT_SECONDS,
# TRADING_EXCHANGE_MARKETS_TTL_SECONDS).
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MARKETS_TTL_SECONDS = 3600.0
MARKETS_RETRY_SECONDS = 60.0

_OKX_OPTIONS: dict[str, Any] = {
    "createOrder": "privatePostTradeOrder",
    "fetchMarkets": {"types": ["spot", "future", "swap"]},
}
# OKX algo order types for each of our triggered order types (pending algo orders are listed per type).
_OKX_TRIGGER_TYPES = "trigger"
_OKX_CONDITIONAL_TYPES = "conditional,oco"
_PROTECTIVE_TYPES = frozenset({OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})
_OKX_CODE = re.compile(r'"s?[cC]ode"\s*:\s*"(\d+)"')


# -- errors ----------------------------------------------------------------------------------------

# Most specific first: the first matching ccxt class decides.
_ERROR_MAP: tuple[tuple[Any, type[ExchangeError]], ...] = (
    (ccxt.RateLimitExceeded, RateLimited),
    (ccxt.NetworkError, ExchangeUnavailable),  # DDoSProtection, ExchangeNotAvailable, RequestTimeout, InvalidNonce
    (ccxt.OperationFailed, ExchangeUnavailable),  # BadResponse, NullResponse
    (ccxt.AuthenticationError, AuthenticationFailed),  # PermissionDenied, AccountNotEnabled, AccountSuspended
    (ccxt.OrderNotFound, ExchangeOrderNotFound),
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.BadSymbol, BadSymbol),
    (ccxt.InvalidOrder, InvalidOrder),
    (ccxt.BadRequest, InvalidOrder),
    (ccxt.ArgumentsRequired, InvalidOrder),
)


def translate_ccxt_error(error: Exception, *, action: str, exchange: Exchange, placing: bool = False) -> ExchangeError:
    """Our exception for a ccxt one, naming the action; the exchange's own error code goes in
    ``details["exchange_code"]`` when the answer carried one.

    Any other refusal by the exchange is ``OrderRejected`` while placing and ``ExchangeError``
    otherwise.
    """
    target: type[ExchangeError] = OrderRejected if placing else ExchangeError
    for ccxt_class, ours in _ERROR_MAP:
        if isinstance(error, ccxt_class):
            target = ours
            break
    details: dict[str, Any] = {"exchange": exchange.value, "ccxt_error": type(error).__name__}
    codes = [code for code in _OKX_CODE.findall(str(error)) if code not in ("0", "1", "2")]
    if codes:
        details["exchange_code"] = codes[0]
    return target(f"{exchange.value} {action} failed: {error}", details=details)


# -- numbers and small helpers ---------------------------------------------------------------------


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros (0.100 -> 0.1, 10.0 -> 10) without switching to exponent notation."""
    if value == 0:
        return Decimal(0)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _dec(value: Any) -> Decimal | None:
    """A number from ccxt (float, int, str or None) as Decimal through ``str``; None when absent."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return _tidy(number) if number.is_finite() else None


def _positive(value: Any) -> Decimal | None:
    """A price from ccxt, None unless positive (OKX writes -1 for "at market")."""
    number = _dec(value)
    return number if number is not None and number > 0 else None


def _datetime_ms(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis // 1000, tz=UTC) + timedelta(milliseconds=millis % 1000)


def _reveal(value: Any) -> str:
    """The plaintext of a credential field (``crypto.Secret`` after a database read, str before)."""
    if value is None:
        return ""
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else str(value)


def _rebase_urls(urls: Any, base_url: str) -> Any:
    """Every HTTP(S) URL in ccxt's ``urls['api']`` moved to ``base_url``, keeping each URL's path.

    OKX's single entry is ``https://{hostname}`` (ccxt fills in the hostname when signing), so the
    override simply becomes OKX's REST root; exchanges with many API roots keep their paths
    (``https://fapi.binance.com/fapi/v1`` -> ``<base>/fapi/v1``) so a proxy can route them.
    """
    if isinstance(urls, Mapping):
        return {key: _rebase_urls(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        base = urlsplit(base_url.rstrip("/"))
        original = urlsplit(urls)
        return urlunsplit((base.scheme, base.netloc, base.path + original.path, original.query, original.fragment))
    return urls


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """What ccxt logs, with this account's credentials masked (ccxt logs request headers at DEBUG)."""

    def __init__(self, target: logging.Logger, secrets: Iterable[str]) -> None:
        super().__init__(target, {})
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        self.logger.log(level, "%s", text, **kwargs)


def build_ccxt_client(account: ExchangeAccount, *, timeout_seconds: float) -> Any:
    """A configured ccxt client for ``account``: credentials, rate limiting, sandbox, REST base URL.

    No network traffic happens here. Raises ``ConfigurationError`` for an exchange ccxt does not
    serve here (``paper``).
    """
    exchange = Exchange.parse(account.exchange, field="exchange")
    ccxt_id = CCXT_EXCHANGE_IDS.get(exchange)
    if ccxt_id is None:
        raise ConfigurationError(f"{exchange.value} is not served by ccxt", details={"exchange": exchange.value})
    secrets = [_reveal(account.api_key), _reveal(account.api_secret), _reveal(account.passphrase)]
    config: dict[str, Any] = {
        "apiKey": secrets[0],
        "secret": secrets[1],
        "password": secrets[2],
        "enableRateLimit": True,
        "timeout": max(1, int(timeout_seconds * 1000)),
    }
    if exchange is Exchange.OKX:
        config["options"] = dict(_OKX_OPTIONS)
    client = getattr(ccxt, ccxt_id)(config)
    client.has = {**client.has, "fetchCurrencies": False}
    if account.sandbox:
        client.set_sandbox_mode(True)
    if account.rest_base_url:
        client.urls = {**client.urls, "api": _rebase_urls(client.urls["api"], account.rest_base_url)}
    client.logger = _RedactingLogger(logging.getLogger(f"{__name__}.{ccxt_id}"), secrets)
    return client


# -- the gateway -----------------------------------------------------------------------------------


class CcxtGateway(ExchangeGateway):
    """One ``ExchangeAccount`` on a real exchange, through a ccxt client (SPEC section 5).

    Contract: the ``ExchangeGateway`` one. Quantities in and out are base currency; the exchange
    sees contracts, rounded down to the market's amount step with ccxt's ``amount_to_precision``.
    Symbols may be given as the native id (``BTC-USDT-SWAP``) or ccxt's unified symbol
    (``BTC/USDT:USDT``); results carry the native id. Numbers come back as ``Decimal`` built with
    ``Decimal(str(x))`` from what ccxt parsed.

    Side effects: network requests to the exchange (rate limited by ccxt), nothing else; safe to
    share between threads (markets load under a lock; ccxt's HTTP session and rate limiter are
    shared by the account's callers). Never call it inside a database transaction.

    Errors: every method raises only subclasses of ``tradingcore.exceptions.ExchangeError`` (see
    ``translate_ccxt_error``) plus ``InvalidOrder`` / ``BadSymbol`` for requests refused before
    anything is sent.

    On OKX, ``position_mode`` of the account decides the order fields: hedge mode sends ``posSide``
    (``long``/``short``) and no ``reduceOnly`` (OKX closes by side and ``posSide`` there), one-way
    mode sends ``reduceOnly`` and no ``posSide``. ``tdMode`` is the request's margin mode.
    """

    def __init__(
        self,
        account: ExchangeAccount,
        *,
        timeout_seconds: float | None = None,
        markets_ttl_seconds: float | None = None,
    ) -> None:
        """Build the client for ``account`` (no request is sent yet).

        ``timeout_seconds`` bounds every HTTP request (default: setting
        ``TRADING_EXCHANGE_TIMEOUT_SECONDS`` or 10 s); ``markets_ttl_seconds`` is how long the
        loaded markets are trusted (default: ``TRADING_EXCHANGE_MARKETS_TTL_SECONDS`` or one hour).
        Raises ``ConfigurationError`` for the paper exchange.
        """
        self.exchange = Exchange.parse(account.exchange, field="exchange")
        self.account_id = account.pk
        self.hedge_mode = PositionMode.parse(account.position_mode) is PositionMode.HEDGE
        self.default_margin_mode = MarginMode.parse(account.margin_mode)
        if timeout_seconds is None:
            timeout_seconds = float(getattr(settings, "TRADING_EXCHANGE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        if markets_ttl_seconds is None:
            markets_ttl_seconds = float(
                getattr(settings, "TRADING_EXCHANGE_MARKETS_TTL_SECONDS", DEFAULT_MARKETS_TTL_SECONDS)
            )
        self.markets_ttl_seconds = markets_ttl_seconds
        self._client = build_ccxt_client(account, timeout_seconds=timeout_seconds)
        self._markets_lock = threading.Lock()
        self._markets_loaded_at: float | None = None
        self._markets_by_native_id: dict[str, dict[str, Any]] = {}
        self._market_infos: dict[str, MarketInfo] = {}

    def __repr__(self) -> str:
        return f"<CcxtGateway {self.exchange.value} account={self.account_id}>"

    __str__ = __repr__

    @property
    def is_okx(self) -> bool:
        return self.exchange is Exchange.OKX

    # -- markets -----------------------------------------------------------------------------------

    def load_markets(self, *, force: bool = False) -> None:
        """Load the exchange's markets if never loaded, older than the TTL, or ``force``.

        Side effect: the market list requests. A failed reload keeps the markets already loaded
        (retried after a minute); a failed first load raises ``ExchangeUnavailable`` and kin.
        """
        if not force and self._markets_fresh():
            return
        with self._markets_lock:
            if not force and self._markets_fresh():
                return
            try:
                self._client.load_markets(reload=True)
            except ccxt.BaseError as error:
                if not self._markets_by_native_id:
                    raise translate_ccxt_error(error, action="load markets", exchange=self.exchange) from error
                logger.warning("%s: market reload failed, keeping the loaded markets: %s", self, error)
                self._markets_loaded_at = time.monotonic() - self.markets_ttl_seconds + MARKETS_RETRY_SECONDS
                return
            by_native_id: dict[str, dict[str, Any]] = {}
            for raw in self._client.markets.values():
                by_native_id.setdefault(str(raw["id"]).upper(), raw)
            self._markets_by_native_id = by_native_id
            self._market_infos = {}
            self._markets_loaded_at = time.monotonic()

    def _markets_fresh(self) -> bool:
        loaded_at = self._markets_loaded_at
        return loaded_at is not None and time.monotonic() - loaded_at < self.markets_ttl_seconds

    def market(self, symbol: str) -> MarketInfo:
        """The instrument for a native id (any case) or a ccxt unified symbol.

        Loads or refreshes the markets when needed. Raises ``BadSymbol`` if the exchange does not
        list it.
        """
        self.load_markets()
        raw = self._raw_market(symbol)
        native_id = str(raw["id"]).upper()
        info = self._market_infos.get(native_id)
        if info is None:
            info = self._market_info(raw)
            self._market_infos[native_id] = info
        return info

    def _raw_market(self, symbol: str) -> dict[str, Any]:
        text = str(symbol or "").strip()
        markets = self._client.markets or {}
        for candidate in (text, text.upper()):
            if candidate in markets:
                return dict(markets[candidate])
        raw = self._markets_by_native_id.get(text.upper())
        if raw is None:
            raise BadSymbol(
                f"{self.exchange.value} does not list {symbol!r}",
                details={"symbol": [f"unknown on {self.exchange.value}"]},
            )
        return dict(raw)

    def _market_info(self, raw: Mapping[str, Any]) -> MarketInfo:
        contract = bool(raw.get("contract"))
        precision = raw.get("precision") or {}
        amount_step = self._step(precision.get("amount"))
        limits = raw.get("limits") or {}
        min_amount = _dec((limits.get("amount") or {}).get("min")) or amount_step
        return MarketInfo(
            exchange=self.exchange,
            symbol=str(raw["id"]).upper(),
            unified_symbol=str(raw["symbol"]),
            base=str(raw.get("base") or ""),
            quote=str(raw.get("quote") or ""),
            settle=str(raw.get("settle") or raw.get("quote") or ""),
            contract_size=(_dec(raw.get("contractSize")) if contract else None) or Decimal(1),
            amount_step=amount_step,
            price_step=self._step(precision.get("price")),
            min_amount=min_amount,
            contract=contract,
            linear=raw.get("linear") is not False,
        )

    def _step(self, precision: Any) -> Decimal:
        """A ccxt precision value as a step, whatever the client's precision mode."""
        value = _dec(precision)
        if value is None:
            return Decimal("1e-8")
        if self._client.precisionMode == TICK_SIZE:
            return value
        if self._client.precisionMode == DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(value))
        return Decimal("1e-8")  # significant digits: no fixed step

    # -- orders ------------------------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """Place ``request`` once, carrying ``request.client_order_id`` (OKX ``clOrdId``), and
        return the order's state right after acceptance.

        The base quantity becomes contracts (``MarketInfo.to_contracts`` then ccxt's
        ``amount_to_precision``); a quantity that rounds to zero or below the market minimum is
        refused with ``InvalidOrder`` before any request. ``stop_market``, ``stop_limit`` and
        ``trigger`` go out as ccxt ``triggerPrice`` orders, ``stop_loss`` / ``take_profit`` as
        ``stopLossPrice`` / ``takeProfitPrice`` orders (OKX algo orders: ``trigger`` and
        ``conditional``); a ``price`` makes them limit orders when triggered.

        Never places twice: when the outcome is unclear the order is looked up by client id (OKX:
        the order, or the algo order and the pending algo orders); found, it is returned; not
        found, ``OrderOutcomeUnknown`` is raised (``ExchangeUnavailable`` after an HTTP 5xx) and
        the caller may retry with the same client id only. A duplicate-client-id refusal returns
        the existing order. Other refusals raise ``InsufficientFunds``, ``InvalidOrder``,
        ``BadSymbol``, ``AuthenticationFailed`` or ``OrderRejected``; throttling ``RateLimited``.

        If the state fetch after acceptance fails, the order is returned as ``open`` from the
        request (it is on the exchange; the next fetch tells the rest).
        """
        market = self.market(request.symbol)
        order_type = OrderType.parse(request.order_type)
        contracts = self._contracts_text(market, request.quantity)
        ccxt_type, price, params = self._order_params(market, request, order_type)
        side = OrderSide.parse(request.side).value
        try:
            raw = self._client.create_order(market.unified_symbol, ccxt_type, side, contracts, price, params)
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.InvalidNonce) as error:
            raise translate_ccxt_error(error, action="place order", exchange=self.exchange, placing=True) from error
        except (ccxt.NetworkError, ccxt.OperationFailed) as error:
            return self._resolve_unclear_placement(market, request, order_type, error)
        except ccxt.BaseError as error:
            if isinstance(error, ccxt.DuplicateOrderId) or '"51016"' in str(error):
                existing = self._find_by_client_id(
                    market, request.client_order_id, order_type, reduce_only=request.reduce_only
                )
                if existing is not None:
                    return existing
            raise translate_ccxt_error(error, action="place order", exchange=self.exchange, placing=True) from error
        except Exception as error:
            # Not ccxt's: a bug or an answer ccxt could not parse, possibly after the order was taken.
            logger.exception("%s: unexpected error placing %s", self, request.client_order_id)
            return self._resolve_unclear_placement(market, request, order_type, error)
        return self._state_after_acceptance(market, request, order_type, raw)

    def _contracts_text(self, market: MarketInfo, quantity: Decimal) -> str:
        contracts = market.to_contracts(Decimal(str(quantity)))
        text = str(
            self._call("format amount", self._client.amount_to_precision, market.unified_symbol, plain(contracts))
        )
        if Decimal(text) <= 0 or Decimal(text) < market.min_amount:
            raise InvalidOrder(
                f"{quantity} {market.base} is below the minimum order size on {self.exchange.value} {market.symbol}",
                details={"quantity": [f"minimum is {market.to_base(market.min_amount)}"]},
            )
        return text

    def _order_params(
        self, market: MarketInfo, request: OrderRequest, order_type: OrderType
    ) -> tuple[str, str | None, dict[str, Any]]:
        """ccxt's (type, price, params) for ``request``; ``InvalidOrder`` if a price is missing."""
        price = None if request.price is None else plain(Decimal(str(request.price)))
        trigger = None if request.trigger_price is None else plain(Decimal(str(request.trigger_price)))
        if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
            raise InvalidOrder(f"a {order_type.value} order needs a price", details={"price": ["required"]})
        if order_type.is_triggered and trigger is None:
            raise InvalidOrder(
                f"a {order_type.value} order needs a trigger price", details={"trigger_price": ["required"]}
            )
        if order_type is OrderType.MARKET or order_type is OrderType.STOP_MARKET:
            price = None
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if self.is_okx:
            params["marginMode"] = MarginMode.parse(request.margin_mode).value  # OKX tdMode
        if order_type in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.TRIGGER):
            params["triggerPrice"] = trigger
        elif order_type is OrderType.STOP_LOSS:
            params["stopLossPrice"] = trigger
        elif order_type is OrderType.TAKE_PROFIT:
            params["takeProfitPrice"] = trigger
        if order_type.is_triggered and self.is_okx:
            params["algoClOrdId"] = request.client_order_id  # OKX's name for it on algo orders
        position_side = self._position_side(market, request, order_type)
        if position_side is not None:
            params["positionSide"] = position_side
        elif request.reduce_only:
            params["reduceOnly"] = True
        if order_type is OrderType.LIMIT:
            if request.post_only:
                params["postOnly"] = True
            time_in_force = TimeInForce.parse(request.time_in_force)
            if time_in_force is not TimeInForce.GTC:
                params["timeInForce"] = time_in_force.value
        return ("market" if price is None else "limit"), price, params

    def _position_side(self, market: MarketInfo, request: OrderRequest, order_type: OrderType) -> str | None:
        """The hedge-mode position side the order opens or closes; None in one-way mode."""
        if not (self.hedge_mode and market.contract):
            return None
        if request.position_side is not None:
            side = PositionSide.parse(request.position_side)
        else:
            buying = OrderSide.parse(request.side) is OrderSide.BUY
            closing = request.reduce_only or order_type in _PROTECTIVE_TYPES
            side = PositionSide.LONG if buying != closing else PositionSide.SHORT
        return side.value.upper() if self.exchange is Exchange.BINANCE else side.value

    def _resolve_unclear_placement(
        self, market: MarketInfo, request: OrderRequest, order_type: OrderType, error: Exception
    ) -> ExchangeOrder:
        """After a placement whose outcome is unknown: the order if the exchange holds it, else raise."""
        logger.warning(
            "%s: placement of %s had no clear answer (%s); looking it up by client id",
            self,
            request.client_order_id,
            type(error).__name__,
        )
        try:
            found = self._find_by_client_id(
                market, request.client_order_id, order_type, scan_pending=True, reduce_only=request.reduce_only
            )
        except ExchangeError as lookup_error:
            raise OrderOutcomeUnknown(
                f"{self.exchange.value} placement of {request.client_order_id} timed out or failed in transit, "
                f"and the lookup by client id failed too ({lookup_error.message}); retry with the same client id",
                details={"client_order_id": request.client_order_id, "exchange": self.exchange.value},
            ) from error
        if found is not None:
            logger.warning("%s: order %s was placed after all", self, request.client_order_id)
            return found
        if isinstance(error, ccxt.ExchangeNotAvailable):  # an explicit 5xx / "busy": taken as refused
            raise translate_ccxt_error(error, action="place order", exchange=self.exchange) from error
        raise OrderOutcomeUnknown(
            f"{self.exchange.value} placement of {request.client_order_id} got no answer ({error}) and no order "
            "with that client id is visible yet; retry with the same client id",
            details={"client_order_id": request.client_order_id, "exchange": self.exchange.value},
        ) from error

    def _find_by_client_id(
        self,
        market: MarketInfo,
        client_order_id: str,
        order_type: OrderType,
        *,
        scan_pending: bool = False,
        reduce_only: bool | None = None,
    ) -> ExchangeOrder | None:
        """The order with ``client_order_id``, or None; lookup errors other than not-found raise."""
        algo = order_type.is_triggered and self.is_okx
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if algo:
            params["trigger"] = True
        try:
            raw = self._call("fetch order", self._client.fetch_order, None, market.unified_symbol, params)
        except ExchangeOrderNotFound:
            raw = self._scan_pending_algos(market, client_order_id, order_type) if algo and scan_pending else None
        if raw is None:
            return None
        return self._to_exchange_order(raw, market, order_type=order_type, reduce_only=reduce_only)

    def _scan_pending_algos(
        self, market: MarketInfo, client_order_id: str, order_type: OrderType
    ) -> dict[str, Any] | None:
        kinds = _OKX_CONDITIONAL_TYPES if order_type in _PROTECTIVE_TYPES else _OKX_TRIGGER_TYPES
        pending = self._call(
            "fetch open orders",
            self._client.fetch_open_orders,
            market.unified_symbol,
            None,
            None,
            {"trigger": True, "ordType": kinds},
        )
        for raw in pending:
            info = raw.get("info") or {}
            if client_order_id in (info.get("algoClOrdId"), info.get("clOrdId"), raw.get("clientOrderId")):
                return dict(raw)
        return None

    def _state_after_acceptance(
        self, market: MarketInfo, request: OrderRequest, order_type: OrderType, ack: Mapping[str, Any]
    ) -> ExchangeOrder:
        algo = order_type.is_triggered and self.is_okx
        order_id = ack.get("id")
        try:
            if order_id:
                params = {"trigger": True} if algo else {}
                raw = self._call("fetch order", self._client.fetch_order, order_id, market.unified_symbol, params)
                return self._to_exchange_order(raw, market, order_type=order_type, reduce_only=request.reduce_only)
            found = self._find_by_client_id(
                market, request.client_order_id, order_type, scan_pending=True, reduce_only=request.reduce_only
            )
            if found is not None:
                return found
        except ExchangeError as error:
            logger.warning("%s: order %s accepted, state fetch failed: %s", self, request.client_order_id, error)
        return ExchangeOrder(
            exchange_order_id=str(order_id or ""),
            client_order_id=request.client_order_id,
            symbol=market.symbol,
            side=OrderSide.parse(request.side),
            order_type=order_type,
            status=OrderStatus.OPEN,
            quantity=_tidy(market.to_base(market.to_contracts(Decimal(str(request.quantity))))),
            price=request.price,
            trigger_price=request.trigger_price,
            reduce_only=request.reduce_only,
        )

    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """The order's current state, by exchange id (preferred) or client id.

        On OKX the regular orders are searched first, then the algo orders; a triggered algo order
        reports the fill of the order it placed. Raises ``ExchangeOrderNotFound`` if neither holds
        it, ``InvalidOrder`` when no id is given.
        """
        market = self.market(symbol)
        raw, _ = self._locate(market, exchange_order_id, client_order_id)
        return self._to_exchange_order(raw, market)

    def _locate(
        self, market: MarketInfo, exchange_order_id: str | None, client_order_id: str | None
    ) -> tuple[dict[str, Any], bool]:
        """(ccxt order, is an OKX algo order) for the ids; ``ExchangeOrderNotFound`` if unknown."""
        if not exchange_order_id and not client_order_id:
            raise InvalidOrder("an exchange order id or a client order id is required", details={"id": ["required"]})
        params: dict[str, Any] = {} if exchange_order_id else {"clientOrderId": client_order_id}
        try:
            raw = self._call("fetch order", self._client.fetch_order, exchange_order_id, market.unified_symbol, params)
            return dict(raw), False
        except ExchangeOrderNotFound:
            if not self.is_okx:
                raise
        raw = self._call(
            "fetch order",
            self._client.fetch_order,
            exchange_order_id,
            market.unified_symbol,
            {**params, "trigger": True},
        )
        return dict(raw), True

    def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """Cancel a live order (regular or OKX algo) and return its state after the cancel.

        Side effects: one lookup, the cancel request, one fetch of the final state. An order that
        already ended (filled, cancelled) is returned as it is, fills that raced the cancel
        included. Raises ``ExchangeOrderNotFound`` if the exchange does not know the order.
        On a real exchange the fetch right after the cancel may still show the order live for a
        moment; the status then says so and a later fetch settles it.
        """
        market = self.market(symbol)
        raw, algo = self._locate(market, exchange_order_id, client_order_id)
        current = self._to_exchange_order(raw, market)
        if current.status.is_terminal:
            return current
        params = {"trigger": True} if algo else {}
        try:
            self._call("cancel order", self._client.cancel_order, raw["id"], market.unified_symbol, params)
        except ExchangeOrderNotFound:
            logger.info("%s: order %s ended before the cancel arrived", self, raw["id"])
        final = self._call("fetch order", self._client.fetch_order, raw["id"], market.unified_symbol, params)
        return self._to_exchange_order(final, market)

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Live orders of one symbol or all; on OKX the pending algo orders (trigger, stop-loss,
        take-profit) are included. One page of each kind (OKX: up to 100)."""
        market = self.market(symbol) if symbol else None
        unified = market.unified_symbol if market else None
        raws = list(self._call("fetch open orders", self._client.fetch_open_orders, unified))
        if self.is_okx:
            for kinds in (_OKX_TRIGGER_TYPES, _OKX_CONDITIONAL_TYPES):
                params = {"trigger": True, "ordType": kinds}
                raws.extend(
                    self._call("fetch open orders", self._client.fetch_open_orders, unified, None, None, params)
                )
        return [self._to_exchange_order(raw, market or self.market(raw["symbol"])) for raw in raws]

    # -- positions, prices, leverage ---------------------------------------------------------------

    def fetch_positions(self, symbols: list[str] | None = None) -> list[ExchangePosition]:
        """Non-empty positions of the given symbols (None: all), sizes in base currency."""
        if symbols is not None and not symbols:
            return []
        unified = [self.market(symbol).unified_symbol for symbol in symbols] if symbols else None
        raws = self._call("fetch positions", self._client.fetch_positions, unified)
        positions = []
        for raw in raws:
            contracts = _dec(raw.get("contracts"))
            if not contracts or not raw.get("side"):
                continue
            market = self.market(raw["symbol"])
            leverage = _dec(raw.get("leverage"))
            margin_mode = MarginMode.parse_optional(raw.get("marginMode")) or self.default_margin_mode
            positions.append(
                ExchangePosition(
                    symbol=market.symbol,
                    side=PositionSide.parse(raw["side"]),
                    size=_tidy(market.to_base(abs(contracts))),
                    contracts=abs(contracts),
                    entry_price=_dec(raw.get("entryPrice")) or Decimal(0),
                    mark_price=_positive(raw.get("markPrice")),
                    leverage=int(leverage) if leverage else None,
                    unrealized_pnl=_dec(raw.get("unrealizedPnl")),
                    liquidation_price=_positive(raw.get("liquidationPrice")),
                    margin_mode=margin_mode,
                )
            )
        return positions

    def fetch_mark_price(self, symbol: str) -> Decimal:
        """The exchange's mark price (the last price where the exchange has no mark price)."""
        market = self.market(symbol)
        if self._client.has.get("fetchMarkPrice"):
            ticker = self._call("fetch mark price", self._client.fetch_mark_price, market.unified_symbol)
        else:
            ticker = self._call("fetch ticker", self._client.fetch_ticker, market.unified_symbol)
        price = _positive(ticker.get("markPrice")) or _positive(ticker.get("last"))
        if price is None:
            raise ExchangeUnavailable(
                f"{self.exchange.value} returned no price for {market.symbol}", details={"symbol": market.symbol}
            )
        return price

    def set_leverage(
        self,
        symbol: str,
        leverage: int,
        *,
        margin_mode: MarginMode = MarginMode.CROSS,
        side: PositionSide | None = None,
    ) -> None:
        """Set the leverage for new orders on ``symbol``.

        OKX: sends ``mgnMode`` and, in hedge mode, ``posSide`` for ``side``; isolated margin in
        hedge mode without a side sets both sides (two requests). Other exchanges: ccxt's plain
        ``set_leverage`` (their margin mode is not changed here). Raises ``InvalidOrder`` for a
        leverage below 1 or one the exchange refuses.
        """
        if int(leverage) < 1:
            raise InvalidOrder("leverage must be at least 1", details={"leverage": ["must be at least 1"]})
        market = self.market(symbol)
        if not self.is_okx:
            self._call("set leverage", self._client.set_leverage, int(leverage), market.unified_symbol)
            return
        mode = MarginMode.parse(margin_mode)
        sides: list[PositionSide | None] = [None]
        if self.hedge_mode and side is not None:
            sides = [PositionSide.parse(side)]
        elif self.hedge_mode and mode is MarginMode.ISOLATED:
            sides = [PositionSide.LONG, PositionSide.SHORT]
        for position_side in sides:
            params: dict[str, Any] = {"marginMode": mode.value}
            if position_side is not None:
                params["posSide"] = position_side.value
            self._call("set leverage", self._client.set_leverage, int(leverage), market.unified_symbol, params)

    # -- conversions -------------------------------------------------------------------------------

    def _call(self, action: str, method: Callable[..., T], *args: Any) -> T:
        """Run one ccxt call, translating its exceptions."""
        try:
            return method(*args)
        except ccxt.BaseError as error:
            raise translate_ccxt_error(error, action=action, exchange=self.exchange) from error

    def _to_exchange_order(
        self,
        raw: Mapping[str, Any],
        market: MarketInfo,
        *,
        order_type: OrderType | None = None,
        reduce_only: bool | None = None,
    ) -> ExchangeOrder:
        """Our DTO for a ccxt order; contracts become base quantities. ``order_type`` and
        ``reduce_only``, when given, are what we placed (OKX hedge mode reduces through
        ``posSide`` and reports ``reduceOnly`` false).

        ``fills`` lists the trades ccxt parsed with the order; OKX reports only aggregates on an
        order (``accFillSz``, ``avgPx``, ``fee``), so there it is empty and ``filled_qty`` /
        ``avg_fill_price`` carry the fill.
        """
        info = raw.get("info") or {}
        outcome = self._triggered_outcome(raw, info, market)
        amount = _dec(raw.get("amount")) or Decimal(0)
        filled = _dec(outcome.get("filled")) or Decimal(0)
        fee, fee_currency = self._fee(outcome)
        order_type = order_type or self._order_type(raw, info)
        return ExchangeOrder(
            exchange_order_id=str(raw.get("id") or ""),
            client_order_id=raw.get("clientOrderId") or info.get("algoClOrdId") or info.get("clOrdId") or None,
            symbol=market.symbol,
            side=OrderSide.parse(raw.get("side"), field="side"),
            order_type=order_type,
            status=self._status(raw, info, outcome, filled, amount),
            quantity=_tidy(market.to_base(amount)),
            filled_qty=_tidy(market.to_base(filled)),
            avg_fill_price=_positive(outcome.get("average")),
            price=None if order_type in (OrderType.MARKET, OrderType.STOP_MARKET) else _positive(raw.get("price")),
            trigger_price=_positive(raw.get("triggerPrice"))
            or _positive(raw.get("stopLossPrice"))
            or _positive(raw.get("takeProfitPrice")),
            reduce_only=bool(raw.get("reduceOnly")) if reduce_only is None else reduce_only,
            fee=fee,
            fee_currency=fee_currency,
            fills=tuple(self._fills(outcome, market)),
            timestamp=_datetime_ms(raw.get("timestamp")),
            reject_reason=str(info.get("sMsg") or info.get("failCode") or "")
            if raw.get("status") == "rejected"
            else "",
        )

    def _triggered_outcome(
        self, raw: Mapping[str, Any], info: Mapping[str, Any], market: MarketInfo
    ) -> Mapping[str, Any]:
        """For a fired OKX algo order, the order it placed (its fill); otherwise ``raw`` itself."""
        if not (self.is_okx and info.get("algoId") and info.get("state") in ("effective", "partially_effective")):
            return raw
        child_ids = [info.get("ordId")] + list(info.get("ordIdList") or [])
        child_id = next((str(child) for child in child_ids if child), None)
        if child_id is None:
            return {}
        try:
            return dict(self._call("fetch order", self._client.fetch_order, child_id, market.unified_symbol))
        except ExchangeError as error:
            logger.warning(
                "%s: algo order %s fired; its order %s is not readable: %s", self, raw.get("id"), child_id, error
            )
            return {}

    def _status(
        self,
        raw: Mapping[str, Any],
        info: Mapping[str, Any],
        outcome: Mapping[str, Any],
        filled: Decimal,
        amount: Decimal,
    ) -> OrderStatus:
        if self.is_okx and info.get("algoId") and info.get("state") == "order_failed":
            return OrderStatus.REJECTED
        if outcome is not raw:  # a fired algo order: the placed order's status, or open while unknown
            if not outcome.get("status"):
                return OrderStatus.OPEN
            return self._status(outcome, outcome.get("info") or {}, outcome, filled, amount)
        status = raw.get("status")
        if not status:
            return OrderStatus.OPEN  # acknowledged, no state reported yet
        try:
            return OrderStatus.from_exchange(status, filled=filled, amount=amount or None)
        except InvalidInput:
            logger.warning("%s: unknown order status %r of %s, taken as open", self, status, raw.get("id"))
            return OrderStatus.OPEN

    @staticmethod
    def _order_type(raw: Mapping[str, Any], info: Mapping[str, Any]) -> OrderType:
        """Our order type for an order we did not place in this call (what the exchange reports)."""
        okx_type = str(info.get("ordType") or "").lower()
        if okx_type == "trigger":
            return OrderType.TRIGGER
        if okx_type in ("conditional", "oco"):
            return OrderType.STOP_LOSS if info.get("slTriggerPx") else OrderType.TAKE_PROFIT
        if okx_type in ("market", "optimal_limit_ioc"):
            return OrderType.MARKET
        if okx_type:
            return OrderType.LIMIT
        try:
            return OrderType.parse(raw.get("type"))
        except InvalidInput:
            return OrderType.LIMIT if raw.get("price") else OrderType.MARKET

    @staticmethod
    def _fee(order: Mapping[str, Any]) -> tuple[Decimal, str]:
        """Fee paid (positive; negative is a rebate) and its currency; several fees of the first
        currency are summed."""
        fees = [fee for fee in (order.get("fees") or []) if fee and fee.get("cost") is not None]
        if not fees and order.get("fee") and order["fee"].get("cost") is not None:
            fees = [order["fee"]]
        if not fees:
            return Decimal(0), ""
        currency = str(fees[0].get("currency") or "")
        total = sum(
            (_dec(fee["cost"]) or Decimal(0) for fee in fees if (fee.get("currency") or "") == currency), Decimal(0)
        )
        return _tidy(total), currency

    def _fills(self, order: Mapping[str, Any], market: MarketInfo) -> list[ExchangeFill]:
        fills = []
        for trade in order.get("trades") or []:
            price, amount = _dec(trade.get("price")), _dec(trade.get("amount"))
            if price is None or not amount:
                continue
            fee, fee_currency = self._fee(trade)
            fills.append(
                ExchangeFill(
                    trade_id=str(trade.get("id") or ""),
                    price=price,
                    quantity=_tidy(market.to_base(amount)),
                    fee=fee,
                    fee_currency=fee_currency,
                    liquidity=Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER,
                    timestamp=_datetime_ms(trade.get("timestamp")),
                )
            )
        return fills


# -- one gateway per account -----------------------------------------------------------------------

_gateways: dict[Any, tuple[Any, CcxtGateway]] = {}
_gateways_lock = threading.Lock()


def gateway_for_account(account: ExchangeAccount) -> CcxtGateway:
    """The cached gateway of ``account``, rebuilt when the row changed (``updated_at``) so edited
    credentials take effect. Thread-safe; builds no connection (markets load on first use).

    Raises ``ConfigurationError`` for an exchange ccxt does not serve here.
    """
    if account.pk is None:
        return CcxtGateway(account)
    with _gateways_lock:
        cached = _gateways.get(account.pk)
        if cached is not None and cached[0] == account.updated_at:
            return cached[1]
        gateway = CcxtGateway(account)
        _gateways[account.pk] = (account.updated_at, gateway)
        return gateway


def clear_gateway_cache() -> None:
    """Forget every cached gateway (tests, or after rotating keys outside the model)."""
    with _gateways_lock:
        _gateways.clear()
