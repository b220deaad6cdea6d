"""Bringing an order row in line with the exchange: poll once, or resolve an unknown placement.

``refresh_order`` polls a live order and applies what changed (the fill watcher, reconciliation
and the monitor use it). ``resolve_by_client_id`` settles a ``pending`` order whose placement
outcome is unknown (a timeout, or a crash between the exchange's acceptance and our update) by
its client order id, and never places it again.

An acknowledged order the exchange says it does not know (OKX 51603) is counted
(``Order.exchange_misses``, a ``not_found`` event each time); after ``MISSES_TO_SETTLE`` answers in
a row (or at once when a cancel asks for it) it is settled from the exchange's trades of that
order: ``filled`` with its fills when they cover its quantity, otherwise ``cancelled`` with the
fills it had (issue 9, kind 2). The fills go through the ledger like any other, so they change
the order's position and never open a second one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders import events, execution, selectors
from orders.models import Order
from tradingcore.decimals import ZERO
from tradingcore.enums import OrderSide, OrderStatus, OrderType
from tradingcore.exceptions import ExchangeOrderNotFound
from tradingcore.exchange import ExchangeGateway, ExchangeOrder, get_gateway

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:order_manager"
# How many "no such order" answers in a row settle an acknowledged order from its trades.
MISSES_TO_SETTLE = 3
# How long a pending order whose placement outcome is unknown may stay unseen on the exchange
# before we conclude it never arrived.
UNKNOWN_OUTCOME_GRACE = timedelta(seconds=60)


def refresh_order(*, order_id: Any, user_id: str | None = None, actor: str = SYSTEM_ACTOR) -> Order:
    """Poll the exchange once for one order and apply what changed; a terminal order is returned as is.

    Raises ``ObjectNotFound`` for an unknown order or another user's, and the gateway's errors.
    """
    order = selectors.order_row(order_id, user_id=user_id)
    if OrderStatus(order.status).is_terminal:
        return order
    gateway = get_gateway(order.user_id, order.exchange)
    if not order.exchange_order_id:
        return resolve_by_client_id(order, gateway=gateway, actor=actor)
    try:
        remote = fetch(gateway, order)
    except ExchangeOrderNotFound as exc:
        return missed(order, gateway=gateway, actor=actor, error=exc)
    if order.exchange_misses:
        Order.objects.filter(pk=order.pk).update(exchange_misses=0)
    return execution.apply_exchange_state(order, remote, actor=actor, gateway=gateway)


def missed(order: Order, *, gateway: ExchangeGateway, actor: str, error: Exception, settle_now: bool = False) -> Order:
    """Count one "no such order" answer about an acknowledged order; settle it from its trades
    after ``MISSES_TO_SETTLE`` in a row, or at once with ``settle_now``. Returns the row."""
    with transaction.atomic():
        row = Order.objects.select_for_update().get(pk=order.pk)
        if OrderStatus(row.status).is_terminal:
            return row
        row.exchange_misses += 1
        execution.record_event(row, events.order_not_found(row, actor, error=str(error)[:500]))
    if row.exchange_misses < MISSES_TO_SETTLE and not settle_now:
        return row
    return settle_forgotten(row, gateway=gateway, actor=actor)


def settle_forgotten(order: Order, *, gateway: ExchangeGateway, actor: str) -> Order:
    """Settle an order the exchange no longer knows from its trades (outside any transaction):
    ``filled`` when they cover the quantity, else ``cancelled`` keeping the fills it had.

    Raises the gateway's errors other than ``ExchangeOrderNotFound`` (the order then stays as it
    is and the next poll tries again).
    """
    try:
        trades = gateway.fetch_order_trades(
            order.symbol, exchange_order_id=order.exchange_order_id, client_order_id=order.client_order_id or None
        )
    except ExchangeOrderNotFound:
        trades = []
    filled = sum((trade.quantity for trade in trades), ZERO)
    status = OrderStatus.FILLED if filled >= order.quantity else OrderStatus.CANCELLED
    remote = ExchangeOrder(
        exchange_order_id=order.exchange_order_id or "", client_order_id=order.client_order_id,
        symbol=order.symbol, side=OrderSide(order.side), order_type=OrderType(order.order_type), status=status,
        quantity=order.quantity, filled_qty=filled, fills=tuple(trades),
        reject_reason="the exchange no longer knows the order",
    )  # fmt: skip
    logger.warning("order %s: unknown to the exchange; settled as %s from %d trade(s)", order.pk, status, len(trades))
    with transaction.atomic():
        row = Order.objects.select_for_update().get(pk=order.pk)
        event = events.order_not_found(row, actor, settled_as=status.value, trades=len(trades), filled_qty=filled)
        execution.record_event(row, event)
    return execution.apply_exchange_state(row, remote, actor=actor, gateway=gateway)


def fetch(gateway: ExchangeGateway, order: Order) -> ExchangeOrder:
    """The exchange's view of ``order``, by exchange id and client order id."""
    return gateway.fetch_order(
        order.symbol, exchange_order_id=order.exchange_order_id, client_order_id=order.client_order_id
    )


def resolve_by_client_id(
    order: Order, *, gateway: ExchangeGateway | None = None, actor: str = SYSTEM_ACTOR, grace: timedelta | None = None
) -> Order:
    """Settle a ``pending`` order by its client order id: found, apply it; not found and older than
    ``grace``, it never reached the exchange and becomes ``rejected``. Never places it again."""
    gateway = gateway or get_gateway(order.user_id, order.exchange)
    grace = UNKNOWN_OUTCOME_GRACE if grace is None else grace
    try:
        remote = gateway.fetch_order(order.symbol, client_order_id=order.client_order_id)
    except ExchangeOrderNotFound:
        if timezone.now() - order.created_at < grace:
            return order
        execution.mark_rejected(order.pk, ExchangeOrderNotFound("never acknowledged by the exchange"), actor)
        return Order.objects.get(pk=order.pk)
    _record_recovery(order.pk, remote, actor)
    return execution.apply_exchange_state(order, remote, actor=actor, gateway=gateway)


def _record_recovery(order_id: Any, remote: ExchangeOrder, actor: str) -> None:
    with transaction.atomic():
        row = Order.objects.select_for_update().get(pk=order_id)
        if not row.exchange_order_id:
            row.exchange_order_id = remote.exchange_order_id
            execution.record_event(row, events.order_recovered(row, actor))
