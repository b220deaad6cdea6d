"""One small builder per order event type.

Each returns an unsaved ``OrderEvent``; the service inserts it with the other new rows of the
change (``tradingcore.db.insert_rows``), inside the transaction of the change.
"""

from __future__ import annotations

from typing import Any

from orders.models import Order, OrderEvent, OrderFill

T = OrderEvent.Type


def _event(order: Order, type_: str, actor: str, **parameters: Any) -> OrderEvent:
    return OrderEvent(order=order, type=type_, actor=actor, parameters=parameters)


def order_created(order: Order, actor: str) -> OrderEvent:
    return _event(
        order,
        T.CREATED,
        actor,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        price=order.price,
        trigger_price=order.trigger_price,
        reduce_only=order.reduce_only,
        client_order_id=order.client_order_id,
    )


def order_acknowledged(order: Order, actor: str) -> OrderEvent:
    return _event(order, T.ACKNOWLEDGED, actor, exchange_order_id=order.exchange_order_id, status=order.status)


def order_filled(order: Order, fill: OrderFill, actor: str) -> OrderEvent:
    type_ = T.FILLED if order.status == "filled" else T.PARTIALLY_FILLED
    return _event(
        order,
        type_,
        actor,
        trade_id=fill.trade_id,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        filled_qty=order.filled_qty,
    )


def order_status_changed(order: Order, previous: str, actor: str, **parameters: Any) -> OrderEvent:
    type_ = {"cancelled": T.CANCELLED, "rejected": T.REJECTED, "expired": T.EXPIRED}.get(order.status, T.ACKNOWLEDGED)
    return _event(order, type_, actor, previous=previous, status=order.status, **parameters)


def order_cancel_requested(order: Order, actor: str) -> OrderEvent:
    return _event(order, T.CANCEL_REQUESTED, actor, status=order.status)


def order_outcome_unknown(order: Order, actor: str, error: str) -> OrderEvent:
    return _event(order, T.OUTCOME_UNKNOWN, actor, error=error)


def order_recovered(order: Order, actor: str) -> OrderEvent:
    return _event(order, T.RECOVERED, actor, exchange_order_id=order.exchange_order_id, status=order.status)


def order_reconciled(order: Order, actor: str, **parameters: Any) -> OrderEvent:
    return _event(order, T.RECONCILED, actor, **parameters)


def order_not_found(order: Order, actor: str, **parameters: Any) -> OrderEvent:
    return _event(order, T.NOT_FOUND, actor, misses=order.exchange_misses, **parameters)


def order_incomplete_report(order: Order, actor: str, **parameters: Any) -> OrderEvent:
    return _event(order, T.INCOMPLETE_REPORT, actor, **parameters)
