"""Applying what the exchange reports about an order: its id, new fills and status.

The one place exchange reports become rows. ``apply_exchange_state`` runs in one transaction under
the order's row lock: fills already stored (same trade id) are skipped, so reporting the same
state twice changes nothing; each new fill is stored once and applied to its position by the
ledger (through ``orders.hooks``); the order's totals, status, events and outbox rows follow in
the same transaction. Redis follows after commit; protective orders after that.

Statement budget of one fill that opens or adds to a position: BEGIN, the order's lock, the
position's lock (and its UPDATE when it exists), the order's UPDATE, one INSERT for every new row
(fill, new position, events, outbox rows), COMMIT.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import events, hooks, projection
from orders.models import Order, OrderFill
from orders.transitions import next_status
from tradingcore import db
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import Liquidity, OrderStatus
from tradingcore.exchange import ExchangeFill, ExchangeOrder

logger = logging.getLogger(__name__)

ATTEMPTS = 3
STATUS_EVENTS = {
    OrderStatus.FILLED: "order.filled",
    OrderStatus.PARTIALLY_FILLED: "order.partially_filled",
    OrderStatus.CANCELLED: "order.canceled",
    OrderStatus.EXPIRED: "order.canceled",
    OrderStatus.REJECTED: "order.failed",
}


def apply_exchange_state(order: Order, remote: ExchangeOrder, *, actor: str) -> Order:
    """Apply ``remote`` (the exchange's view of ``order``) and return the updated row. Idempotent.

    ``order`` is a row of the order as the caller holds it: only its id and position are used; the
    current row is read again under lock. A concurrent entry that created the same position first
    makes the insert fail; the whole transaction is then retried and adds to that position.
    Raises ``IntegrityError`` if that keeps happening, and the database's errors.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            locked, touched_position = _apply(order, remote, actor, optimistic=attempt == 1)
            break
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
    if touched_position:
        hooks.after_fills(locked, actor)
    return locked


def lock(order: Order) -> Order:
    """The order's row locked for this transaction, with its position locked in the same query
    when it has one (an inner join: PostgreSQL cannot lock the empty side of an outer join)."""
    if order.position_id is None:
        [locked] = db.select(Order, where={"pk": order.pk}, lock=True)
    else:
        [locked] = db.select(Order, where={"pk": order.pk}, related="position", lock=True)
    return locked


def _apply(order: Order, remote: ExchangeOrder, actor: str, *, optimistic: bool) -> tuple[Order, bool]:
    changeset = ChangeSet(optimistic=optimistic)
    with transaction.atomic():
        order = lock(order)
        previous = OrderStatus(order.status)
        acknowledged = _take_exchange_id(order, remote)
        recorded = (_record_fill(order, fill, changeset, actor) for fill in _new_fills(order, remote))
        fills = [row for row in recorded if row is not None]
        order.status = next_status(previous, remote.status, filled_qty=order.filled_qty, quantity=order.quantity)
        if remote.reject_reason and order.status == OrderStatus.REJECTED:
            order.last_error = remote.reject_reason[:1000]
        if acknowledged or fills or order.status != previous:
            _save_change(order, previous, acknowledged, fills, changeset, actor)
    return order, bool(fills)


def _save_change(
    order: Order, previous: OrderStatus, acknowledged: bool, fills: list[OrderFill], changeset: ChangeSet, actor: str
) -> None:
    changeset.update(order)
    moved = order.status != previous or fills
    event = STATUS_EVENTS.get(OrderStatus(order.status), "order.updated") if moved else "order.updated"
    changeset.projections.insert(0, projection.change(order, event))
    changeset.inserted[:0] = fills  # fills first: they belong before the rows that follow from them
    changeset.insert(*_events(order, previous, acknowledged, fills, actor))
    changeset.save()


def _take_exchange_id(order: Order, remote: ExchangeOrder) -> bool:
    if remote.exchange_order_id and not order.exchange_order_id:
        order.exchange_order_id = remote.exchange_order_id
        return True
    return False


def _events(order: Order, previous: OrderStatus, acknowledged: bool, fills: list[OrderFill], actor: str) -> list[Any]:
    rows = [events.order_acknowledged(order, actor)] if acknowledged else []
    rows += [events.order_filled(order, fill, actor) for fill in fills]
    if order.status != previous and order.status not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        rows.append(events.order_status_changed(order, previous, actor))
    return rows


def _new_fills(order: Order, remote: ExchangeOrder) -> list[ExchangeFill]:
    """Fills not stored yet; when the exchange lists fewer fills than its aggregate ``filled_qty``,
    the difference becomes one derived fill priced from the change in the average."""
    known: set[str] = set()
    if order.filled_qty > 0:  # under the order's lock no fill exists while nothing is filled
        known = set(OrderFill.objects.filter(order=order).values_list("trade_id", flat=True))
    listed = [fill for fill in remote.fills if fill.trade_id not in known]
    missing = remote.filled_qty - order.filled_qty - sum((fill.quantity for fill in listed), ZERO)
    if missing > 0 and remote.avg_fill_price:
        derived = _derived_fill(order, remote, listed, missing)
        if derived.trade_id not in known:
            listed.append(derived)
    return listed


def _derived_fill(order: Order, remote: ExchangeOrder, listed: list[ExchangeFill], qty: Decimal) -> ExchangeFill:
    assert remote.avg_fill_price is not None
    before_qty = order.filled_qty + sum((f.quantity for f in listed), ZERO)
    before_notional = (order.avg_fill_price or ZERO) * order.filled_qty + sum(
        (f.quantity * f.price for f in listed), ZERO
    )
    price = quantize((remote.avg_fill_price * remote.filled_qty - before_notional) / qty)
    if price <= 0:
        price = remote.avg_fill_price
    fee = max(remote.fee - order.fee - sum((f.fee for f in listed), ZERO), ZERO)
    return ExchangeFill(
        trade_id=f"{remote.exchange_order_id}:agg:{before_qty + qty}",
        price=price,
        quantity=qty,
        fee=fee,
        fee_currency=remote.fee_currency,
        timestamp=remote.timestamp,
    )


def _record_fill(order: Order, fill: ExchangeFill, changeset: ChangeSet, actor: str) -> OrderFill | None:
    """Build one fill row (inserted with the change), advance the order's totals and apply it to
    the position. A fill beyond the order's quantity is trimmed, or ignored when nothing is left."""
    qty = min(fill.quantity, order.quantity - order.filled_qty)
    if qty <= 0:
        logger.warning("order %s: fill %s beyond the order quantity ignored", order.pk, fill.trade_id)
        return None
    row = OrderFill(
        order=order,
        exchange=order.exchange,
        trade_id=fill.trade_id,
        price=quantize(fill.price),
        quantity=qty,
        fee=quantize(fill.fee),
        fee_currency=fill.fee_currency,
        liquidity=fill.liquidity,
        filled_at=fill.timestamp or timezone.now(),
    )
    _advance_totals(order, row)
    hooks.apply_fill(order, row, changeset, actor)
    return row


def _advance_totals(order: Order, fill: OrderFill) -> None:
    filled = order.filled_qty + fill.quantity
    notional = (order.avg_fill_price or ZERO) * order.filled_qty + fill.price * fill.quantity
    order.avg_fill_price = quantize(notional / filled)
    order.filled_qty = filled
    order.fee += fill.fee
    order.fee_currency = fill.fee_currency or order.fee_currency
    if fill.liquidity == Liquidity.MAKER:
        order.maker_fee += fill.fee
    else:
        order.taker_fee += fill.fee
    if filled >= order.quantity:
        order.filled_at = fill.filled_at


def mark_rejected(order_id: Any, error: Exception, actor: str) -> None:
    """The exchange refused the order (or never received it): ``rejected`` with the reason."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        previous = order.status
        if OrderStatus(previous).is_terminal:
            return
        order.status = OrderStatus.REJECTED
        order.last_error = f"{getattr(error, 'code', 'error')}: {error}"[:1000]
        event_row = events.order_status_changed(order, previous, actor, error=order.last_error)
        record_event(order, event_row, "order.failed")


def mark_outcome_unknown(order_id: Any, error: Exception, actor: str) -> None:
    """A placement whose outcome is unknown stays ``pending``; the error and an event are recorded."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.last_error = f"{getattr(error, 'code', 'error')}: {error}"[:1000]
        record_event(order, events.order_outcome_unknown(order, actor, order.last_error))


def record_event(order: Order, event_row: Any, projection_event: str = "order.updated") -> None:
    """Save ``order`` (locked and changed by the caller) with one event row, inside the caller's
    transaction; Redis follows after commit."""
    changeset = ChangeSet()
    changeset.update(order)
    changeset.insert(event_row)
    changeset.project(projection.change(order, projection_event))
    changeset.save()
