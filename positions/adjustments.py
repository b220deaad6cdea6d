"""Bringing our positions to what the exchange holds, through fills (reconcile, full closes, the liquidation watch).

The exchange's state wins, but a position still changes only by fills (``positions.ledger``): where
our size and the exchange's differ on a symbol (``positions.books``), the difference is booked as
orders of ours, role ``adjustment`` (or ``liquidation``), whose fills go through
``orders.execution`` like any other:

- from the exchange's own trades when its history explains the difference exactly: the account's
  trades since our position opened (``fetch_trades``) that no order of ours explains are booked one
  order per exchange order, at their real prices and fees, a forced close (liquidation,
  auto-deleverage) with role ``liquidation``;
- otherwise as one fill for the whole difference marked as an estimate (order metadata and event
  ``estimate: true``, no fee): a reduction at the mark, an increase at the price the exchange's
  average entry implies. A position that vanished at a loss is taken for a liquidation.

Never booked twice and never a second position for the same fills: trades of orders we hold that
those orders have not booked yet (an order the exchange forgot after it filled, OKX 51603) are left
to those orders, and while an order of ours on the symbol is in doubt (not found, or its placement
unknown) nothing is estimated. Several of our grid levels behind one exchange position are closed
one by one only when the exchange holds none (estimates at the outside trades' mean price, else at
the mark: one trade cannot be split between positions); otherwise the difference is reported.

One symbol is aligned at a time per account under a cross-process lock, from the exchange's state
read under that lock, outside any transaction. Every booking writes a ``reconciled`` event on the
position it changed: ``source`` ``exchange_trades`` or ``estimate``, ``estimate`` true or false.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orders import events as order_events
from orders import execution, hooks, sync
from orders import projection as order_projection
from orders.models import Order
from positions import events
from positions.books import Book, SortedTrades, books_of, sort_trades
from positions.models import Position
from tradingcore import locks
from tradingcore.changeset import ChangeSet
from tradingcore.db import insert_rows
from tradingcore.decimals import ZERO, plain, quantize
from tradingcore.enums import (
    LIVE_ORDER_STATUSES,
    Exchange,
    Liquidity,
    MarginMode,
    OrderRole,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
)
from tradingcore.exceptions import ExchangeError, ExchangeOrderNotFound
from tradingcore.exchange import ExchangeFill, ExchangeGateway, ExchangeOrder, MarketInfo

logger = logging.getLogger(__name__)

EXCHANGE_TRADES = "exchange_trades"
ESTIMATE = "estimate"
ADJUSTED_REASON = "closed on the exchange (reconciled)"
LIQUIDATED_REASON = "liquidated on the exchange"
# How far back the trades behind a position only the exchange holds are looked for.
ADOPTION_LOOKBACK = timedelta(days=7)


class Scope(enum.Enum):
    """What a caller lets ``align_symbol`` book."""

    EVERYTHING = "everything"  # reconcile --apply, a full close
    LIQUIDATIONS = "liquidations"  # the watcher: forced closes only


@dataclass
class Adjustment:
    """One book where our size and the exchange's differ, and what was done about it."""

    book: Book
    applied: bool = False
    source: str = ""  # exchange_trades | estimate; "" when nothing was booked
    note: str = ""  # what was (or would be) booked, or why nothing was
    order_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """``unknown_position`` (only the exchange holds it), ``missing_position`` (only we do), or
        ``size_mismatch``."""
        if self.book.ours == 0:
            return "unknown_position"
        if self.book.theirs == 0:
            return "missing_position"
        return "size_mismatch"


@dataclass
class Fill:
    """One fill to book: an exchange trade, or the estimate."""

    side: OrderSide
    quantity: Decimal
    price: Decimal
    trade: ExchangeFill | None = None  # None: an estimate


@dataclass
class Booking:
    """One order of ours to book on one book: its fills, its role, and where they come from."""

    fills: list[Fill]
    role: OrderRole
    source: str
    exchange_order_id: str | None = None
    position: Position | None = None  # the position it adjusts (None: it opens one)
    price_basis: str = ""  # estimates: mark | exchange_entry

    @property
    def side(self) -> OrderSide:
        return self.fills[0].side

    @property
    def quantity(self) -> Decimal:
        return sum((f.quantity for f in self.fills), ZERO)

    @property
    def price(self) -> Decimal:
        return quantize(sum((f.quantity * f.price for f in self.fills), ZERO) / self.quantity)

    def describe(self) -> str:
        what = f"{self.side.value} {plain(self.quantity)} at {plain(self.price)}"
        if self.source == ESTIMATE:
            return f"estimate: {what} ({self.price_basis.replace('_', ' ')})"
        return f"{self.role.value} {what} (exchange order {self.exchange_order_id or '?'})"


