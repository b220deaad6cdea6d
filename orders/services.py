"""Order lifecycle: create, submit, apply exchange state, cancel, refresh, resolve unknown outcomes.

Every write path follows the same shape: a short transaction under row locks that changes the
rows, writes the event and the outbox row, and commits; the exchange is called only outside any
transaction; Redis follows after commit through the outbox. The position side of every fill is
applied by ``positions.services.apply_fill``, so positions change only through fills.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from orders import events, selectors, validation
from orders.models import Order, OrderFill
from orders.transitions import check_transition, next_status
from positions import services as position_services
from tradingcore import dto
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import LIVE_ORDER_STATUSES as LIVE
from tradingcore.enums import (
    Liquidity,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from tradingcore.exceptions import (
    Conflict,
    ExchangeOrderNotFound,
    ExchangeUnavailable,
    InvalidTransition,
    NotFound,
    OrderOutcomeUnknown,
    OrderRejected,
)
from tradingcore.exchange import ExchangeFill, ExchangeGateway, ExchangeOrder, OrderRequest, get_gateway
from tradingcore.facades import pick, with_async_twins
from tradingcore.redis import outbox

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:order_manager"
# How long a pending order whose placement outcome is unknown may stay unseen on the exchange
# before we conclude it never arrived.
UNKNOWN_OUTCOME_GRACE = timedelta(seconds=60)

_STATUS_EVENTS = {
    OrderStatus.FILLED: "order.filled",
    OrderStatus.PARTIALLY_FILLED: "order.partially_filled",
    OrderStatus.CANCELLED: "order.canceled",
    OrderStatus.EXPIRED: "order.canceled",
    OrderStatus.REJECTED: "order.failed",
}


def create_order(*, actor: str = SYSTEM_ACTOR, position_id: Any = None, **raw: Any) -> Order:
    """Validate, save ``pending`` (committed), place on the exchange, apply the answer.

    A caller-supplied ``client_order_id`` makes the call idempotent: a retry returns the order
    saved the first time and never places a second one. Raises ``InvalidInput`` /
    ``InvalidOrder`` before anything is saved or sent; ``OrderRejected`` (the order is kept as
    ``rejected``); ``OrderOutcomeUnknown`` / ``ExchangeUnavailable`` (the order stays ``pending``
    and the fill watcher resolves it by client order id).
    """
    spec = validation.order_spec(**raw)
    existing = _existing_for_client_id(spec.client_order_id, spec.user_id)
    if existing is not None:
        return existing
    gateway = get_gateway(spec.user_id, spec.exchange)
    market = gateway.market(spec.symbol)
    quantity = market.to_base(market.to_contracts(spec.quantity))
    spec = replace(spec, metadata={**spec.metadata, "contract_size": str(market.contract_size)})
    try:
        order = save_pending_order(spec, symbol=market.symbol, quantity=quantity, position_id=position_id, actor=actor)
    except IntegrityError:
        # A concurrent retry with the same client order id won the insert.
        existing = _existing_for_client_id(spec.client_order_id, spec.user_id)
        if existing is None:
            raise
        return existing
    return submit_order(order, gateway=gateway, actor=actor)


def save_pending_order(
    spec: validation.OrderSpec, *, symbol: str, quantity: Decimal, position_id: Any = None, actor: str
) -> Order:
    """Insert the order as ``pending`` with its event and outbox row (joins an open transaction)."""
    position_side = spec.position_side or validation.position_side_for(spec.side, spec.reduce_only)
    metadata = {**spec.metadata, "position_side": position_side.value}
    with transaction.atomic():
        order = Order(
            user_id=spec.user_id,
            exchange=spec.exchange,
            symbol=symbol,
            side=spec.side,
            order_type=spec.order_type,
            quantity=quantity,
            price=spec.price,
            trigger_price=spec.trigger_price,
            reduce_only=spec.reduce_only,
            post_only=spec.post_only,
            time_in_force=spec.time_in_force,
            grid_level=spec.grid_level,
            position_id=position_id,
            metadata=metadata,
        )
        if spec.client_order_id:
            order.client_order_id = spec.client_order_id
        order.full_clean(validate_unique=False, validate_constraints=False)
        order.save(force_insert=True)
        events.order_created(order, actor)
        outbox.record_order_change(order, "order.created")
    return order


def submit_order(order: Order, *, gateway: ExchangeGateway | None = None, actor: str = SYSTEM_ACTOR) -> Order:
    """Place a saved ``pending`` order on the exchange (outside any transaction) and apply the answer."""
    gateway = gateway or get_gateway(order.user_id, order.exchange)
    try:
        result = gateway.place_order(_request_for(order))
    except OrderRejected as exc:
        _mark_rejected(order.pk, exc, actor)
        raise
    except (OrderOutcomeUnknown, ExchangeUnavailable) as exc:
        _mark_outcome_unknown(order.pk, exc, actor)
        raise
    return apply_exchange_state(order.pk, result, actor=actor)


def _request_for(order: Order) -> OrderRequest:
    return OrderRequest(
        symbol=order.symbol,
        side=OrderSide(order.side),
        order_type=OrderType(order.order_type),
        quantity=order.quantity,
        client_order_id=order.client_order_id,
        price=order.price,
        trigger_price=order.trigger_price,
        reduce_only=order.reduce_only,
        post_only=order.post_only,
        time_in_force=TimeInForce(order.time_in_force),
        position_side=PositionSide(order.metadata.get("position_side", "long")),
        margin_mode=MarginMode(order.metadata.get("margin_mode", MarginMode.CROSS)),
    )


def apply_exchange_state(order_id: Any, remote: ExchangeOrder, *, actor: str = SYSTEM_ACTOR) -> Order:
    """Apply what the exchange reports about an order: id, new fills, status. Idempotent.

    Runs in one transaction under the order's row lock; fills already stored (same trade id) are
    skipped, so reporting the same state twice changes nothing. Each new fill is applied to the
    position. Protective orders of the touched position are re-synchronised after commit.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        previous = OrderStatus(order.status)
        acknowledged = _take_exchange_id(order, remote)
        recorded = (_record_fill(order, fill, actor) for fill in _new_fills(order, remote))
        fills = [fill for fill in recorded if fill is not None]
        status = next_status(previous, remote.status, filled_qty=order.filled_qty, quantity=order.quantity)
        order.status = status
        if remote.reject_reason and status == OrderStatus.REJECTED:
            order.last_error = remote.reject_reason[:1000]
        changed = acknowledged or fills or status != previous
        if changed:
            order.updated_at = timezone.now()
            order.save()
            _write_events(order, previous, acknowledged, fills, actor)
    if fills:
        position_services.after_fills(order, actor=actor)
    return order


