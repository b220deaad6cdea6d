"""Small charts drawn on the server as SVG (no JavaScript, nothing from a CDN).

``position_chart``: a position's fills (buys as green triangles pointing up, sells as red ones
pointing down, each with its quantity, price and time in the tooltip) against the mark over the
position's life (``tradingcore.mark_history``), with its entry, stop-loss and take-profit as
dashed levels. ``daily_bars``: realized PnL by day, each bar a link to the positions behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from orders.models import OrderFill
from positions.models import Position
from tradingcore.admin.display import fixed
from tradingcore.decimals import plain

WIDTH, HEIGHT = 1000, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 110, 14, 28


@dataclass(frozen=True)
class Scale:
    """Maps a value range onto a pixel range (a flat range onto its middle)."""

    low: float
    high: float
    out_low: float
    out_high: float

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return (self.out_low + self.out_high) / 2
        return self.out_low + (value - self.low) / (self.high - self.low) * (self.out_high - self.out_low)


def _price_range(prices: Sequence[Decimal]) -> tuple[float, float]:
    low, high = float(min(prices)), float(max(prices))
    pad = (high - low) * 0.08 or abs(high) * 0.01 or 1.0
    return low - pad, high + pad


def _time(value: datetime) -> str:
    return f"{value:%m-%d %H:%M}"


def position_chart(
    position: Position, fills: Sequence[OrderFill], marks: Sequence[tuple[datetime, Decimal]], now: datetime
) -> SafeString:
    """The position's fills against the mark over its life, as an inline SVG."""
    start = min([position.created_at, *(fill.filled_at for fill in fills)])
    end = max([position.closed_at or now, *(fill.filled_at for fill in fills)])
    if end - start < timedelta(minutes=1):
        end = start + timedelta(minutes=1)
    line = [(at, price) for at, price in marks if start <= at <= end]
    if position.status == "open" and position.current_price is not None:
        line.append((end, position.current_price))
    levels = {
        "entry": (position.entry_price, "tc-level-entry"),
        "stop-loss": (position.stop_loss_price, "tc-level-stop"),
        "take-profit": (position.take_profit_price, "tc-level-take"),
    }
    shown = {name: (price, css) for name, (price, css) in levels.items() if price is not None and price > 0}
    prices = [price for _, price in line] + [fill.price for fill in fills] + [price for price, _ in shown.values()]
    low, high = _price_range(prices or [position.entry_price])
    x = Scale(0, (end - start).total_seconds(), LEFT, WIDTH - RIGHT)
    y = Scale(low, high, HEIGHT - BOTTOM, TOP)

    def px(at: datetime) -> float:
        return x((at - start).total_seconds())

    parts = [_frame(low, high, y), _time_labels(start, end)]
    parts += [_level(name, price, css, y) for name, (price, css) in shown.items()]
    if len(line) >= 2:
        points = " ".join(f"{px(at):.1f},{y(float(price)):.1f}" for at, price in line)
        parts.append(format_html('<polyline class="tc-mark-line" points="{}"><title>mark</title></polyline>', points))
    parts += [_fill_marker(fill, px(fill.filled_at), y(float(fill.price))) for fill in fills]
    if not fills:
        parts.append(format_html('<text x="{}" y="{}">no fills yet</text>', LEFT + 8, TOP + 14))
    label = f"fills of position {position.pk} against the mark"
    return format_html(
        '<svg class="tc-chart" id="tc-position-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" '
        'height="{}" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        label, WIDTH, HEIGHT, WIDTH, HEIGHT, mark_safe("".join(parts)),
    )  # fmt: skip


def _frame(low: float, high: float, y: Scale) -> str:
    ticks = [low + (high - low) * step / 4 for step in range(5)]
    lines = format_html_join(
        "",
        '<line class="tc-axis" x1="{}" x2="{}" y1="{}" y2="{}"/><text x="{}" y="{}" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, f"{y(tick):.1f}", f"{y(tick):.1f}", LEFT - 6, f"{y(tick) + 4:.1f}", _price(tick))
         for tick in ticks),
    )  # fmt: skip
    return str(lines)