@dataclass
class Context:
    """One alignment: whose account, which symbol, what may be booked."""

    user_id: str
    exchange: Exchange
    gateway: ExchangeGateway
    market: MarketInfo
    actor: str
    apply: bool
    scope: Scope
    in_doubt: set[Any]  # ids of our orders the exchange did not find in this run


def align_symbol(
    *,
    user_id: str,
    exchange: Exchange,
    gateway: ExchangeGateway,
    symbol: str,
    apply: bool,
    actor: str,
    scope: Scope = Scope.EVERYTHING,
    in_doubt: Collection[Any] = (),
) -> list[Adjustment]:
    """Compare our open positions on ``symbol`` with the exchange's and, with ``apply``, book the
    differences (see the module docstring); returns one ``Adjustment`` per book that differs.

    Under the symbol's lock: our live orders on the symbol are refreshed first (a stop that just
    fired is booked as the stop, not as an outside trade), then the exchange's positions are read
    and, where they differ, its trades. ``in_doubt``: ids of orders of ours the exchange did not
    find just before. Raises the gateway's ``ExchangeError`` kinds (``UnsupportedInstrument`` for
    an instrument the service does not model).
    """
    market = gateway.market(symbol)
    context = Context(user_id, exchange, gateway, market, actor, apply, scope, set(in_doubt))
    with locks.position_lock(f"align:{user_id}:{exchange.value}:{market.symbol}"):
        context.in_doubt |= _refresh_live_orders(context)
        books = [book for book in _books(context) if book.difference != 0]
        if not books:
            return []
        trades = sort_trades(exchange.value, gateway.fetch_trades(market.symbol, since=_since(context, books)))
        return [_settle(context, book, trades) for book in books]


def exchange_holds_less(books: list[Book]) -> bool:
    """Whether the exchange holds less than we do on any of ``books`` (or the other side, net)."""
    return any(abs(book.theirs) < abs(book.ours) or book.theirs * book.ours < 0 for book in books)


def _refresh_live_orders(context: Context) -> set[Any]:
    """Poll our live orders on the symbol; the ids of those the exchange did not find."""
    live = Order.objects.filter(
        user_id=context.user_id, exchange=context.exchange, symbol=context.market.symbol,
        status__in=list(LIVE_ORDER_STATUSES),
    ).exclude(exchange_order_id=None)  # fmt: skip
    missing = set()
    for order in live:
        try:
            sync.refresh_order(order_id=order.pk, actor=context.actor)
        except ExchangeOrderNotFound:
            missing.add(order.pk)
        except ExchangeError as exc:
            logger.warning("order %s not refreshed before aligning %s: %s", order.pk, context.market.symbol, exc)
    return missing


def _books(context: Context) -> list[Book]:
    ours = list(
        Position.objects.filter(
            user_id=context.user_id, exchange=context.exchange, symbol=context.market.symbol, status=PositionStatus.OPEN
        ).order_by("created_at")
    )
    theirs = context.gateway.fetch_positions([context.market.symbol])
    return books_of(context.market.symbol, ours, theirs, context.gateway.position_mode)


def _since(context: Context, books: list[Book]) -> datetime:
    """Trades since our oldest open position on the symbol; for a position only the exchange holds,
    since our last one there closed (at most ``ADOPTION_LOOKBACK`` back)."""
    opened = [p.created_at for book in books for p in book.positions]
    if opened:
        return min(opened)
    floor = timezone.now() - ADOPTION_LOOKBACK
    last_closed = (
        Position.objects.filter(user_id=context.user_id, exchange=context.exchange, symbol=context.market.symbol)
        .exclude(closed_at=None)
        .order_by("-closed_at")
        .values_list("closed_at", flat=True)
        .first()
    )
    return max(last_closed, floor) if last_closed else floor


# -- deciding ------------------------------------------------------------------------------------


