"""ccxt's loosely typed values as ours: ``Decimal`` through ``str``, aware UTC datetimes.

ccxt parses exchange answers into floats, ints, strings or None. Every number that leaves this
package passes through ``decimal_or_none`` (``Decimal(str(x))``), so no float crosses the boundary.
An absent or unreadable value is None, never an error: the caller decides what a gap means.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any


def tidy(value: Decimal) -> Decimal:
    """``value`` without trailing zeros (0.100 -> 0.1, 10.0 -> 10), never in exponent notation."""
    if value == 0:
        return Decimal(0)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def decimal_or_none(value: Any) -> Decimal | None:
    """A number from ccxt (float, int, str) as a tidy finite Decimal built through ``str``;
    None when absent, boolean, unreadable or not finite."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return tidy(number) if number.is_finite() else None


def positive_or_none(value: Any) -> Decimal | None:
    """A price from ccxt, None unless positive (OKX writes -1 for "at market")."""
    number = decimal_or_none(value)
    return number if number is not None and number > 0 else None


def datetime_from_ms(value: Any) -> datetime | None:
    """A ccxt timestamp (milliseconds since the epoch) as an aware UTC datetime; None if unreadable."""
    if value is None:
        return None
    try:
        millis = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis // 1000, tz=UTC) + timedelta(milliseconds=millis % 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms_from_datetime(moment: datetime) -> int:
    """An aware datetime as milliseconds since the epoch (integer arithmetic, floored).

    Raises ``ValueError`` for a naive datetime: its instant is unknown.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")
    return (moment - _EPOCH) // timedelta(milliseconds=1)
