"""``PaperGateway``: the gateway interface served by the paper exchange (SPEC section 5)."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

from tradingcore import db
from tradingcore.enums import Exchange, MarginMode, PositionMode, PositionSide
from tradingcore.exceptions import ExchangeOrderNotFound, InvalidInput, InvalidOrder
from tradingcore.exchange.base import (
    ExchangeFill,
    ExchangeGateway,
    ExchangeOrder,
    ExchangePosition,
    MarketInfo,
    OrderRequest,
)
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.paper import placement
from tradingcore.exchange.paper.book import get_mark
from tradingcore.exchange.paper.describe import describe_fill, describe_order, describe_position
from tradingcore.exchange.paper.engine import LIVE_STATUSES
from tradingcore.exchange.paper.leverage import store_leverage
from tradingcore.models import ExchangeAccount, PaperFill, PaperLeverage, PaperMark, PaperOrder, PaperPosition
from tradingcore.models.paper import PAPER_ORDER_ID_PREFIX

# One statement, cheap to send (the ORM's subqueries cost more to build than to run): the user's
# non-empty positions with the mark and the leverage (of the side, else of both sides) of each.
FETCH_POSITIONS_SQL = """
SELECT p.symbol, p.side, p.size, p.entry_price,
       (SELECT m.price FROM paper_marks m WHERE m.exchange = p.exchange AND m.symbol = p.symbol LIMIT 1),
       (SELECT l.leverage FROM paper_leverage l WHERE l.user_id = p.user_id AND l.exchange = p.exchange
          AND l.symbol = p.symbol AND l.side IN (p.side, '') ORDER BY l.side DESC LIMIT 1),
       (SELECT l.margin_mode FROM paper_leverage l WHERE l.user_id = p.user_id AND l.exchange = p.exchange
          AND l.symbol = p.symbol AND l.side IN (p.side, '') ORDER BY l.side DESC LIMIT 1)
