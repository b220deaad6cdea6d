"""How the admin shows ids, numbers, money and times: compact, one line per value, gains in green.

Every list and page of the admin formats through these, so a value looks the same everywhere: ids
as their first 8 characters (the whole id in the tooltip), Decimals in plain notation without
trailing zeros, PnL signed with two decimals and coloured, times as ``MM-DD HH:MM`` (UTC, the
full time in the tooltip).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tradingcore.decimals import plain

EMPTY = "—"
SHORT_ID_LENGTH = 8


def short_id(value: Any) -> str:
    """The first 8 characters of an id (a UUID's first group): enough to tell rows apart."""
    return str(value)[:SHORT_ID_LENGTH]


def id_link(url: str, value: Any) -> SafeString:
    """A short id linking to ``url``, the whole id in the tooltip."""
    return format_html('<a class="tc-id" href="{}" title="{}">{}</a>', url, value, short_id(value))


def short_text(value: Any, length: int = 14) -> SafeString:
    """Text cut to ``length`` characters with an ellipsis, the whole text in the tooltip."""
    text = str(value)
    if len(text) <= length:
        return format_html("{}", text)
    return format_html('<span title="{}">{}…</span>', text, text[: length - 1])


def number(value: Decimal | None) -> str:
    """A size or price in plain notation, without trailing zeros (45000, 0.05); a dash for None."""
    return EMPTY if value is None else plain(value)


def fixed(value: Decimal, places: int = 2) -> str:
    """``value`` rounded to ``places`` decimals, with thousands separators."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return f"{rounded:,.{places}f}"


def signed(value: Decimal | None, places: int = 2, suffix: str = "") -> SafeString:
    """A gain in green with a plus sign, a loss in red, zero quiet; a dash for None."""
    if value is None:
        return format_html('<span class="tc-flat">{}</span>', EMPTY)
    css = "tc-gain" if value > 0 else "tc-loss" if value < 0 else "tc-flat"
    sign = "+" if value > 0 else ""
    return format_html('<span class="{}">{}{}{}</span>', css, sign, fixed(value, places), suffix)


def moment(value: datetime | None) -> SafeString:
    """``MM-DD HH:MM`` in UTC (``YYYY-MM-DD`` for another year), the full time in the tooltip."""
    if value is None:
        return format_html("{}", EMPTY)
    value = value.astimezone(UTC)
    shown = f"{value:%m-%d %H:%M}" if value.year == timezone.now().year else f"{value:%Y-%m-%d}"
    full = f"{value:%Y-%m-%d %H:%M:%S} UTC"
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), full, shown)
