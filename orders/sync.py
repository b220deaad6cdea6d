"""Bringing an order row in line with the exchange: poll once, or resolve an unknown placement.

``refresh_order`` polls a live order and applies what changed (the fill watcher, reconciliation
and the monitor use it). ``resolve_by_client_id`` settles a ``pending`` order whose placement
outcome is unknown (a timeout, or a crash between the exchange's acceptance and our update) by
its client order id, and never places it again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders import events, execution, selectors
from orders.models import Order
from tradingcore.enums import OrderStatus
from tradingcore.exceptions import ExchangeOrderNotFound
from tradingcore.exchange import ExchangeGateway, ExchangeOrder, get_gateway

SYSTEM_ACTOR = "system:order_manager"
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
    return execution.apply_exchange_state(order, fetch(gateway, order), actor=actor)


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
    return execution.apply_exchange_state(order, remote, actor=actor)


def _record_recovery(order_id: Any, remote: ExchangeOrder, actor: str) -> None:
    with transaction.atomic():
        row = Order.objects.select_for_update().get(pk=order_id)
        if not row.exchange_order_id:
            row.exchange_order_id = remote.exchange_order_id
            execution.record_event(row, events.order_recovered(row, actor))
