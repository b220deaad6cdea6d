"""Applying what the exchange reports about an order: its id, new fills and status.

The one place exchange reports become rows. ``apply_exchange_state`` runs in one transaction under
the order's row lock: fills already stored (same trade id) are skipped, so reporting the same
state twice changes nothing; each new fill is stored once and applied to its position by the
ledger (through ``orders.hooks``); the order's totals, status, events and outbox rows follow in
the same transaction. Redis follows after commit; protective orders after that.

Only trades become fills (issue 9, kinds 6 and 12). A report whose filled quantity its own trades
do not explain (a running total: filled quantity and average, no trades) has the order's trades
fetched first, outside the transaction; each trade is then booked once, at its own price, however
the exchange reported it. When the trades still do not add up, the order is never called
``filled`` (or ended): it stays live with what its trades explain, an ``incomplete_report`` event
says what is missing, and the next poll tries again.

Fees are kept as the exchange reports them: a rebate is a negative fee; a fee in the base coin is
converted to the settlement currency at the trade's price; any other currency stays apart
(``other_fees``), never added to a USDT figure (SPEC 4, "Fees").

Statement budget of one fill that opens or adds to a position: BEGIN, the order's lock, the
position's lock (and its UPDATE when it exists), the order's UPDATE, one INSERT for every new row
(fill, new position, events, outbox rows), COMMIT.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import events, hooks, projection
from orders.models import Order, OrderEvent, OrderFill
from orders.transitions import next_status
from tradingcore import db, pnl
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import ZERO, plain, quantize
from tradingcore.enums import Liquidity, OrderStatus
from tradingcore.exceptions import ExchangeError
from tradingcore.exchange import ExchangeFill, ExchangeGateway, ExchangeOrder, get_gateway, instruments

logger = logging.getLogger(__name__)

ATTEMPTS = 3
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUS_EVENTS = {
    OrderStatus.FILLED: "order.filled",
    OrderStatus.PARTIALLY_FILLED: "order.partially_filled",
    OrderStatus.CANCELLED: "order.canceled",
    OrderStatus.EXPIRED: "order.canceled",
    OrderStatus.REJECTED: "order.failed",
}


def apply_exchange_state(
    order: Order, remote: ExchangeOrder, *, actor: str, gateway: ExchangeGateway | None = None
) -> Order:
    """Apply ``remote`` (the exchange's view of ``order``) and return the updated row. Idempotent.

    Call outside any transaction: when ``remote``'s trades do not explain its filled quantity,
    the order's trades are fetched from the exchange (``gateway``, default the account's) first.
    ``order`` is a row of the order as the caller holds it: only its ids, totals and position are
    used; the current row is read again under lock. A concurrent entry that created the same
    position first makes the insert fail; the whole transaction is then retried and adds to that
    position. Raises ``IntegrityError`` if that keeps happening, and the database's errors.
    """
    remote = with_trades(order, remote, gateway)
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


def apply_in_transaction(order: Order, remote: ExchangeOrder, *, actor: str) -> tuple[Order, bool]:
    """``apply_exchange_state`` inside the caller's transaction, for a report whose trades explain
    all of its filled quantity (nothing is fetched). Returns the updated row and whether a fill
    touched a position: the caller then runs ``hooks.after_fills`` after its commit. Lets a caller
    check, under the same locks, that what it decided from still holds (``positions.adjustments``).
    """
    assert transaction.get_connection().in_atomic_block, "apply_in_transaction needs the caller's transaction"
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _apply(order, remote, actor, optimistic=attempt == 1)
        except IntegrityError:  # rolled back to the savepoint of _apply; retried as apply_exchange_state does
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def lock(order: Order) -> Order:
    """The order's row locked for this transaction, with its position locked in the same query
    when it has one (an inner join: PostgreSQL cannot lock the empty side of an outer join)."""
    if order.position_id is None:
        [locked] = db.select(Order, where={"pk": order.pk}, lock=True)
    else:
        [locked] = db.select(Order, where={"pk": order.pk}, related="position", lock=True)
    return locked


def with_trades(order: Order, remote: ExchangeOrder, gateway: ExchangeGateway | None = None) -> ExchangeOrder:
    """``remote`` with the trades behind its filled quantity (outside any transaction).

    When the report says more is filled than we hold and its own trades do not add up to its
    filled quantity, the order's trades are fetched and added (by trade id). A failure to fetch
    them is logged and leaves ``remote`` as it is: the order then stays live (see ``_apply``).
    """
    listed = sum((fill.quantity for fill in remote.fills), ZERO)
    if remote.filled_qty <= order.filled_qty or listed >= remote.filled_qty:
        return remote
    gateway = gateway or get_gateway(order.user_id, order.exchange)
    try:
        fetched = gateway.fetch_order_trades(
            order.symbol,
            exchange_order_id=remote.exchange_order_id or order.exchange_order_id,
            client_order_id=order.client_order_id or None,
        )
    except ExchangeError as exc:
        logger.warning("order %s: trades behind filled %s not available yet: %s", order.pk, remote.filled_qty, exc)
        return remote
    trades = {fill.trade_id: fill for fill in remote.fills}
    for fill in fetched:
        trades.setdefault(fill.trade_id, fill)
    return replace(remote, fills=tuple(trades.values()))


def _apply(order: Order, remote: ExchangeOrder, actor: str, *, optimistic: bool) -> tuple[Order, bool]:
    changeset = ChangeSet(optimistic=optimistic)
    with transaction.atomic():
        order = lock(order)
        previous = OrderStatus(order.status)
        acknowledged = _take_exchange_id(order, remote)
        recorded = (_record_fill(order, fill, changeset, actor) for fill in _new_fills(order, remote))
        fills = [row for row in recorded if row is not None]
        missing = remote.filled_qty - order.filled_qty
        reported = OrderStatus(remote.status) if missing <= 0 else _still_live(order)
        order.status = next_status(previous, reported, filled_qty=order.filled_qty, quantity=order.quantity)
        if remote.reject_reason and order.status == OrderStatus.REJECTED:
            order.last_error = remote.reject_reason[:1000]
        incomplete = _incomplete_report(order, remote, missing, actor) if missing > 0 else None
        if incomplete is not None:
            changeset.insert(incomplete)
        if acknowledged or fills or order.status != previous or incomplete is not None:
            _save_change(order, previous, acknowledged, fills, changeset, actor)
    return order, bool(fills)


def _still_live(order: Order) -> OrderStatus:
    """What an order whose fills we cannot all book yet may say: live, with what its trades explain."""
    return OrderStatus.PARTIALLY_FILLED if order.filled_qty > 0 else OrderStatus.OPEN


def _incomplete_report(order: Order, remote: ExchangeOrder, missing: Decimal, actor: str) -> OrderEvent | None:
    """One ``incomplete_report`` event per reported filled quantity the trades do not explain
    (repeated polls of the same report add nothing)."""
    reported = plain(remote.filled_qty)
    last = OrderEvent.objects.filter(order=order, type=OrderEvent.Type.INCOMPLETE_REPORT).order_by("-id").first()
    if last is not None and last.parameters.get("reported_filled_qty") == reported:
        return None
    logger.warning(
        "order %s: the exchange reports %s filled, its trades explain %s", order.pk, reported, order.filled_qty
    )
    return events.order_incomplete_report(
        order, actor, reported_status=remote.status.value, reported_filled_qty=reported,
        booked_filled_qty=plain(order.filled_qty), missing_qty=plain(missing),
    )  # fmt: skip


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
    """The reported trades not stored yet, oldest first."""
    known: set[str] = set()
    if order.filled_qty > 0:  # under the order's lock no fill exists while nothing is filled
        known = set(OrderFill.objects.filter(order=order).values_list("trade_id", flat=True))
    listed = [fill for fill in remote.fills if fill.trade_id not in known]
    if len(listed) > 1:
        listed.sort(key=lambda fill: fill.timestamp or EPOCH)
    return listed


def _record_fill(order: Order, fill: ExchangeFill, changeset: ChangeSet, actor: str) -> OrderFill | None:
    """Build one fill row (inserted with the change), advance the order's totals and apply it to
    the position. A fill beyond the order's quantity is trimmed, or ignored when nothing is left."""
    qty = min(fill.quantity, order.quantity - order.filled_qty)
    if qty <= 0:
        logger.warning("order %s: fill %s beyond the order quantity ignored", order.pk, fill.trade_id)
        return None
    if qty < fill.quantity:
        logger.warning("order %s: fill %s trimmed from %s to %s", order.pk, fill.trade_id, fill.quantity, qty)
    fee, fee_currency, fees, other = _fees(order, fill, qty)
    row = OrderFill(
        order=order,
        exchange=order.exchange,
        trade_id=fill.trade_id,
        price=quantize(fill.price),
        quantity=qty,
        fee=fee,
        fee_currency=fee_currency,
        fees=fees,
        liquidity=fill.liquidity,
        filled_at=fill.timestamp or timezone.now(),
    )
    _advance_totals(order, row, other)
    hooks.apply_fill(order, row, changeset, actor)
    return row


