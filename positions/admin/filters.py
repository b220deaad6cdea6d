"""The position list's own filters: grid or not, stop-loss or not, realized PnL on a day."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone

from orders.models import OrderFill
from positions.models import Position


class GridFilter(admin.SimpleListFilter):
    title = "grid"
    parameter_name = "grid"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "grid levels"), ("no", "not grid")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Position]) -> QuerySet[Position]:
        if self.value() == "yes":
            return queryset.filter(grid_level__isnull=False)
        if self.value() == "no":
            return queryset.filter(grid_level__isnull=True)
        return queryset


class StopLossFilter(admin.SimpleListFilter):
    title = "stop-loss"
    parameter_name = "stop_loss"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("set", "has a stop-loss"), ("none", "no stop-loss")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Position]) -> QuerySet[Position]:
        if self.value() == "set":
            return queryset.filter(stop_loss_price__isnull=False)
        if self.value() == "none":
            return queryset.filter(stop_loss_price__isnull=True)
        return queryset


def realized_fills(first: date, last: date) -> QuerySet[OrderFill]:
    """The fills from ``first`` to ``last`` (UTC days, both included) that realized PnL: the
    reducing fills of positions."""
    fills = OrderFill.objects.filter(filled_at__date__gte=first, filled_at__date__lte=last)
    return fills.filter(order__position__isnull=False).exclude(realized_pnl=0)


class RealizedOnFilter(admin.SimpleListFilter):
    """Positions that realized PnL on a day (UTC), or from one day to another (``2026-11-01/2026-11-30``):
    the overview's daily chart and its totals lead here."""

    title = "realized PnL on"
    parameter_name = "realized_on"
    days_offered = 7

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        since = timezone.now() - timedelta(days=self.days_offered)
        days = (
            OrderFill.objects.filter(filled_at__gte=since, order__position__isnull=False)
            .exclude(realized_pnl=0)
            .annotate(day=TruncDate("filled_at"))
            .values_list("day", flat=True)
            .distinct()
            .order_by("-day")
        )
        return [(day.isoformat(), day.isoformat()) for day in days]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Position]) -> QuerySet[Position]:
        value = self.value()
        if not value:
            return queryset
        first, _, last = value.partition("/")
        try:
            days = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError as error:
            raise IncorrectLookupParameters(f"realized_on: {value!r} is not a day or a range of days") from error
        return queryset.filter(pk__in=realized_fills(*days).values("order__position_id"))
