"""The ``orders_by_status{status}`` gauge of ``/metrics``, read from the database at scrape time."""

from __future__ import annotations

from django.db.models import Count

from orders.models import Order
from tradingcore.enums import OrderStatus
from tradingcore.metrics import register_gauge


def orders_by_status() -> dict[tuple[str], int]:
    counts = dict(Order.objects.order_by().values_list("status").annotate(count=Count("id")))
    return {(status.value,): counts.get(status.value, 0) for status in OrderStatus}


def register() -> None:
    register_gauge("orders_by_status", "Orders in the database by status", orders_by_status, labels=("status",))