def _take_exchange_id(order: Order, remote: ExchangeOrder) -> bool:
    if remote.exchange_order_id and not order.exchange_order_id:
        order.exchange_order_id = remote.exchange_order_id
        return True
    return False


def _write_events(order: Order, previous: OrderStatus, acknowledged: bool, fills: list[OrderFill], actor: str) -> None:
    if acknowledged:
        events.order_acknowledged(order, actor)
    for fill in fills:
        events.order_filled(order, fill, actor)
    if order.status != previous and order.status not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        events.order_status_changed(order, previous, actor)
    if order.status != previous or fills:
        outbox.record_order_change(order, _STATUS_EVENTS.get(OrderStatus(order.status), "order.updated"))
    elif acknowledged:
        outbox.record_order_change(order, "order.updated")


def _new_fills(order: Order, remote: ExchangeOrder) -> list[ExchangeFill]:
    """Fills not stored yet; when the exchange lists fewer fills than its aggregate ``filled_qty``,
    the difference becomes one derived fill priced from the change in the average."""
    known = set(OrderFill.objects.filter(order=order).values_list("trade_id", flat=True))
    listed = [fill for fill in remote.fills if fill.trade_id not in known]
    missing = remote.filled_qty - order.filled_qty - sum((fill.quantity for fill in listed), ZERO)
    if missing > 0 and remote.avg_fill_price:
        derived = _derived_fill(order, remote, listed, missing)
        if derived is not None and derived.trade_id not in known:
            listed.append(derived)
    return listed


def _derived_fill(order: Order, remote: ExchangeOrder, listed: list[ExchangeFill], qty: Decimal) -> ExchangeFill | None:
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


