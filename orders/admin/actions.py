"""What an operator may do to orders: cancel (``orders.cancel_order``) and ask the exchange for their
state (seeing orders is enough), each through ``OrderManager`` with ``actor="admin:<username>"``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from orders.models import Order
from orders.services import OrderManager
from tradingcore.admin.confirm import ConfirmedAction, Plan, actor, fingerprint
from tradingcore.admin.display import short_id
from tradingcore.decimals import plain
from tradingcore.enums import OrderRole, OrderStatus

PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


def order_line(order: Order) -> str:
    """One line naming an order: short id, role, what it does and how much is left."""
    at = f" @ {plain(order.price)}" if order.price is not None else ""
    trigger = f" trigger {plain(order.trigger_price)}" if order.trigger_price is not None else ""
    left = order.quantity - order.filled_qty
    kind = OrderRole(order.role).label.lower()
    kind = kind if kind.endswith("order") else f"{kind} order"
    return (
        f"{kind} {short_id(order.pk)}: {order.side} {order.order_type} "
        f"{plain(left)} of {plain(order.quantity)}{at}{trigger} ({order.status})"
    )


def describe(order: Order) -> str:
    return (
        f"order {short_id(order.pk)}: {order.user_id} {order.exchange} {order.symbol} {order.side} "
        f"{order.order_type} {plain(order.quantity)} ({order.status})"
    )


def protects_open_position(order: Order) -> bool:
    """A live stop-loss / take-profit of an open position: the fill watcher would place it again."""
    return OrderRole(order.role) in PROTECTIVE and order.position_id is not None and order.position.status == "open"  # type: ignore[union-attr]


class CancelOrders(ConfirmedAction):
    name = "cancel"
    title = "Cancel"
    permission = "orders.cancel_order"
    confirm_label = "Cancel the orders"
    help = "Cancels on the exchange (OrderManager.cancel_order); fills that raced the cancel are applied."

    def applies(self, obj: Order) -> bool:
        return OrderStatus(obj.status).is_live and not protects_open_position(obj)

    def describe(self, obj: Order) -> str:
        return describe(obj)

    def fingerprint(self, obj: Order) -> str:
        return fingerprint(obj.status, obj.filled_qty)

    def plan(self, obj: Order, params: dict[str, Any], request: HttpRequest) -> Plan:
        if not OrderStatus(obj.status).is_live:
            return Plan(blocked=f"the order is {obj.status}")
        if protects_open_position(obj):
            return Plan(blocked=(
                f"it protects open position {short_id(obj.position_id)}: the fill watcher would place it again; "
                "change the position's stop-loss / take-profit instead"
            ))  # fmt: skip
        plan = Plan(steps=[f"cancel the {order_line(obj)} on {obj.exchange}"])
        if obj.filled_qty:
            plan.steps.append(f"the {plain(obj.filled_qty)} already filled stays filled")
        if not obj.exchange_order_id:
            plan.warnings.append("still being placed: it is first looked up by client order id; retry if not found")
        return plan

    def run(self, obj: Order, params: dict[str, Any], request: HttpRequest) -> str:
        after = OrderManager(actor=actor(request)).cancel_order(order_id=obj.pk)
        return f"now {after.status.value}, filled {plain(after.filled_qty)} of {plain(after.quantity)}"


class RefreshOrders(ConfirmedAction):
    name = "refresh"
    title = "Ask the exchange"
    permission = "orders.view_order"
    confirm_label = "Ask the exchange"
    help = "Polls the exchange once for the order and applies what changed (OrderManager.refresh_order)."

    def applies(self, obj: Order) -> bool:
        return OrderStatus(obj.status).is_live

    def describe(self, obj: Order) -> str:
        return describe(obj)

    def fingerprint(self, obj: Order) -> str:
        return fingerprint(obj.status, obj.filled_qty)

    def plan(self, obj: Order, params: dict[str, Any], request: HttpRequest) -> Plan:
        by = (
            f"exchange order id {obj.exchange_order_id}"
            if obj.exchange_order_id
            else f"client order id {obj.client_order_id}"
        )
        return Plan(steps=[
            f"ask {obj.exchange} for the order by its {by}",
            "apply new fills and the status it reports (events name you)",
        ])  # fmt: skip

    def run(self, obj: Order, params: dict[str, Any], request: HttpRequest) -> str:
        after = OrderManager(actor=actor(request)).refresh_order(obj.pk)
        return f"now {after.status.value}, filled {plain(after.filled_qty)} of {plain(after.quantity)}"


ORDER_ACTIONS: list[ConfirmedAction] = [CancelOrders(), RefreshOrders()]
