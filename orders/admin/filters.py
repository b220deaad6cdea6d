"""The order list's "needs attention" filter, and the questions behind it (the overview counts them)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from orders.models import Order, OrderEvent
from tradingcore.enums import OrderStatus

# A pending order is normally acknowledged within a second; the fill watcher resolves the rest by
# client order id. One still pending after this long needs a look.
STUCK_AFTER = timedelta(minutes=1)


def stuck_pending(now: datetime | None = None) -> QuerySet[Order]:
    """Orders still ``pending`` (never acknowledged) ``STUCK_AFTER`` after they were saved."""
    return Order.objects.filter(status=OrderStatus.PENDING, created_at__lt=(now or timezone.now()) - STUCK_AFTER)


def unknown_outcome() -> QuerySet[Order]:
    """Pending orders whose placement timed out: the exchange may or may not hold them."""
    timed_out = OrderEvent.objects.filter(order_id=OuterRef("pk"), type=OrderEvent.Type.OUTCOME_UNKNOWN)
    return Order.objects.filter(Exists(timed_out), status=OrderStatus.PENDING)


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        minutes = int(STUCK_AFTER.total_seconds() // 60)
        return [("stuck", f"pending over {minutes} min"), ("unknown", "outcome unknown")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> QuerySet[Order]:
        if self.value() == "stuck":
            return queryset.filter(pk__in=stuck_pending().values("pk"))
        if self.value() == "unknown":
            return queryset.filter(pk__in=unknown_outcome().values("pk"))
        return queryset
