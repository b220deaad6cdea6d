"""Keeping a position's stop-loss and take-profit orders in line with the position.

Protective orders are reduce-only trigger orders (``stop_loss`` / ``take_profit``) linked to the
position and carrying its side and margin mode. A position's ``stop_loss_price`` and
``take_profit_price`` name a protective order that stands on the exchange: a caller is never told
of a stop the exchange does not hold (issue 9, kind 1).

- ``check_prices`` refuses, before anything is sent, a stop-loss or take-profit already through
  the market (a long's stop at or above the mark, its take-profit at or below it; the opposite
  for a short): the exchange would refuse it, or fire it at once.
- ``replace_protection`` (``update_position``) places the new order first and cancels the old one
  only once the new one stands; a refusal keeps the old order and price, records a
  ``protection_refused`` event and raises ``ProtectionRefused``.
- ``sync_protective_orders`` runs after every fill of a protected position (``after_fills``,
  registered with ``orders.hooks``) and keeps one order per price sized to the position. A live
  order whose *remaining* quantity equals the size keeps protecting (a partly filled stop is
  never replaced). A refused replacement keeps what still stands; when nothing of that role is
  left, the price is cleared with a ``protection_refused`` event.

Everything here calls the exchange, so it runs outside any transaction, under the position's
advisory lock (``tradingcore.locks.position_lock``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q

from orders import cancellation, placement
from orders import selectors as order_selectors
from orders.models import Order
from orders.requests import OrderSpec
from positions import events, projection
from positions.models import Position
from tradingcore import db, locks
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import plain
from tradingcore.enums import (
    LIVE_ORDER_STATUSES,
    Exchange,
    MarginMode,
    OrderRole,
    OrderType,
    PositionSide,
    PositionStatus,
)
from tradingcore.exceptions import Conflict, ExchangeError, InvalidOrder, OrderRejected, ProtectionRefused
from tradingcore.exchange import ExchangeGateway, get_gateway

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:position_manager"
PROTECTIVE_ORDER_TYPES = {OrderRole.STOP_LOSS: OrderType.STOP_LOSS, OrderRole.TAKE_PROFIT: OrderType.TAKE_PROFIT}
PRICE_FIELDS = {OrderRole.STOP_LOSS: "stop_loss_price", OrderRole.TAKE_PROFIT: "take_profit_price"}
ROLE_OF_FIELD = {field: role for role, field in PRICE_FIELDS.items()}


@dataclass(frozen=True)
class Refusal:
    """A protective order the exchange refused: its role, the price asked, the reason, and the
    price of the order that still protects the position (None when none does)."""

    role: OrderRole
    price: Decimal
    reason: str
    kept_price: Decimal | None

    def as_details(self) -> dict[str, Any]:
        return {
            "field": PRICE_FIELDS[self.role], "role": self.role.value, "price": plain(self.price),
            "reason": self.reason, "kept_price": None if self.kept_price is None else plain(self.kept_price),
        }  # fmt: skip


# -- checks before anything is sent ------------------------------------------------------------------


def through_the_market(side: PositionSide, role: OrderRole, price: Decimal, reference: Decimal) -> bool:
    """Whether a protective order at ``price`` would fire at once with the market at ``reference``.

    A long's stop-loss must be below the market and its take-profit above; a short's the reverse.
    """
    below = price < reference
    above = price > reference
    if role == OrderRole.STOP_LOSS:
        return not below if side == PositionSide.LONG else not above
    return not above if side == PositionSide.LONG else not below


def triggered_fields(side: PositionSide, prices: dict[str, Decimal | None], reference: Decimal) -> list[str]:
    """The price fields (``stop_loss_price``, ``take_profit_price``) through the market at ``reference``."""
    return [
        field for field, price in prices.items()
        if price is not None and through_the_market(side, ROLE_OF_FIELD[field], price, reference)
    ]  # fmt: skip


def check_prices(side: PositionSide, prices: dict[str, Decimal | None], reference: Decimal, *, basis: str) -> None:
    """``InvalidOrder`` naming each protective price through the market at ``reference`` (``basis``
    says what the reference is: "the mark", "the entry price")."""
    fields = triggered_fields(side, prices, reference)
    if not fields:
        return
    details = {field: [_through_message(side, field, reference, basis)] for field in fields}
    raise InvalidOrder(
        f"{'; '.join(message for messages in details.values() for message in messages)}: nothing was sent",
        details=details,
    )


def _through_message(side: PositionSide, field: str, reference: Decimal, basis: str) -> str:
    role = ROLE_OF_FIELD[field]
    must_be = "below" if (role == OrderRole.STOP_LOSS) == (side == PositionSide.LONG) else "above"
    return f"a {side.value}'s {role.label.lower()} must be {must_be} {basis} {plain(reference)}"


def mark_of(gateway: ExchangeGateway, symbol: str) -> Decimal:
    """The mark the protective prices are checked against."""
    return gateway.fetch_mark_price(symbol)


# -- update_position -----------------------------------------------------------------------------------


def replace_protection(position: Position, prices: dict[str, Decimal | None], actor: str) -> None:
    """Move the position's stop-loss / take-profit to ``prices`` (field -> price, None removes).

    Call under ``locks.position_lock``. Each new order is placed first; the old one is cancelled
    and the new price saved only once the new one stands. Raises ``ProtectionRefused`` (old
    order and price kept, event recorded) when the exchange refuses a new order, and the
    exchange's errors (``ExchangeUnavailable``, ``OrderOutcomeUnknown``) with nothing changed.
    """
    live = order_selectors.live_orders_of_position(position.pk, roles=PROTECTIVE_ORDER_TYPES)
    for field, price in prices.items():
        role = ROLE_OF_FIELD[field]
        old = [order for order in live if order.role == role]
        if price is not None and not any(_protects(order, position, price) for order in old):
            try:
                place_protective_order(position, role, price, actor)
            except OrderRejected as exc:
                refusal = Refusal(role, price, exc.message, getattr(position, field))
                _record_refusals(position, [refusal], actor, clear=False)
                raise ProtectionRefused(
                    f"{role.label.lower()} at {plain(price)} refused by the exchange ({exc.message}); "
                    f"the position keeps {_kept(refusal)}",
                    details={"position_id": str(position.pk), **refusal.as_details()},
                ) from exc
        for order in old:
            if price is None or not _protects(order, position, price):
                cancellation.cancel_order(order_id=order.pk, actor=actor)
        _save_price(position, field, price, actor)


def _kept(refusal: Refusal) -> str:
    if refusal.kept_price is None:
        return f"no {refusal.role.label.lower()}"
    return f"its {refusal.role.label.lower()} at {plain(refusal.kept_price)}"


def _save_price(position: Position, field: str, price: Decimal | None, actor: str) -> None:
    with transaction.atomic():
        row = Position.objects.select_for_update().get(pk=position.pk)
        if getattr(row, field) == price:
            return
        setattr(row, field, price)
        setattr(position, field, price)
        _save(row, [events.position_protection_changed(row, actor, **{field: price})])


# -- after fills -----------------------------------------------------------------------------------------


def after_fills(order: Order, actor: str) -> None:
    """After the commit of fills: re-sync the touched position's protection when it has any."""
    if not Order.position.is_cached(order) or order.position is None:  # type: ignore[attr-defined]
        return
    position: Position = order.position
    if position.status == PositionStatus.CLOSED:
        cancel_leftover_reduce_only_orders(position, actor=actor)
    protected = position.stop_loss_price is not None or position.take_profit_price is not None
    if protected or OrderRole(order.role).is_protective:
        sync_protective_orders(position.pk, actor=actor)