def _fees(
    order: Order, fill: ExchangeFill, qty: Decimal
) -> tuple[Decimal, str, list[dict[str, str]], dict[str, Decimal]]:
    """A trade's fees as stored: the settlement-currency figure and its currency, the fees as
    reported (kept when there is more than the settlement currency alone), and the amounts in
    other currencies. A trimmed trade keeps its share."""
    reported = fill.all_fees
    share = qty / fill.quantity
    if len(reported) <= 1 and (not reported or reported[0].currency in ("", _settle(order))):
        amount = reported[0].amount if reported else ZERO
        return quantize(amount * share), (reported[0].currency if reported else "") or _settle(order), [], {}
    scaled = [(quantize(fee.amount * share), fee.currency) for fee in reported]
    base, settle = _currencies(order)
    split = pnl.split_fees(scaled, base=base, settle=settle, price=fill.price)
    stored = [{"amount": plain(amount), "currency": currency} for amount, currency in scaled]
    return quantize(split.settled), settle, stored, split.other


def _currencies(order: Order) -> tuple[str, str]:
    return instruments.currencies(order.exchange, order.symbol) or ("", "")


def _settle(order: Order) -> str:
    return _currencies(order)[1]


def _advance_totals(order: Order, fill: OrderFill, other_fees: dict[str, Decimal]) -> None:
    filled = order.filled_qty + fill.quantity
    notional = (order.avg_fill_price or ZERO) * order.filled_qty + fill.price * fill.quantity
    order.avg_fill_price = quantize(notional / filled)
    order.filled_qty = filled
    order.fee += fill.fee
    order.fee_currency = fill.fee_currency or order.fee_currency
    if other_fees:
        kept = {currency: Decimal(str(amount)) for currency, amount in (order.other_fees or {}).items()}
        order.other_fees = {currency: plain(amount) for currency, amount in pnl.merge_fees(kept, other_fees).items()}
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
