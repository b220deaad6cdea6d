"""The mark history: one sample per market per interval, kept 30 days, read back thinned over long spans."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import watcher
from positions.services import PositionManager
from tests.managers import BTC, ETH, btc, mark
from tradingcore import mark_history
from tradingcore.models import MarkSample

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_a_market_is_sampled_at_most_once_per_interval() -> None:
    start = timezone.now()

    first = mark_history.record("okx", BTC, D("45000"), at=start)
    again = mark_history.record("okx", BTC, D("45100"), at=start + timedelta(seconds=5))
    other_market = mark_history.record("okx", ETH, D("2500"), at=start + timedelta(seconds=5))
    later = mark_history.record("okx", BTC, D("45200"), at=start + mark_history.SAMPLE_INTERVAL + timedelta(seconds=1))

    assert (first, again, other_market, later) == (True, False, True, True)
    assert list(MarkSample.objects.filter(symbol=BTC).values_list("price", flat=True)) == [D("45000"), D("45200")]


def test_samples_older_than_the_retention_are_dropped() -> None:
    now = timezone.now()
    mark_history.record("okx", BTC, D("40000"), at=now - mark_history.RETENTION - timedelta(hours=1))
    mark_history.record("okx", ETH, D("2000"), at=now - mark_history.RETENTION - timedelta(hours=1))

    mark_history.record("okx", BTC, D("45000"), at=now)

    assert list(MarkSample.objects.filter(symbol=BTC).values_list("price", flat=True)) == [D("45000")]
    assert MarkSample.objects.filter(symbol=ETH).count() == 1  # another market's samples are its own


def test_a_short_span_reads_every_sample_and_a_long_one_hourly_means() -> None:
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    for minutes, price in [(0, "100"), (20, "110"), (40, "120"), (60, "200"), (80, "220")]:
        MarkSample.objects.create(exchange="okx", symbol=BTC, price=D(price), at=start + timedelta(minutes=minutes))

    short = mark_history.history("okx", BTC, start, start + timedelta(hours=2))
    long = mark_history.history("okx", BTC, start, start + timedelta(days=2))

    assert [price for _, price in short] == [D("100"), D("110"), D("120"), D("200"), D("220")]
    assert long == [(start, D("110")), (start + timedelta(hours=1), D("210"))]


def test_refreshing_marks_records_the_market_history() -> None:
    mark("45000")
    PositionManager().open_position(**btc(side="long", size=D("0.1")))
    MarkSample.objects.all().delete()
    mark("45500")

    watcher.run_pass(interval=0)

    assert list(MarkSample.objects.values_list("exchange", "symbol", "price")) == [("okx", BTC, D("45500"))]