def _record_fill(order: Order, fill: ExchangeFill, actor: str) -> OrderFill | None:
    """Store one fill (once, by trade id), advance the order's totals and apply it to the position."""
    qty = min(fill.quantity, order.quantity - order.filled_qty)
    if qty <= 0:
        logger.warning("order %s: fill %s beyond the order quantity ignored", order.pk, fill.trade_id)
        return None
    try:
        with transaction.atomic():
            row = OrderFill.objects.create(
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
    except IntegrityError:
        return None  # the same trade was stored by another worker: applied once already
    _advance_totals(order, row)
    position = position_services.apply_fill(order=order, fill=row, actor=actor)
    if position is not None and order.position_id != position.pk:
        order.position = position
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


def _mark_rejected(order_id: Any, error: Exception, actor: str) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        previous = order.status
        if OrderStatus(previous).is_terminal:
            return
        order.status = OrderStatus.REJECTED
        order.last_error = f"{getattr(error, 'code', 'error')}: {error}"[:1000]
        order.save(update_fields=["status", "last_error", "updated_at"])
        events.order_status_changed(order, previous, actor, error=order.last_error)
        outbox.record_order_change(order, "order.failed")


def _mark_outcome_unknown(order_id: Any, error: Exception, actor: str) -> None:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.last_error = f"{getattr(error, 'code', 'error')}: {error}"[:1000]
        order.updated_at = timezone.now()
        order.save(update_fields=["last_error", "updated_at"])
        events.order_outcome_unknown(order, actor, order.last_error)


def cancel_order(*, order_id: Any, user_id: str | None = None, actor: str = SYSTEM_ACTOR, **_scope: Any) -> Order:
    """Cancel a live order on the exchange and apply its final state.

    Raises ``NotFound`` for an unknown order or another user's; ``InvalidTransition`` (a
    ``Conflict``) for a terminal one. A ``pending`` order is first looked up by client order id;
    one the exchange does not show yet is a ``Conflict`` (it may still arrive) until the
    unknown-outcome grace has passed, when it is settled as never placed. Fills that raced the
    cancel are applied.
    """
    order = selectors.order_row(order_id, user_id=user_id)
    check_transition(OrderStatus(order.status), OrderStatus.CANCELLED)
    gateway = get_gateway(order.user_id, order.exchange)
    if not order.exchange_order_id:
        order = resolve_by_client_id(order, gateway=gateway, actor=actor)
        if OrderStatus(order.status).is_terminal:
            return order
        if not order.exchange_order_id:
            raise Conflict(
                "the order is still being placed and the exchange does not show it yet; retry the cancel shortly",
                details={"status": order.status, "client_order_id": order.client_order_id},
            )
    with transaction.atomic():
        events.order_cancel_requested(Order.objects.select_for_update().get(pk=order.pk), actor)
    try:
        remote = gateway.cancel_order(
            order.symbol, exchange_order_id=order.exchange_order_id, client_order_id=order.client_order_id
        )
    except ExchangeOrderNotFound:
        remote = _fetch(gateway, order)
    return apply_exchange_state(order.pk, remote, actor=actor)


def refresh_order(*, order_id: Any, user_id: str | None = None, actor: str = SYSTEM_ACTOR) -> Order:
    """Poll the exchange once for one order and apply what changed."""
    order = selectors.order_row(order_id, user_id=user_id)
    if OrderStatus(order.status).is_terminal:
        return order
    gateway = get_gateway(order.user_id, order.exchange)
    if not order.exchange_order_id:
        return resolve_by_client_id(order, gateway=gateway, actor=actor)
    return apply_exchange_state(order.pk, _fetch(gateway, order), actor=actor)


def _fetch(gateway: ExchangeGateway, order: Order) -> ExchangeOrder:
    return gateway.fetch_order(
        order.symbol, exchange_order_id=order.exchange_order_id, client_order_id=order.client_order_id
    )


def resolve_by_client_id(
    order: Order, *, gateway: ExchangeGateway | None = None, actor: str = SYSTEM_ACTOR, grace: timedelta | None = None
) -> Order:
    """Settle a ``pending`` order whose placement outcome is unknown (a timeout, or a crash between
    the exchange's acceptance and our database update): look it up by client order id; found, apply
    it; not found and older than ``grace``, it never reached the exchange and becomes ``rejected``.
    Never places the order again.
    """
    gateway = gateway or get_gateway(order.user_id, order.exchange)
    grace = UNKNOWN_OUTCOME_GRACE if grace is None else grace
    try:
        remote = gateway.fetch_order(order.symbol, client_order_id=order.client_order_id)
    except ExchangeOrderNotFound:
        if timezone.now() - order.created_at < grace:
            return order
        _mark_rejected(order.pk, ExchangeOrderNotFound("never acknowledged by the exchange"), actor)
        return Order.objects.get(pk=order.pk)
    with transaction.atomic():
        row = Order.objects.select_for_update().get(pk=order.pk)
        if not row.exchange_order_id:
            row.exchange_order_id = remote.exchange_order_id
            row.save(update_fields=["exchange_order_id", "updated_at"])
            events.order_recovered(row, actor)
    return apply_exchange_state(order.pk, remote, actor=actor)


def _existing_for_client_id(client_order_id: str | None, user_id: str) -> Order | None:
    if not client_order_id:
        return None
    order = Order.objects.filter(client_order_id=client_order_id).first()
    if order is not None and order.user_id != user_id:
        raise Conflict("client_order_id is already used", details={"client_order_id": ["already used"]})
    return order


def cancel_live_orders(orders: list[Order], *, actor: str) -> list[Order]:
    """Cancel each live order, collecting failures in the log rather than stopping at the first."""
    results = []
    for order in orders:
        try:
            results.append(cancel_order(order_id=order.pk, actor=actor))
        except (InvalidTransition, NotFound):
            continue
        except ExchangeUnavailable:
            logger.warning("cancel of order %s failed: exchange unavailable", order.pk)
    return results


# --- watching fills ------------------------------------------------------------------------


def monitor_order_fills(
    order_id: Any = None,
    *,
    user_id: str,
    exchange: Any = None,
    symbol: str | None = None,
    poll_interval: float = 1.0,
    timeout: float | None = None,
    actor: str = SYSTEM_ACTOR,
) -> Iterator[dto.Order]:
    """Yield each change (status or filled quantity) of one order, or of all the user's live
    orders, polling the exchange every ``poll_interval`` seconds, until every watched order is
    terminal or ``timeout`` seconds have passed. The state at the start is not a change."""
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[Any, tuple[str, Decimal]] = {}
    for row in _watched(order_id, user_id, exchange, symbol):
        seen[row.pk] = (row.status, row.filled_qty)
    while seen and any(not OrderStatus(status).is_terminal for status, _ in seen.values()):
        for row in _poll(seen, user_id, exchange, symbol, actor):
            if seen.get(row.pk) != (row.status, row.filled_qty):
                seen[row.pk] = (row.status, row.filled_qty)
                yield dto.Order.from_row(row)
        if deadline is not None and time.monotonic() >= deadline:
            return
        if any(not OrderStatus(status).is_terminal for status, _ in seen.values()):
            time.sleep(poll_interval)


def _watched(order_id: Any, user_id: str, exchange: Any, symbol: str | None) -> list[Order]:
    if order_id is not None:
        return [selectors.order_row(order_id, user_id=user_id)]
    return list(selectors.order_queryset(user_id=user_id, exchange=exchange, symbol=symbol, status=list(LIVE)))


def _poll(seen: dict[Any, Any], user_id: str, exchange: Any, symbol: str | None, actor: str) -> list[Order]:
    rows = []
    ids = [pk for pk, (status, _) in seen.items() if not OrderStatus(status).is_terminal]
    for pk in ids:
        try:
            rows.append(refresh_order(order_id=pk, user_id=user_id, actor=actor))
        except ExchangeUnavailable as exc:
            logger.warning("monitor: order %s not refreshed: %s", pk, exc)
    return rows


# --- the public facade ---------------------------------------------------------------------


@with_async_twins
class OrderManager:
    """The in-process API of orders, with the seeds' method and keyword names.

    Every method has an ``a``-prefixed async twin (``acreate_order``); ``amonitor_order_fills``
    is an async generator. Constructor arguments of the seeds (an exchange store, a Redis client)
    are accepted and ignored. ``actor`` names who acts in the event log.
    """

    def __init__(self, *args: Any, actor: str = SYSTEM_ACTOR, **kwargs: Any) -> None:
        self.actor = actor

    def create_order(self, **kwargs: Any) -> dto.Order:
        kwargs.setdefault("actor", self.actor)
        return dto.Order.from_row(create_order(**kwargs))

    def cancel_order(self, order_id: Any = None, **kwargs: Any) -> dto.Order:
        kwargs.setdefault("actor", self.actor)
        return dto.Order.from_row(cancel_order(order_id=pick(kwargs, "order_id", default=order_id), **kwargs))

    def get_order(self, order_id: Any, *, user_id: str | None = None, **_scope: Any) -> dto.Order:
        return selectors.get_order(order_id, user_id=user_id)

    def get_orders(self, **filters: Any) -> list[dto.Order]:
        return selectors.get_orders(**filters)

    def get_open_orders(self, **filters: Any) -> list[dto.Order]:
        return selectors.get_open_orders(**filters)

    def refresh_order(self, order_id: Any, *, user_id: str | None = None, **_scope: Any) -> dto.Order:
        return dto.Order.from_row(refresh_order(order_id=order_id, user_id=user_id, actor=self.actor))

    def monitor_order_fills(self, order_id: Any = None, **kwargs: Any) -> Iterator[dto.Order]:
        kwargs.setdefault("actor", self.actor)
        return monitor_order_fills(order_id, **kwargs)

    async def amonitor_order_fills(self, order_id: Any = None, **kwargs: Any) -> AsyncIterator[dto.Order]:
        """Async twin of ``monitor_order_fills``: each poll runs in a worker thread."""
        iterator = self.monitor_order_fills(order_id, **kwargs)

        def step() -> dto.Order | None:
            try:
                return next(iterator, None)
            finally:
                connections.close_all()

        while (item := await sync_to_async(step, thread_sensitive=False)()) is not None:
            yield item