def _settle(context: Context, book: Book, trades: SortedTrades) -> Adjustment:
    """Decide how ``book`` is brought in line, and book it when allowed."""
    adjustment = Adjustment(book)
    outside = [t for t in trades.outside if book.effect(t.side, t.position_side, t.quantity) != 0]
    outside_net = sum((book.effect(t.side, t.position_side, t.quantity) for t in outside), ZERO)
    unbooked = [u for u in trades.unbooked if u.effect_on(book) != 0]
    unbooked_net = sum((u.effect_on(book) for u in unbooked), ZERO)
    awaited = _ids(u.order for u in unbooked)
    waiting = awaited | _in_doubt(context, book)
    if outside and outside_net + unbooked_net == book.difference:
        return _book_all(context, adjustment, _from_trades(book, outside), awaited)
    if unbooked and unbooked_net == book.difference:
        adjustment.note = (
            f"explained by trades of our order(s) {_names(awaited)} not booked yet: they are booked with those "
            "orders, never as a second position"
        )
        return adjustment
    if waiting:
        adjustment.note = f"our order(s) {_names(waiting)} are in doubt on the exchange: nothing is estimated meanwhile"
        return adjustment
    return _book_all(context, adjustment, _estimate(context, book), set())


def _book_all(context: Context, adjustment: Adjustment, bookings: list[Booking], awaited: set[str]) -> Adjustment:
    if not bookings:
        levels = len(adjustment.book.positions)
        adjustment.note = f"{levels} grid levels share this exchange position: close or adjust them one by one"
        return adjustment
    adjustment.source = bookings[0].source
    planned = "; ".join(booking.describe() for booking in bookings)
    if context.scope is Scope.LIQUIDATIONS and not any(b.role == OrderRole.LIQUIDATION for b in bookings):
        adjustment.note = f"not a liquidation: left to reconcile ({planned})"
        return adjustment
    if not context.apply:
        adjustment.note = f"would book {planned}"
        return adjustment
    for booking in bookings:
        order = _book(context, adjustment.book, booking)
        if order is not None:
            adjustment.order_ids.append(order.pk)
    adjustment.applied = bool(adjustment.order_ids)
    adjustment.note = f"booked {planned}" if adjustment.applied else "already booked by another run"
    if awaited:
        adjustment.note += f"; our order(s) {_names(awaited)} book the rest"
    return adjustment


def _in_doubt(context: Context, book: Book) -> set[str]:
    """Our live orders on the book's symbol whose state the exchange cannot tell now: not found in
    this run or before (``exchange_misses``), or a placement whose outcome is unknown (``pending``)."""
    live = Order.objects.filter(
        user_id=context.user_id, exchange=context.exchange, symbol=book.symbol, status__in=list(LIVE_ORDER_STATUSES)
    )
    doubtful = [o for o in live if o.pk in context.in_doubt or o.exchange_misses > 0 or o.status == OrderStatus.PENDING]
    return _ids(o for o in doubtful if book.side is None or o.position_side in ("", book.side))


def _ids(orders: Any) -> set[str]:
    return {str(order.pk) for order in orders}


def _names(ids: set[str]) -> str:
    return ", ".join(sorted(ids))


def _from_trades(book: Book, trades: list[ExchangeFill]) -> list[Booking]:
    """One booking per exchange order of the outside ``trades`` (oldest first); with several of our
    positions behind the book, per-position estimates when the exchange holds none, else nothing."""
    if len(book.positions) > 1:
        forced = any(t.liquidation for t in trades)
        return _close_each(book, _average(trades), "exchange_trades_average", forced) if book.theirs == 0 else []
    groups: dict[str, list[ExchangeFill]] = {}
    for trade in trades:
        groups.setdefault(trade.exchange_order_id or f"trade:{trade.trade_id}", []).append(trade)
    position = book.positions[0] if book.positions else None
    return [
        Booking(
            fills=[Fill(_side(t), t.quantity, t.price, t) for t in group],
            role=OrderRole.LIQUIDATION if any(t.liquidation for t in group) else OrderRole.ADJUSTMENT,
            source=EXCHANGE_TRADES,
            exchange_order_id=group[0].exchange_order_id,
            position=position,
        )
        for group in groups.values()
    ]


def _side(trade: ExchangeFill) -> OrderSide:
    assert trade.side is not None  # a trade without a side moves no book, so it is never booked
    return trade.side