FROM paper_positions p
WHERE p.user_id = %s AND p.exchange = %s AND p.size > 0{where}
ORDER BY p.symbol, p.side
"""

_UNLISTED_TRADES = PaperOrder.Forgotten.ORDER_AND_TRADES


# The accounts' position modes, per (exchange, user): read once and kept ``MODE_TTL`` seconds, so
# an order does not pay a query for it; forgotten at once when this process saves or deletes an
# exchange account (``forget_position_modes``, connected in ``TradingCoreConfig.ready``), and seen
# by other processes within ``MODE_TTL``. (OKX refuses a mode switch while anything is open.)
MODE_TTL = 30.0
_modes: dict[tuple[str, str], tuple[PositionMode, float]] = {}


def forget_position_modes(**_signal: Any) -> None:
    """Forget every cached position mode (an exchange account changed)."""
    _modes.clear()


def _account_mode(exchange: Exchange, user_id: str) -> PositionMode:
    key = (exchange.value, user_id)
    cached = _modes.get(key)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        return cached[0]
    accounts = ExchangeAccount.objects.filter(user_id=user_id, exchange=exchange.value, is_active=True)
    mode = accounts.order_by("id").values_list("position_mode", flat=True).first()
    found = PositionMode.parse(mode) if mode else PositionMode.HEDGE
    _modes[key] = (found, now + MODE_TTL)
    return found


class PaperGateway(ExchangeGateway):
    """One user's account on a simulated exchange.

    ``exchange`` is ``paper`` or, in dry-run, the real exchange's name: orders are then sized with
    that exchange's contract sizes from the built-in instrument table and kept apart from the other
    exchanges. All state lives in PostgreSQL, so a new instance (or a new process) sees the same
    orders, fills, positions and marks. Marks move only through ``set_mark`` (command, admin, API,
    the watcher's random walk).

    ``position_mode`` is that of the user's active ``ExchangeAccount`` on this exchange (in dry run
    the simulator plays the real account), else hedge. In one-way mode every order nets, whatever
    ``position_side`` a caller passes: an opposite fill reduces the position and, past zero, opens
    the other side, so there is one net position per symbol. (In hedge mode, an order without a
    ``position_side`` nets too; one with a side opens or reduces that side.)

    Orders the exchange "forgot" (``paper.outside.forget``) are not found by any order lookup; their
    trades stay listed unless forgotten too.
    """

    def __init__(self, exchange: Exchange | str, user_id: str, *, position_mode: PositionMode | None = None) -> None:
        """``position_mode`` None: the user's account's, read on first use (cached, see ``MODE_TTL``)."""
        self.exchange = Exchange.parse(exchange, field="exchange")
        self.user_id = user_id
        self._position_mode = position_mode

    def __repr__(self) -> str:
        return f"<PaperGateway {self.exchange.value} user={self.user_id!r}>"

    @property
    def position_mode(self) -> PositionMode:
        """The user's account's position mode on this exchange (hedge when there is none)."""
        if self._position_mode is None:
            self._position_mode = _account_mode(self.exchange, self.user_id)
        return self._position_mode

    @position_mode.setter
    def position_mode(self, mode: PositionMode) -> None:
        self._position_mode = PositionMode.parse(mode)

    def market(self, symbol: str) -> MarketInfo:
        """The instrument from the built-in table; ``BadSymbol`` if unlisted."""
        return get_market(self.exchange, symbol)

    def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """Place the order and return its state after what executed at once.

        Market orders fill at the mark (plus slippage) as taker; a marketable limit fills at once as
        taker, otherwise it rests; trigger-style orders rest until the mark crosses the trigger.
        Idempotent per client order id: placing the same client id again for the same order returns
        the existing order and creates nothing. Raises ``BadSymbol``, ``InvalidOrder`` (quantity
        below the minimum, post-only that would cross, reduce-only that would increase, client id
        used by another order, trigger on the wrong side of the mark) and ``PaperMarkMissing``.
        In one-way mode the request's ``position_side`` is dropped: the order nets.
        """
        if request.position_side is not None and self.position_mode is PositionMode.ONE_WAY:
            request = dataclasses.replace(request, position_side=None)
        placed = placement.place(self.user_id, self.market(request.symbol), request)
        return describe_order(placed.order, placed.fills)

    def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """Cancel a live order and return its final state; an order that already ended (a fill that
        raced the cancel) is returned as it is, with its fills, as the ccxt gateway does.
        ``ExchangeOrderNotFound`` if the user has no such order."""
        market = self.market(symbol)
        with transaction.atomic():
            order = self._find(market, exchange_order_id, client_order_id, lock=True)
            if order.is_live:
                placement.cancel(order)
        return describe_order(order)

    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """The order's current state with its fills; ``ExchangeOrderNotFound`` if the user has none."""
        return describe_order(self._find(self.market(symbol), exchange_order_id, client_order_id, lock=False))

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """The user's live orders (waiting trigger orders included), oldest first."""
        orders = PaperOrder.objects.filter(
            user_id=self.user_id, exchange=self.exchange.value, status__in=LIVE_STATUSES, forgotten=""
        )
        if symbol is not None:
            orders = orders.filter(symbol=self.market(symbol).symbol)
        return [describe_order(order) for order in orders.order_by("id")]

    def fetch_positions(self, symbols: list[str] | None = None) -> list[ExchangePosition]:
        """The user's non-empty paper positions, sizes in base currency, valued at the current mark
        (in one-way mode one net position per symbol: its fills were netted)."""
        params: list[Any] = [self.user_id, self.exchange.value]
        where = ""
        if symbols is not None:
            natives = [self.market(symbol).symbol for symbol in symbols]
            where = f" AND p.symbol IN ({', '.join(['%s'] * len(natives))})" if natives else " AND 1 = 0"
            params += natives
        with connection.cursor() as cursor:
            cursor.execute(FETCH_POSITIONS_SQL.format(where=where), params)
            rows = cursor.fetchall()
        return [
            describe_position(
                PaperPosition(
                    symbol=symbol,
                    side=side,
                    size=db.from_column(PaperPosition, "size", size),
                    entry_price=db.from_column(PaperPosition, "entry_price", entry),
                ),
                self.market(symbol),
                db.from_column(PaperMark, "price", mark),
                None if leverage is None else PaperLeverage(leverage=leverage, margin_mode=margin_mode),
            )
            for symbol, side, size, entry, mark, leverage, margin_mode in rows
        ]

    def fetch_mark_price(self, symbol: str) -> Decimal:
        """The simulated mark; ``PaperMarkMissing`` if none was set for this exchange and symbol."""
        return get_mark(self.exchange, symbol)

    def set_leverage(
        self,
        symbol: str,
        leverage: int,
        *,
        margin_mode: MarginMode = MarginMode.CROSS,
        side: PositionSide | None = None,
    ) -> None:
        """Record the leverage (1 to 125) for ``symbol``, per side when ``side`` is given.

        One statement; a call that repeats the stored leverage and margin mode changes nothing.
        Raises ``InvalidOrder`` for a leverage out of range, ``BadSymbol`` for an unlisted symbol.
        """
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= 125:
            raise InvalidOrder(f"leverage must be an integer from 1 to 125, not {leverage!r}")
        store_leverage(
            user_id=self.user_id,
            exchange=self.exchange,
            symbol=self.market(symbol).symbol,
            side=PositionSide.parse(side) if side is not None else None,
            leverage=leverage,
            margin_mode=MarginMode.parse(margin_mode),
        )

    def fetch_order_trades(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> list[ExchangeFill]:
        """Every fill of one order, oldest first ([] when it has none yet), fees in USDT (a maker
        rebate negative).

        By exchange id the fills are looked up first, so a forgotten order whose trades are still
        listed gets them. Otherwise the order must be known: ``ExchangeOrderNotFound`` if the user
        has no such order (or it was forgotten), ``InvalidInput`` when no id is given.
        """
        market = self.market(symbol)
        if exchange_order_id is not None:
            number = order_number(exchange_order_id)
            fills = list(self._listed_fills(market).filter(order_id=number)) if number is not None else []
            if fills:
                return [describe_fill(fill, fill.order) for fill in fills]
        order = self._find(market, exchange_order_id, client_order_id, lock=False)
        return [describe_fill(fill, order) for fill in PaperFill.objects.filter(order=order).order_by("id")]

    def fetch_trades(self, symbol: str, *, since: datetime) -> list[ExchangeFill]:
        """The user's fills on ``symbol`` created at or after ``since`` (aware), oldest first, naming
        their order, side, position side and whether the exchange liquidated (one query).
        ``InvalidInput`` for a naive ``since``."""
        if since.tzinfo is None or since.utcoffset() is None:
            raise InvalidInput("since must be a timezone-aware datetime", details={"since": ["naive"]})
        fills = self._listed_fills(self.market(symbol)).filter(created_at__gte=since)
        return [describe_fill(fill, fill.order) for fill in fills]

    def _listed_fills(self, market: MarketInfo) -> QuerySet[PaperFill]:
        """The user's fills on ``market`` that the exchange lists, with their orders, oldest first."""
        return (
            PaperFill.objects.select_related("order")
            .filter(order__user_id=self.user_id, order__exchange=self.exchange.value, order__symbol=market.symbol)
            .exclude(order__forgotten=_UNLISTED_TRADES)
            .order_by("created_at", "id")
        )

    def _find(
        self, market: MarketInfo, exchange_order_id: str | None, client_order_id: str | None, *, lock: bool
    ) -> PaperOrder:
        if exchange_order_id is None and client_order_id is None:
            raise InvalidInput("exchange_order_id or client_order_id is required")
        orders = PaperOrder.objects.filter(
            user_id=self.user_id, exchange=self.exchange.value, symbol=market.symbol, forgotten=""
        )
        if lock:
            orders = orders.select_for_update()
        if exchange_order_id is not None:
            number = order_number(exchange_order_id)
            orders = orders.filter(pk=number) if number is not None else orders.none()
        if client_order_id is not None:
            orders = orders.filter(client_order_id=client_order_id)
        order = orders.first()
        if order is None:
            raise ExchangeOrderNotFound(
                f"no paper order {exchange_order_id or client_order_id!r} for user {self.user_id!r} "
                f"on {self.exchange.value} {market.symbol}",
                details={"exchange_order_id": exchange_order_id, "client_order_id": client_order_id},
            )
        return order


def order_number(exchange_order_id: str) -> int | None:
    """The primary key in a paper exchange order id (``paper-<id>``); None for any other id."""
    number = exchange_order_id.removeprefix(PAPER_ORDER_ID_PREFIX)
    return int(number) if number.isdigit() and number != exchange_order_id else None
