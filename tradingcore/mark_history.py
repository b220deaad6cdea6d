"""The mark price history of each market: recorded as marks are refreshed, read by the admin's charts.

``record`` keeps at most one sample per market every ``SAMPLE_INTERVAL`` and drops samples older
than ``RETENTION``; ``history`` reads a time range back, thinned to hourly or daily means over long
ranges so a chart never loads more than about a thousand rows. Both run outside transactions and
work on PostgreSQL and on the embedded SQLite database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Avg
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from tradingcore.decimals import quantize
from tradingcore.models import MarkSample

SAMPLE_INTERVAL = timedelta(seconds=15)
RETENTION = timedelta(days=30)
RAW_SPAN = timedelta(hours=4)  # up to this span, every sample (at most 960)
HOURLY_SPAN = timedelta(days=10)  # up to this span, hourly means; beyond it, daily means


def record(exchange: str, symbol: str, price: Decimal, *, at: datetime | None = None) -> bool:
    """Record ``price`` as the mark of (exchange, native symbol) at ``at`` (default now), unless the
    market already has a sample less than ``SAMPLE_INTERVAL`` old. Returns whether it recorded."""
    at = at or timezone.now()
    market = MarkSample.objects.filter(exchange=exchange, symbol=symbol)
    if market.filter(at__gt=at - SAMPLE_INTERVAL, at__lte=at).exists():
        return False
    MarkSample.objects.create(exchange=exchange, symbol=symbol, price=quantize(price), at=at)
    market.filter(at__lt=at - RETENTION).delete()
    return True


def history(exchange: str, symbol: str, since: datetime, until: datetime) -> list[tuple[datetime, Decimal]]:
    """The marks of (exchange, native symbol) between ``since`` and ``until``, oldest first: every
    sample over a span up to ``RAW_SPAN``, hourly means up to ``HOURLY_SPAN``, daily means beyond."""
    samples = MarkSample.objects.filter(exchange=exchange, symbol=symbol, at__gte=since, at__lte=until)
    span = until - since
    if span <= RAW_SPAN:
        return list(samples.order_by("at", "id").values_list("at", "price"))
    bucket = TruncHour("at") if span <= HOURLY_SPAN else TruncDay("at")
    means = samples.annotate(bucket=bucket).values("bucket").annotate(price=Avg("price")).order_by("bucket")
    return [(row["bucket"], quantize(Decimal(row["price"]))) for row in means]
