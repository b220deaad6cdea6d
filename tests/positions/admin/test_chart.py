"""The server-rendered charts: where each fill and mark lands, the levels, and the daily bars' links."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from orders.models import OrderFill
from positions.admin import chart
from positions.models import Position
from tests.positions.admin.conftest import Book

D = Decimal


def numbers(text: str) -> list[float]:
    return [float(value) for value in re.findall(r"-?\d+(?:\.\d+)?", text)]


def test_each_fill_is_a_triangle_at_its_time_and_price_and_the_mark_a_line(book: Book) -> None:
    position = Position.objects.get(pk=book.carol.pk)  # bought at 2500, sold at 2600
    fills = list(OrderFill.objects.filter(order__position=position).select_related("order").order_by("filled_at"))
    start = position.created_at
    marks = [(start + timedelta(seconds=1), D("2520")), (start + timedelta(seconds=2), D("2580"))]

    svg = str(chart.position_chart(position, fills, marks, timezone.now()))

    triangles = re.findall(r'<polygon class="tc-fill tc-fill-(\w+)" points="([^"]+)" data-price="([^"]+)"', svg)
    assert [(side, price) for side, _, price in triangles] == [("buy", "2500"), ("sell", "2600")]
    buy_tip_y, sell_tip_y = numbers(triangles[0][1])[1], numbers(triangles[1][1])[1]
    assert sell_tip_y < buy_tip_y  # the higher price is drawn higher
    points = re.search(r'class="tc-mark-line" points="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    assert len(points.split()) == 2  # the two samples (a closed position has no current mark)
    assert "entry 2500" in svg
    assert "stop-loss" not in svg  # carol had none


def test_an_open_position_draws_its_levels_and_its_current_mark(book: Book) -> None:
    position = Position.objects.get(pk=book.alice.pk)

    svg = str(chart.position_chart(position, [], [], timezone.now()))

    assert "stop-loss 44000" in svg
    assert "entry 45000" in svg
    assert "no fills yet" in svg
    assert 'class="tc-mark-line"' not in svg  # one point (the current mark) draws no line


def test_the_daily_bars_link_each_day_and_colour_gains_and_losses() -> None:
    days = [(date(2026, 11, 28), D("120.5")), (date(2026, 11, 29), D("0")), (date(2026, 11, 30), D("-40"))]

    svg = str(chart.daily_bars(days, lambda day: f"/list/?realized_on={day.isoformat()}"))

    bars = re.findall(r'<a href="([^"]+)"><rect class="(tc-bar-\w+)"[^>]*data-day="([^"]+)"><title>([^<]+)<', svg)
    assert bars == [
        ("/list/?realized_on=2026-11-28", "tc-bar-gain", "2026-11-28", "2026-11-28: 120.50 USDT"),
        ("/list/?realized_on=2026-11-29", "tc-bar-zero", "2026-11-29", "2026-11-29: 0.00 USDT"),
        ("/list/?realized_on=2026-11-30", "tc-bar-loss", "2026-11-30", "2026-11-30: -40.00 USDT"),
    ]
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" data-day', svg)]
    assert heights[0] > heights[2] * 2.5  # 120.5 against 40