def _average(trades: list[ExchangeFill]) -> Decimal:
    """The quantity-weighted mean price of ``trades`` (not empty)."""
    quantity = sum((t.quantity for t in trades), ZERO)
    return quantize(sum((t.quantity * t.price for t in trades), ZERO) / quantity)


def _estimate(context: Context, book: Book) -> list[Booking]:
    """One estimated fill for the whole difference: a reduction at the mark, an increase at the
    price the exchange's entry implies; a position gone at a loss is taken for a liquidation."""
    mark = _mark(context, book)
    forced = book.theirs == 0 and book.unrealized_at(mark) < 0
    if len(book.positions) > 1:
        return _close_each(book, mark, "mark", forced) if book.theirs == 0 else []
    difference = book.difference
    side = _order_side(book, difference)
    price, basis = _implied_entry(book, context.market) or (mark, "mark")
    return [
        Booking(
            fills=[Fill(side, abs(difference), price)],
            role=OrderRole.LIQUIDATION if forced else OrderRole.ADJUSTMENT,
            source=ESTIMATE,
            position=book.positions[0] if book.positions else None,
            price_basis=basis,
        )
    ]


def _close_each(book: Book, price: Decimal, basis: str, forced: bool) -> list[Booking]:
    """Every position of the book closed at ``price`` (an estimate: one exchange trade cannot be
    split between positions)."""
    return [
        Booking(
            fills=[Fill(PositionSide(p.side).exit_order_side, p.size, price)],
            role=OrderRole.LIQUIDATION if forced else OrderRole.ADJUSTMENT,
            source=ESTIMATE,
            position=p,
            price_basis=basis,
        )
        for p in book.positions
    ]


def _order_side(book: Book, difference: Decimal) -> OrderSide:
    if book.side is None:
        return OrderSide.BUY if difference > 0 else OrderSide.SELL
    return book.side.entry_order_side if difference > 0 else book.side.exit_order_side


def _implied_entry(book: Book, market: MarketInfo) -> tuple[Decimal, str] | None:
    """For a pure increase, the price (on the market's tick) at which the added size makes our
    entry the exchange's."""
    remote = book.remote
    grows = abs(book.theirs) > abs(book.ours) and book.theirs * book.ours >= 0
    if remote is None or not grows or remote.entry_price <= 0:
        return None
    ours_notional = sum((p.entry_precise * p.size for p in book.positions), ZERO)
    added = abs(book.theirs) - abs(book.ours)
    price = quantize(market.round_price((remote.entry_price * remote.size - ours_notional) / added))
    return (price, "exchange_entry") if price > 0 else None


def _mark(context: Context, book: Book) -> Decimal:
    try:
        return context.gateway.fetch_mark_price(book.symbol)
    except ExchangeError as exc:
        logger.warning("%s %s: mark unavailable, using the last known: %s", context.exchange.value, book.symbol, exc)
    if book.remote is not None and book.remote.mark_price:
        return book.remote.mark_price
    position = book.positions[0]
    return position.current_price or position.entry_price


# -- booking -------------------------------------------------------------------------------------


def _book(context: Context, book: Book, booking: Booking) -> Order | None:
    """Save the booking's order with its events and apply its fills through the normal fill path,
    in one transaction, while the book's positions still hold what the decision was made from;
    then a ``reconciled`` event on each position it changed. None when they changed meanwhile (a
    close of ours committed between our reading and now: its own fill explains the difference) or
    when another run booked the same exchange order first."""
    order = _new_order(context, book, booking)
    try:
        with transaction.atomic():
            if not _unchanged(context, book):
                logger.info("%s %s: positions changed while reconciling; nothing booked", context.user_id, book.symbol)
                return None
            changeset = ChangeSet()
            created = order_events.order_created(order, context.actor)
            changeset.insert(order, created, _order_event(order, booking, context))
            changeset.project(order_projection.change(order, "order.created"))
            changeset.save()
            booked, touched = execution.apply_in_transaction(order, _report(order, booking), actor=context.actor)
    except IntegrityError as exc:  # booked already, or its trades by an order we know by another id
        logger.info("adjustment for exchange order %s not booked: %s", booking.exchange_order_id or "-", exc)
        return None
    if touched:
        hooks.after_fills(booked, context.actor)
    _record(context, book, booking, booked)
    return booked