def cancel_leftover_reduce_only_orders(position: Position, *, actor: str = SYSTEM_ACTOR) -> int:
    """After a full close: cancel the reduce-only orders still resting for the closed position, as
    the exchanges do when a position is closed (outside any transaction). Otherwise such an order
    would wait for the next position of the same side and close it, unasked.

    Cancels the live non-protective reduce-only orders of the position, and those of the same
    user, exchange, symbol, side and grid level linked to no position, placed before the close,
    while we hold no other open position on that side. Returns how many were cancelled;
    exchange errors are logged (the order then stays live and the fill watcher follows it).
    """
    live = db.select(
        Order,
        where={"user_id": position.user_id, "exchange": position.exchange, "symbol": position.symbol,
               "position_side": position.side, "status__in": sorted(LIVE_ORDER_STATUSES)},
    )  # fmt: skip
    leftovers = [
        order for order in live
        if order.reduce_only and order.role not in PROTECTIVE_ORDER_TYPES and order.exchange_order_id
        and (position.closed_at is None or order.created_at <= position.closed_at)
        and (order.position_id == position.pk
             or (order.position_id is None and order.grid_level == position.grid_level))
    ]  # fmt: skip
    if any(order.position_id is None for order in leftovers) and _side_still_open(position):
        leftovers = [order for order in leftovers if order.position_id == position.pk]
    cancelled = 0
    for leftover in leftovers:
        try:
            cancellation.cancel_order(order_id=leftover.pk, actor=actor)
        except (ExchangeError, Conflict) as exc:  # down, or it ended meanwhile: the watcher follows it
            logger.warning("position %s closed: reduce-only order %s not cancelled: %s", position.pk, leftover.pk, exc)
            continue
        cancelled += 1
    return cancelled


def sync_protective_orders(position_id: Any, *, actor: str = SYSTEM_ACTOR) -> list[Refusal]:
    """Make the live stop-loss / take-profit orders match the position (outside any transaction).

    Returns the refusals (each also recorded as a ``protection_refused`` event). Exchange
    outages are logged and left for the next sync: nothing that stands is cancelled then.
    """
    with locks.position_lock(position_id):
        return _sync(Position.objects.get(pk=position_id), actor)


