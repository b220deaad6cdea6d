"""Cancelling an order on the exchange and applying its final state."""

from __future__ import annotations

from typing import Any

from orders import events, execution, selectors, sync
from orders.models import Order
from tradingcore.db import insert_rows
from tradingcore.enums import OrderStatus
from tradingcore.exceptions import Conflict, ExchangeOrderNotFound, OrderNotCancellable
from tradingcore.exchange import get_gateway
from tradingcore.redis import outbox

SYSTEM_ACTOR = "system:order_manager"


def cancel_order(*, order_id: Any, user_id: str | None = None, actor: str = SYSTEM_ACTOR, **_scope: Any) -> Order:
    """Cancel a live order on the exchange and apply its final state.

    A cancelled order is returned as it is (a retried cancel sends nothing). Raises
    ``ObjectNotFound`` for an unknown order or another user's; ``OrderNotCancellable`` (an
    ``InvalidTransition``, a ``Conflict``) for one that filled, was rejected or expired. A
    ``pending`` order is first looked up by client order id; one the exchange does not show yet
    is a ``Conflict`` (it may still arrive) until the unknown-outcome grace has passed, when it
    is settled as never placed. Fills that raced the
    cancel are applied. An order the exchange no longer knows is settled from its trades
    (``sync.settle_forgotten``): ``cancelled`` with the fills it had, or ``filled``. ``_scope``
    takes the seeds' extra keywords (exchange, symbol) and ignores them.
    """
    order = selectors.order_row(order_id, user_id=user_id)
    status = OrderStatus(order.status)
    if status == OrderStatus.CANCELLED:
        return order  # a retried cancel: already done, nothing is sent
    if status.is_terminal:
        raise OrderNotCancellable(
            f"order {order.pk} is already {status.value}: there is nothing to cancel",
            details={"status": status.value},
        )
    gateway = get_gateway(order.user_id, order.exchange)
    with outbox.deferred():
        if not order.exchange_order_id:
            order = sync.resolve_by_client_id(order, gateway=gateway, actor=actor)
            if OrderStatus(order.status).is_terminal:
                return order
            if not order.exchange_order_id:
                raise Conflict(
                    "the order is still being placed and the exchange does not show it yet; retry the cancel shortly",
                    details={"status": order.status, "client_order_id": order.client_order_id},
                )
        insert_rows([events.order_cancel_requested(order, actor)])  # the order itself has not changed yet
        try:
            remote = gateway.cancel_order(
                order.symbol, exchange_order_id=order.exchange_order_id, client_order_id=order.client_order_id
            )
        except ExchangeOrderNotFound as exc:
            # The exchange has forgotten the order: settle it from its trades now (issue 9, kind 2).
            return sync.missed(order, gateway=gateway, actor=actor, error=exc, settle_now=True)
        return execution.apply_exchange_state(order, remote, actor=actor, gateway=gateway)