def _unchanged(context: Context, book: Book) -> bool:
    """Whether the open positions behind ``book`` are, under lock, still those it was built from
    (same rows, sizes and status): the decision is only valid for the state it was read in."""
    where = Q(user_id=context.user_id, exchange=context.exchange, symbol=book.symbol, status=PositionStatus.OPEN)
    if book.side is not None:
        where &= Q(side=book.side)
    read = {p.pk: p.size for p in book.positions}
    rows = Position.objects.select_for_update().filter(where | Q(pk__in=list(read))).order_by("pk")
    return {p.pk: p.size for p in rows if p.status == PositionStatus.OPEN} == read


def _new_order(context: Context, book: Book, booking: Booking) -> Order:
    position, remote = booking.position, book.remote
    reducing = book.side is not None and booking.side == book.side.exit_order_side
    order = Order(
        user_id=context.user_id, exchange=context.exchange, symbol=book.symbol, side=booking.side,
        order_type=OrderType.MARKET, quantity=booking.quantity, reduce_only=reducing, role=booking.role,
        position_side=book.side.value if book.side is not None else "",
        margin_mode=(position.margin_mode if position else remote.margin_mode if remote else MarginMode.CROSS),
        contract_size=context.market.contract_size, leverage=None if position or not remote else remote.leverage,
        reason=LIQUIDATED_REASON if booking.role == OrderRole.LIQUIDATION else ADJUSTED_REASON,
        position_id=position.pk if position else None, grid_level=position.grid_level if position else None,
        exchange_order_id=booking.exchange_order_id or None, metadata=_metadata(book, booking),
    )  # fmt: skip
    order.full_clean(exclude=["position"], validate_unique=False, validate_constraints=False)
    return order


def _metadata(book: Book, booking: Booking) -> dict[str, Any]:
    metadata: dict[str, Any] = {"reconciled": booking.source, "estimate": booking.source == ESTIMATE}
    if book.ours == 0:
        metadata["adopted"] = True
    return metadata


def _order_event(order: Order, booking: Booking, context: Context) -> Any:
    return order_events.order_reconciled(
        order, context.actor, action=_action(booking, order), source=booking.source,
        estimate=booking.source == ESTIMATE, exchange_order_id=booking.exchange_order_id,
    )  # fmt: skip


def _action(booking: Booking, order: Order) -> str:
    if booking.role == OrderRole.LIQUIDATION:
        return "liquidated"
    return "adopted" if order.metadata.get("adopted") else "adjusted"


def _report(order: Order, booking: Booking) -> ExchangeOrder:
    """The booking as an exchange report of a filled order (an estimate's fill gets a trade id of its own)."""
    fills = tuple(fill.trade or _estimated_fill(order, fill) for fill in booking.fills)
    return ExchangeOrder(
        exchange_order_id=booking.exchange_order_id or "", client_order_id=order.client_order_id,
        symbol=order.symbol, side=booking.side, order_type=OrderType.MARKET, status=OrderStatus.FILLED,
        quantity=order.quantity, filled_qty=order.quantity, avg_fill_price=booking.price, fills=fills,
        reduce_only=order.reduce_only, timestamp=fills[0].timestamp,
    )  # fmt: skip


def _estimated_fill(order: Order, fill: Fill) -> ExchangeFill:
    return ExchangeFill(
        trade_id=f"estimate:{order.pk}",
        price=fill.price,
        quantity=fill.quantity,
        liquidity=Liquidity.TAKER,
        timestamp=timezone.now(),
    )


def _record(context: Context, book: Book, booking: Booking, order: Order) -> None:
    """A ``reconciled`` event on each position the booking changed, saying where its fills came from."""
    touched = {pk for pk in (order.position_id, booking.position.pk if booking.position else None) if pk is not None}
    parameters = {
        "action": _action(booking, order), "source": booking.source, "estimate": booking.source == ESTIMATE,
        "order_id": str(order.pk), "side": booking.side.value, "quantity": booking.quantity,
        "price": booking.price, "ours": book.ours, "theirs": book.theirs,
    }  # fmt: skip
    if booking.source == ESTIMATE:
        parameters["price_basis"] = booking.price_basis
    else:
        parameters["trade_ids"] = [fill.trade.trade_id for fill in booking.fills if fill.trade is not None]
    with transaction.atomic():
        positions = Position.objects.filter(pk__in=touched)
        insert_rows([events.position_reconciled(position, context.actor, **parameters) for position in positions])
