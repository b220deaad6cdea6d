"""Orders as the Redis projection sees them: rows to ``OrderChange`` DTOs, and the read side the
projection uses for the outbox drain, the rebuild and the verification (registered in
``OrdersConfig.ready()``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q

from orders.models import Order
from tradingcore import dto
from tradingcore.enums import LIVE_ORDER_STATUSES, TERMINAL_ORDER_STATUSES, OrderRole, OrderType
from tradingcore.exceptions import TradingError
from tradingcore.exchange import instruments
from tradingcore.redis import keys, plan, sources

_LIVE = [status.value for status in LIVE_ORDER_STATUSES]
_TERMINAL = [status.value for status in TERMINAL_ORDER_STATUSES]
# The SQL form of ``plan.hyperrsi_listed`` (tests/orders/test_hyperrsi_listing.py holds them together).
_TRIGGERED = [member.value for member in OrderType if member.is_triggered]
HYPERRSI_LISTED = (
    Q(grid_level__isnull=True)
    & ~Q(metadata__has_key="legacy")
    & (~Q(order_type__in=_TRIGGERED) | Q(order_type=OrderType.STOP_LOSS) | Q(role=OrderRole.STOP_LOSS))
)


def _listed_contract_size(exchange: str, symbol: str) -> Decimal | None:
    """The instrument table's contract size; None (counted in base units) for an unlisted symbol."""
    try:
        return instruments.contract_size(exchange, symbol)
    except TradingError:
        return None


def order_dto(order: Order) -> dto.Order:
    """The order as the projection encodes it: a contract size even for rows saved without one."""
    value = dto.Order.from_row(order)
    if value.contract_size is None:
        value.contract_size = _contract_size_of(order)
    return value


def _contract_size_of(order: Order) -> Decimal | None:
    if order.position_id is not None and order.position is not None and order.position.contract_size:
        return order.position.contract_size
    return _listed_contract_size(order.exchange, order.symbol)


def change(order: Order, event: str | None = None) -> plan.OrderChange:
    """The projection change for the order's current (in-memory) state."""
    return plan.OrderChange(order=order_dto(order), version=order.version, event=event)


# -- the read side the projection uses --------------------------------------------------------------


def load_change(order_id: Any, event: str | None) -> plan.OrderChange | None:
    order = Order.objects.select_related("position").filter(pk=order_id).first()
    return None if order is None else change(order, event)


def facts(user_id: str, now: datetime) -> plan.OrderFacts:
    cutoff = now - plan.ORDER_RETENTION
    recent = Q(status__in=_LIVE) | Q(updated_at__gt=cutoff) | Q(filled_at__gt=cutoff) | Q(created_at__gt=cutoff)
    rows = list(Order.objects.select_related("position").filter(Q(user_id=user_id) & recent))
    orders = [order_dto(row) for row in rows]
    ended = Order.objects.select_related("position").filter(HYPERRSI_LISTED, user_id=user_id, status__in=_TERMINAL)
    listed = [order_dto(row) for row in ended.order_by("-updated_at", "-id")[: plan.LEGACY_CLOSED_ORDERS_CAP]]
    exchanges = frozenset(Order.objects.filter(user_id=user_id).values_list("exchange", flat=True).distinct())
    versions = {keys.projection_version("order", row.pk): row.version for row in rows}
    return plan.OrderFacts(orders=orders, hyperrsi_ended=listed, exchanges=exchanges, versions=versions)


def user_ids() -> Iterable[str]:
    return Order.objects.order_by().values_list("user_id", flat=True).distinct()


def liveness(order_ids: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    fields = ("id", "user_id", "exchange", "symbol", "status", "created_at", "updated_at", "filled_at")
    return {row["id"]: row for row in Order.objects.filter(pk__in=list(order_ids)).values(*fields)}


SOURCE = sources.Source(kind=sources.ORDER, load_change=load_change, facts=facts, user_ids=user_ids, liveness=liveness)