def _price(value: float) -> str:
    if value == 0:
        return "0"
    places = 0 if abs(value) >= 1000 else 2 if abs(value) >= 1 else 6
    return f"{value:,.{places}f}"


def _time_labels(start: datetime, end: datetime) -> str:
    return str(
        format_html(
            '<text x="{}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>',
            LEFT,
            HEIGHT - 8,
            _time(start),
            WIDTH - RIGHT,
            HEIGHT - 8,
            _time(end),
        )  # fmt: skip
    )


def _level(name: str, price: Decimal, css: str, y: Scale) -> str:
    at = f"{y(float(price)):.1f}"
    return str(
        format_html(
            '<line class="tc-level {}" x1="{}" x2="{}" y1="{}" y2="{}"><title>{} {}</title></line>'
            '<text x="{}" y="{}">{} {}</text>',
            css,
            LEFT,
            WIDTH - RIGHT,
            at,
            at,
            name,
            plain(price),
            WIDTH - RIGHT + 4,
            f"{float(at) + 4:.1f}",
            name,
            plain(price),
        )  # fmt: skip
    )


def _fill_marker(fill: OrderFill, cx: float, cy: float) -> str:
    buy = fill.order.side == "buy"
    tip, base = (cy - 7, cy + 5) if buy else (cy + 7, cy - 5)
    points = f"{cx:.1f},{tip:.1f} {cx - 6:.1f},{base:.1f} {cx + 6:.1f},{base:.1f}"
    title = (
        f"{fill.order.side} {plain(fill.quantity)} @ {plain(fill.price)} at {_time(fill.filled_at)} ({fill.order.role})"
    )
    return str(
        format_html(
            '<polygon class="tc-fill tc-fill-{}" points="{}" data-price="{}"><title>{}</title></polygon>',
            fill.order.side,
            points,
            plain(fill.price),
            title,
        )  # fmt: skip
    )


def daily_bars(days: Sequence[tuple[date, Decimal]], link: Callable[[date], str]) -> SafeString:
    """Realized PnL by day as bars above (gains, green) or below (losses, red) zero; each bar
    links to ``link(day)`` and names its day and amount in its tooltip."""
    width, height, left, bottom = 760, 200, 70, 24
    values = [float(amount) for _, amount in days] + [0.0]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    y = Scale(low, high, height - bottom, 10)
    slot = (width - left - 10) / max(len(days), 1)
    zero = y(0)
    bars = []
    for index, (day, amount) in enumerate(days):
        top, bottom_edge = sorted((y(float(amount)), zero))
        css = "tc-bar-gain" if amount > 0 else "tc-bar-loss" if amount < 0 else "tc-bar-zero"
        bars.append(
            format_html(
                '<a href="{}"><rect class="{}" x="{}" y="{}" width="{}" height="{}" data-day="{}">'
                "<title>{}: {} USDT</title></rect></a>",
                link(day),
                css,
                f"{left + index * slot + 1:.1f}",
                f"{top:.1f}",
                f"{max(slot - 2, 1):.1f}",
                f"{max(bottom_edge - top, 1):.1f}",
                day.isoformat(),
                day.isoformat(),
                fixed(amount),
            )  # fmt: skip
        )
    axis = format_html(
        '<line class="tc-axis" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" text-anchor="end">0</text>',
        left, width - 10, f"{zero:.1f}", f"{zero:.1f}", left - 6, f"{y(high) + 4:.1f}", _price(high), left - 6,
        f"{y(low) + 4:.1f}", _price(low), left - 6, f"{zero + 4:.1f}",
    )  # fmt: skip
    labels = ""
    if days:
        labels = str(
            format_html(
                '<text x="{}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>',
                left,
                height - 6,
                days[0][0].isoformat(),
                width - 10,
                height - 6,
                days[-1][0].isoformat(),
            )  # fmt: skip
        )
    return format_html(
        '<svg class="tc-chart" id="tc-daily-pnl" role="img" aria-label="realized PnL by day" viewBox="0 0 {} {}" '
        'width="{}" height="{}" xmlns="http://www.w3.org/2000/svg">{}{}{}</svg>',
        width, height, width, height, axis, mark_safe("".join(bars)), mark_safe(labels),
    )  # fmt: skip
