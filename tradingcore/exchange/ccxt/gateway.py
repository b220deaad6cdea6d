"""``CcxtGateway``: the gateway interface served by a real exchange through ccxt (SPEC section 5).

The class is the interface only; the work is done by the modules beside it: ``client`` (the ccxt
client and its calls), ``markets``, ``params`` (what is sent), ``lookup`` and ``algo`` (finding
orders again), ``parsing`` (what comes back) and ``errors``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tradingcore.decimals import plain
from tradingcore.enums import Exchange, MarginMode, OrderSide, OrderType, PositionMode, PositionSide
from tradingcore.exceptions import (
    ExchangeOrderNotFound,
    ExchangeUnavailable,
    InvalidInput,
    InvalidOrder,
    UnsupportedInstrument,
)
from tradingcore.exchange.base import (
    ExchangeFill,
    ExchangeGateway,
    ExchangeOrder,
    ExchangePosition,
    MarketInfo,
    OrderRequest,
)
from tradingcore.exchange.ccxt import algo, lookup, parsing, trades
from tradingcore.exchange.ccxt.client import DEFAULT_TIMEOUT_SECONDS, AccountClient, build_ccxt_client
from tradingcore.exchange.ccxt.errors import CcxtError, PlacementFailure, placement_failure, translate_ccxt_error
from tradingcore.exchange.ccxt.markets import DEFAULT_MARKETS_TTL_SECONDS, MarketCache
from tradingcore.exchange.ccxt.params import Placement, leverage_params, order_params, sendable_contracts
from tradingcore.exchange.ccxt.values import ms_from_datetime

if TYPE_CHECKING:
    from tradingcore.models import ExchangeAccount

logger = logging.getLogger(__name__)


class CcxtGateway(ExchangeGateway):
    """One ``ExchangeAccount`` on a real exchange, through a ccxt client (SPEC section 5).

    Contract: the ``ExchangeGateway`` one. Quantities in and out are base currency; the exchange
    sees contracts, rounded down to the market's amount step with ccxt's ``amount_to_precision``,
    or the request's own ``contracts`` sent as given. Symbols may be given as the native id
    (``BTC-USDT-SWAP``) or ccxt's unified symbol (``BTC/USDT:USDT``); results carry the native id.
    Numbers come back as ``Decimal`` built with ``Decimal(str(x))`` from what ccxt parsed.

    Side effects: network requests to the exchange (rate limited by ccxt), nothing else; safe to
    share between threads (markets load under a lock; ccxt's HTTP session and rate limiter are
    shared by the account's callers). Never call it inside a database transaction.

    Errors: every method raises only subclasses of ``tradingcore.exceptions.ExchangeError`` (see
    ``translate_ccxt_error``) plus ``InvalidOrder`` / ``BadSymbol`` for requests refused before
    anything is sent.

    OKX is the exchange this gateway is built and tested for. There, ``position_mode`` of the
    account decides the order fields: hedge mode sends ``posSide`` (``long``/``short``) and no
    ``reduceOnly`` (OKX closes by side and ``posSide`` there), one-way mode sends ``reduceOnly``
    and no ``posSide`` (a request's ``position_side`` is not sent: OKX nets every fill); ``tdMode``
    is the request's margin mode; triggered orders are algo orders. Other exchanges get the unified
    ccxt calls without OKX's extras.

    Instruments the service does not model (inverse contracts, options, spot on a derivatives
    venue) are refused by name with ``UnsupportedInstrument``; listings of every symbol
    (``fetch_open_orders()``, ``fetch_positions()``) leave them out with a warning in the log, and
    ``left_out()`` names them.
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
        self.position_mode = PositionMode.parse(account.position_mode)
        self.hedge_mode = self.position_mode is PositionMode.HEDGE
        self.default_margin_mode = MarginMode.parse(account.margin_mode)
        if timeout_seconds is None:
            timeout_seconds = float(getattr(settings, "TRADING_EXCHANGE_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        if markets_ttl_seconds is None:
            markets_ttl_seconds = float(
                getattr(settings, "TRADING_EXCHANGE_MARKETS_TTL_SECONDS", DEFAULT_MARKETS_TTL_SECONDS)
            )
        api = build_ccxt_client(account, timeout_seconds=timeout_seconds)
        self._client = AccountClient(api=api, exchange=self.exchange, label=repr(self))
        self._markets = MarketCache(self._client, ttl_seconds=markets_ttl_seconds)
        self._left_out: dict[str, dict[str, str]] = {}  # listing -> {native id: why}

    def __repr__(self) -> str:
        return f"<CcxtGateway {self.exchange.value} account={self.account_id}>"

    __str__ = __repr__

    @property
    def is_okx(self) -> bool:
        return self.exchange is Exchange.OKX

    @property
    def markets_ttl_seconds(self) -> float:
        return self._markets.ttl_seconds

    # -- markets -----------------------------------------------------------------------------------

    def load_markets(self, *, force: bool = False) -> None:
        """Load the exchange's markets if never loaded, older than the TTL, or ``force``.

        Side effect: the market list requests. A failed reload keeps the markets already loaded
        (retried after a minute); a failed first load raises ``ExchangeUnavailable`` and kin.
        """
        self._markets.load(force=force)

    def market(self, symbol: str) -> MarketInfo:
        """The instrument for a native id (any case) or a ccxt unified symbol.

        Loads or refreshes the markets when needed. Raises ``BadSymbol`` if the exchange does not
        list it, ``UnsupportedInstrument`` (naming it and its kind) for an inverse contract, an
        option, or a spot market on a derivatives venue.
        """
        return self._markets.get(symbol)

    def _listed_market(self, raw: dict[str, Any], left_out: dict[str, str]) -> MarketInfo | None:
        """The market of an item in a listing of every symbol; None (logged, and noted in
        ``left_out``) for an unsupported kind."""
        try:
            return self.market(raw["symbol"])
        except UnsupportedInstrument as error:
            logger.warning("%s: left out of the listing: %s", self, error.message)
            left_out[str(error.details.get("instrument") or raw["symbol"])] = error.message
            return None

    def left_out(self) -> dict[str, str]:
        """The instruments the latest listings of every symbol (open orders, positions) left out
        because the service does not model them: native id -> why."""
        return {name: why for listing in list(self._left_out.values()) for name, why in listing.items()}

    # -- orders ------------------------------------------------------------------------------------

    def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """Place ``request`` once, carrying ``request.client_order_id`` (OKX ``clOrdId``), and
        return the order's state right after acceptance (quantities in base currency).

        The size sent is ``request.contracts_on(market)``: the request's ``contracts`` as given, or
        its base ``quantity`` converted once (``MarketInfo.to_contracts`` then ccxt's
        ``amount_to_precision``); a size that is zero or below the market minimum (or given
        contracts off the amount step) is refused with ``InvalidOrder`` before any request.
        ``stop_market``, ``stop_limit`` and ``trigger`` go out as ccxt ``triggerPrice`` orders,
        ``stop_loss`` / ``take_profit`` as ``stopLossPrice`` / ``takeProfitPrice`` orders (OKX algo
        orders: ``trigger`` and ``conditional``); a ``price`` makes them limit orders when triggered.

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
        placement = Placement(request, market, order_type, sendable_contracts(self._client, market, request))
        ccxt_type, price, params = order_params(placement, hedge_mode=self.hedge_mode)
        side = OrderSide.parse(request.side).value
        amount = plain(placement.contracts)
        try:
            ack = self._client.api.create_order(market.unified_symbol, ccxt_type, side, amount, price, params)
        except Exception as error:  # sorted by placement_failure: ccxt's, or anything else while in flight
            return self._after_failed_placement(placement, error)
        return lookup.state_after_acceptance(self._client, placement, ack)

    def _after_failed_placement(self, placement: Placement, error: Exception) -> ExchangeOrder:
        """The order after ``create_order`` raised ``error`` (call from its except block), or our exception."""
        failure = placement_failure(error)
        if failure is PlacementFailure.UNCLEAR:
            if not isinstance(error, CcxtError):  # a bug, or an answer ccxt could not parse
                logger.exception("%s: unexpected error placing %s", self, placement.client_order_id)
            return lookup.resolve_unclear_placement(self._client, placement, error)
        if failure is PlacementFailure.DUPLICATE_CLIENT_ID:
            existing = lookup.find_placed(self._client, placement)
            if existing is not None:
                return existing
        raise translate_ccxt_error(error, action="place order", exchange=self.exchange, placing=True) from error

    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """The order's current state, by exchange id (preferred) or client id.

        On OKX the regular orders are searched first, then the algo orders; a triggered algo order
        reports the fill of the order it placed. Raises ``ExchangeOrderNotFound`` if neither holds
        it, ``InvalidOrder`` when no id is given.
        """
        market = self.market(symbol)
        raw, _ = lookup.locate(self._client, market, exchange_order_id, client_order_id)
        return lookup.read_order(self._client, raw, market)

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
        raw, is_algo = lookup.locate(self._client, market, exchange_order_id, client_order_id)
        current = lookup.read_order(self._client, raw, market)
        if current.status.is_terminal:
            return current
        try:
            params = algo.algo_params(is_algo)
            self._client.call("cancel order", self._client.api.cancel_order, raw["id"], market.unified_symbol, params)
        except ExchangeOrderNotFound:
            logger.info("%s: order %s ended before the cancel arrived", self, raw["id"])
        final = self._client.fetch_order(raw["id"], market.unified_symbol, algo.algo_params(is_algo))
        return lookup.read_order(self._client, final, market)

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Live orders of one symbol or all; on OKX the pending algo orders (trigger, stop-loss,
        take-profit) are included. One page of each kind (OKX: up to 100)."""
        market = self.market(symbol) if symbol else None
        unified = market.unified_symbol if market else None
        raws = self._client.fetch_open_orders(unified) + algo.fetch_pending(self._client, unified)
        left_out: dict[str, str] = {}
        listed = [(raw, market or self._listed_market(raw, left_out)) for raw in raws]
        if market is None:
            self._left_out["orders"] = left_out
        return [lookup.read_order(self._client, raw, found) for raw, found in listed if found is not None]

    def fetch_order_trades(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> list[ExchangeFill]:
        """Every trade of one order, oldest first, each with its price, base quantity and fees in
        their own currencies ([] when it has none yet).

        By exchange id the trades are asked for first (OKX fills history with ``ordId``), so an
        order the exchange no longer finds (OKX 51603) still gets its listed trades. With no trade
        listed, or by client id, the order is looked up (regular, then OKX algo; a fired algo
        order's trades are those of the order it placed). Raises ``ExchangeOrderNotFound`` when
        neither its trades nor the order are known, ``InvalidOrder`` when no id is given.
        """
        market = self.market(symbol)
        asked: list[str] = []
        if exchange_order_id:
            listed = trades.order_trades(self._client, market, exchange_order_id)
            if listed:
                return listed
            asked.append(exchange_order_id)
        raw, is_algo = lookup.locate(self._client, market, exchange_order_id, client_order_id)
        order_ids = algo.placed_order_ids(raw) if is_algo else [str(raw["id"])]
        found = [trades.order_trades(self._client, market, one) for one in order_ids if one not in asked]
        return sorted((fill for fills in found for fill in fills), key=trades.chronological)

    def fetch_trades(self, symbol: str, *, since: datetime) -> list[ExchangeFill]:
        """The account's trades on ``symbol`` at or after ``since`` (aware), oldest first, each naming
        its order (exchange and client id), side, position side (hedge mode) and whether it was a
        forced close (OKX liquidation or ADL bill subtypes).

        OKX keeps three months of fills history; pages are followed until the start. Raises
        ``InvalidInput`` for a naive ``since``, ``ExchangeError`` when more than
        ``trades.MAX_PAGES`` pages of trades match (never a truncated list), and our other
        ``ExchangeError`` kinds.
        """
        market = self.market(symbol)
        try:
            since_ms = ms_from_datetime(since)
        except ValueError:
            raise InvalidInput("since must be a timezone-aware datetime", details={"since": ["naive"]}) from None
        return trades.account_trades(self._client, market, since_ms)

    # -- positions, prices, leverage ---------------------------------------------------------------

    def fetch_positions(self, symbols: list[str] | None = None) -> list[ExchangePosition]:
        """Non-empty positions of the given symbols (None: all; ``[]``: none, no request), sizes in
        base currency, contracts alongside. In one-way mode one net position per symbol, its side
        from the sign. Asking for an unsupported instrument raises ``UnsupportedInstrument``; in the
        listing of all, such positions are left out (logged)."""
        if symbols is not None and not symbols:
            return []
        unified = [self.market(symbol).unified_symbol for symbol in symbols] if symbols else None
        raws = self._client.call("fetch positions", self._client.api.fetch_positions, unified)
        left_out: dict[str, str] = {}
        held = [(raw, self._listed_market(raw, left_out)) for raw in raws if parsing.holds_position(raw)]
        if symbols is None:
            self._left_out["positions"] = left_out
        return [
            parsing.exchange_position(raw, market, default_margin_mode=self.default_margin_mode)
            for raw, market in held
            if market is not None
        ]

    def fetch_mark_price(self, symbol: str) -> Decimal:
        """The exchange's mark price (the last price where the exchange has no mark price), in the
        quote currency. Raises ``ExchangeUnavailable`` when the answer carries neither."""
        market = self.market(symbol)
        if self._client.api.has.get("fetchMarkPrice"):
            ticker = self._client.call("fetch mark price", self._client.api.fetch_mark_price, market.unified_symbol)
        else:
            ticker = self._client.call("fetch ticker", self._client.api.fetch_ticker, market.unified_symbol)
        price = parsing.ticker_price(ticker)
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
        for params in leverage_params(self.exchange, margin_mode, side, hedge_mode=self.hedge_mode):
            self._client.call(
                "set leverage", self._client.api.set_leverage, int(leverage), market.unified_symbol, params
            )