def resync_unprotected(actor: str = SYSTEM_ACTOR) -> int:
    """Watcher task: sync every open position whose stop-loss or take-profit price has no live
    order standing for it (one that was not placed because the exchange was down, or that the
    exchange cancelled). Returns how many positions it synced."""
    unprotected = Q()
    for role, field in PRICE_FIELDS.items():
        standing = (
            Order.objects.filter(position_id=OuterRef("pk"), role=role, status__in=list(LIVE_ORDER_STATUSES),
                                 trigger_price=OuterRef(field))
            .annotate(remaining=F("quantity") - F("filled_qty"))
            .filter(remaining=OuterRef("size"))
        )  # fmt: skip
        unprotected |= Q(~Exists(standing), **{f"{field}__isnull": False})
    ids = list(Position.objects.filter(unprotected, status=PositionStatus.OPEN).values_list("pk", flat=True)[:100])
    for position_id in ids:
        try:
            sync_protective_orders(position_id, actor=actor)
        except ExchangeError as exc:
            logger.warning("position %s: protection not synced: %s", position_id, exc)
    return len(ids)


def _sync(position: Position, actor: str) -> list[Refusal]:
    live = order_selectors.live_orders_of_position(position.pk, roles=PROTECTIVE_ORDER_TYPES)
    desired = desired_protection(position)
    refusals = []
    for role in PROTECTIVE_ORDER_TYPES:
        price = desired.get(role)
        orders = [order for order in live if order.role == role]
        standing = next((order for order in orders if price is not None and _protects(order, position, price)), None)
        if price is not None and standing is None:
            try:
                standing = place_protective_order(position, role, price, actor)
            except OrderRejected as exc:
                kept = _trigger_of_first(orders)
                refusals.append(Refusal(role, price, exc.message, kept))
                continue  # keep whatever of this role still stands
            except ExchangeError as exc:
                logger.warning("position %s: %s not replaced yet: %s", position.pk, role.value, exc)
                continue
        for order in orders:
            if order is not standing:
                _quietly(cancellation.cancel_order, order_id=order.pk, actor=actor)
    if refusals:
        _record_refusals(position, refusals, actor, clear=True)
    return refusals


def _side_still_open(position: Position) -> bool:
    """Whether we hold another open position on the closed one's side (another grid level)."""
    where = {"user_id": position.user_id, "exchange": position.exchange, "symbol": position.symbol,
             "side": position.side, "status": PositionStatus.OPEN}  # fmt: skip
    return bool(db.select(Position, where=where, limit=1))


def _trigger_of_first(orders: Iterable[Order]) -> Decimal | None:
    return next((order.trigger_price for order in orders), None)


def _protects(order: Order, position: Position, price: Decimal) -> bool:
    """A live order at ``price`` whose remaining quantity covers exactly the open size."""
    return order.trigger_price == price and order.quantity - order.filled_qty == position.size


def _record_refusals(position: Position, refusals: list[Refusal], actor: str, *, clear: bool) -> None:
    """One ``protection_refused`` event per refusal; with ``clear``, a price no live order stands
    for any more is cleared (the position never shows a stop the exchange does not hold)."""
    with transaction.atomic():
        row = Position.objects.select_for_update().get(pk=position.pk)
        rows = []
        for refusal in refusals:
            field = PRICE_FIELDS[refusal.role]
            if clear and refusal.kept_price is None and getattr(row, field) is not None:
                setattr(row, field, None)
                setattr(position, field, None)
            logger.warning("position %s: %s refused: %s", row.pk, field, refusal.reason)
            rows.append(events.position_protection_refused(row, actor, **refusal.as_details()))
        _save(row, rows)


def _save(row: Position, event_rows: list[Any]) -> None:
    changeset = ChangeSet()
    changeset.update(row)
    changeset.insert(*event_rows)
    changeset.project(projection.change(row, "position.updated"))
    changeset.save()


def desired_protection(position: Position) -> dict[OrderRole, Decimal]:
    """The protective orders an open position should have: role -> trigger price."""
    if position.status != PositionStatus.OPEN:
        return {}
    prices = {role: getattr(position, field) for role, field in PRICE_FIELDS.items()}
    return {role: price for role, price in prices.items() if price is not None}


def place_protective_order(position: Position, role: OrderRole, trigger: Decimal, actor: str) -> Order:
    """Place one reduce-only trigger order for the whole position, with its side and margin mode."""
    side = PositionSide(position.side)
    spec = OrderSpec(
        user_id=position.user_id, exchange=Exchange(position.exchange), symbol=position.symbol,
        side=side.exit_order_side, order_type=PROTECTIVE_ORDER_TYPES[role], quantity=position.size,
        trigger_price=trigger, reduce_only=True, grid_level=position.grid_level, role=role,
        position_side=side, margin_mode=MarginMode(position.margin_mode), position_id=position.pk,
    )  # fmt: skip
    gateway = get_gateway(position.user_id, position.exchange)
    return placement.place(spec, market=gateway.market(position.symbol), gateway=gateway, actor=actor)


def _quietly(function: Any, *args: Any, **kwargs: Any) -> Any:
    # An outage, an order that ended meanwhile, or one still in doubt (saved by a process that died
    # before the exchange showed it): the next sync, or the fill watcher, settles it; the request
    # whose fill started this sync has happened and must not fail for it.
    try:
        return function(*args, **kwargs)
    except (ExchangeError, Conflict) as exc:
        logger.warning("protective order sync: %s", exc)
        return None
