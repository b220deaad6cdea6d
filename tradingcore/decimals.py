"""Decimal helpers: the digits of money and size are defined here, once.

Everything that holds a price, a size or an amount of money is a ``Decimal`` quantised to
``PLACES`` decimals and fitting ``numeric(MAX_DIGITS, PLACES)``. Floats are accepted only at the
edges and converted through ``str`` so that 0.1 stays 0.1.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from tradingcore.exceptions import InvalidInput

MAX_DIGITS = 20
PLACES = 8
QUANTUM = Decimal(1).scaleb(-PLACES)
# The weighted entry is carried at more places so repeated adds and partial closes do not drift.
PRECISE_MAX_DIGITS = 38
PRECISE_PLACES = 20
PRECISE_QUANTUM = Decimal(1).scaleb(-PRECISE_PLACES)
MAX_ABS = Decimal(10) ** (MAX_DIGITS - PLACES) - QUANTUM
ZERO = Decimal(0)

# Arithmetic precision: products and sums of numeric(20,8) values (and the 20-place weighted
# entry) need up to ~40 significant digits to be exact before rounding; Python's default is 28.
# Set for this thread and for every thread created afterwards.
ARITHMETIC_PRECISION = 50
decimal.DefaultContext.prec = ARITHMETIC_PRECISION
if decimal.getcontext().prec < ARITHMETIC_PRECISION:
    decimal.getcontext().prec = ARITHMETIC_PRECISION


def to_decimal(value: Any, *, field: str = "value") -> Decimal:
    """Convert ``value`` to a finite Decimal, or raise ``InvalidInput`` naming ``field``."""
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{field}: a number is required", details={field: ["a number is required"]})
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{field}: {value!r} is not a number", details={field: ["not a number"]}) from None
    if not result.is_finite():
        raise InvalidInput(f"{field}: must be finite", details={field: ["must be finite"]})
    return result


def to_optional_decimal(value: Any, *, field: str = "value") -> Decimal | None:
    return None if value is None or value == "" else to_decimal(value, field=field)


# quantize() must not raise even for a thread whose context predates this module.
_WIDE = Context(prec=80)


def quantize(value: Decimal, *, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round to the storage precision (8 places)."""
    return value.quantize(QUANTUM, rounding=rounding, context=_WIDE)


def quantize_down(value: Decimal) -> Decimal:
    """Round toward zero to the storage precision: for quantities that must not exceed a bound."""
    return value.quantize(QUANTUM, rounding=ROUND_DOWN, context=_WIDE)


def quantize_precise(value: Decimal) -> Decimal:
    return value.quantize(PRECISE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WIDE)


def storable(value: Any, *, field: str = "value", positive: bool = False, non_negative: bool = False) -> Decimal:
    """Validate that ``value`` fits numeric(20,8) without losing digits, and return it quantised."""
    number = to_decimal(value, field=field)
    if positive and number <= 0:
        raise InvalidInput(f"{field}: must be greater than zero", details={field: ["must be greater than zero"]})
    if non_negative and number < 0:
        raise InvalidInput(f"{field}: must not be negative", details={field: ["must not be negative"]})
    if abs(number) > MAX_ABS:
        raise InvalidInput(f"{field}: too large for numeric(20,8)", details={field: ["too large"]})
    if number != number.quantize(QUANTUM, rounding=ROUND_DOWN):
        raise InvalidInput(
            f"{field}: at most {PLACES} decimal places", details={field: [f"at most {PLACES} decimal places"]}
        )
    return quantize(number)


def plain(value: Decimal) -> str:
    """Plain notation without exponent and without trailing zeros; zero is ``"0"``."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
