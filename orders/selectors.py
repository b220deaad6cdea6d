"""Read paths for orders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from orders.models import Order, OrderEvent, OrderFill
from tradingcore import dto
from tradingcore.enums import LIVE_ORDER_STATUSES, Exchange, OrderRole, OrderSide, OrderStatus
from tradingcore.selectors import of_market, owned_row


def order_row(order_id: Any, *, user_id: str | None = None) -> Order:
    """The row, or ``ObjectNotFound`` (also for another user's order: never reveal it exists)."""
    return owned_row(Order, order_id, user_id=user_id)


def order_queryset(
    *,
    user_id: str | None = None,
    exchange: Exchange | str | None = None,
    symbol: str | None = None,
    side: OrderSide | str | None = None,
    status: OrderStatus | str | list[Any] | None = None,
    grid_level: int | None = None,
    position_id: Any = None,
) -> QuerySet[Order]:
    """Orders matching every filter given; ``status`` may be one status or several."""
    queryset = of_market(Order.objects.all(), user_id=user_id, exchange=exchange, symbol=symbol)
    if side is not None:
        queryset = queryset.filter(side=OrderSide.parse(side, field="side"))
    if isinstance(status, list | tuple | set | frozenset):
        queryset = queryset.filter(status__in=[OrderStatus.parse(value, field="status") for value in status])
    elif status is not None:
        queryset = queryset.filter(status=OrderStatus.parse(status, field="status"))
    if grid_level is not None:
        queryset = queryset.filter(grid_level=grid_level)
    if position_id is not None:
        queryset = queryset.filter(position_id=position_id)
    return queryset.order_by("-created_at")


def get_order(order_id: Any, *, user_id: str | None = None) -> dto.Order:
    return dto.Order.from_row(order_row(order_id, user_id=user_id))


def get_orders(**filters: Any) -> list[dto.Order]:
    return [dto.Order.from_row(row) for row in order_queryset(**filters)]


def get_open_orders(**filters: Any) -> list[dto.Order]:
    filters["status"] = list(LIVE_ORDER_STATUSES)
    return get_orders(**filters)


def live_orders_of_position(position_id: Any, *, roles: Iterable[OrderRole] | None = None) -> list[Order]:
    """The position's live orders (of the given roles), oldest first."""
    queryset = Order.objects.filter(position_id=position_id, status__in=list(LIVE_ORDER_STATUSES))
    if roles is not None:
        queryset = queryset.filter(role__in=list(roles))
    return list(queryset.order_by("created_at"))


def order_fills(order_id: Any) -> QuerySet[OrderFill]:
    """The fills of an order, in execution order."""
    return OrderFill.objects.filter(order_id=order_id).order_by("filled_at", "id")


def order_events(order_id: Any) -> QuerySet[OrderEvent]:
    """The event log of an order, oldest first."""
    return OrderEvent.objects.filter(order_id=order_id).order_by("id")
