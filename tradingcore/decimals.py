"""Decimal helpers: the digits of money and size are defined here, once.

Everything that holds a price, a size or an amount of money is a ``Decimal`` quantised to
``PLACES`` decimals and fitting ``numeric(MAX_DIGITS, PLACES)``. Floats are accepted only at the
edges and converted through ``str`` so that 0.1 stays 0.1.
"""

from __future__ import annotations

import decimal
import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal
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
# What a number may look like as text: ASCII digits, one optional sign, point and exponent. Python's
# Decimal() also reads "1_000", non-ASCII digits ("\u0661", full-width) and surrounding spaces;
# none of those is a number on the wire.
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NON_FINITE_TEXT = re.compile(r"[+-]?(?:s?nan|inf|infinity)", re.IGNORECASE)  # refused as "must be finite"
# Exponents beyond this make Decimal arithmetic overflow (abs(), quantize()) long before any
# column could hold the number.
MAX_EXPONENT = 1000

# Arithmetic precision: products and sums of numeric(20,8) values (and the 20-place weighted
# entry) need up to ~40 significant digits to be exact before rounding; Python's default is 28.
# Set for this thread and for every thread created afterwards.
ARITHMETIC_PRECISION = 50
decimal.DefaultContext.prec = ARITHMETIC_PRECISION
if decimal.getcontext().prec < ARITHMETIC_PRECISION:
    decimal.getcontext().prec = ARITHMETIC_PRECISION


def is_number_text(text: str) -> bool:
    """True for a number in plain ASCII decimal notation (``"0.1"``, ``"-1.5e3"``, ``"+2"``, ``".5"``)."""
    return NUMBER_TEXT.fullmatch(text) is not None


def in_range(number: Decimal) -> bool:
    """True unless the exponent is so large or small that arithmetic on the number overflows."""
    return number.is_zero() or -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT


def to_decimal(value: Any, *, field: str = "value") -> Decimal:
    """Convert ``value`` to a finite Decimal, or raise ``InvalidInput`` naming ``field``.

    Accepts a ``Decimal``, an ``int``, a ``float`` (through ``str``) or text in plain ASCII decimal
    notation (``is_number_text``: no spaces, underscores or non-ASCII digits)."""
    if isinstance(value, bool) or value is None:
        raise InvalidInput(f"{field}: a number is required", details={field: ["a number is required"]})
    result = _read(value)
    if result is None:
        raise InvalidInput(f"{field}: {value!r} is not a number", details={field: ["not a number"]})
    if not result.is_finite():
        raise InvalidInput(f"{field}: must be finite", details={field: ["must be finite"]})
    if not in_range(result):
        raise InvalidInput(f"{field}: out of range", details={field: ["out of range"]})
    return result


def _read(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float) or (
        isinstance(value, str) and (is_number_text(value) or NON_FINITE_TEXT.fullmatch(value))
    ):
        return Decimal(str(value))  # "NaN", "inf": read, then refused as not finite
    return None


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
    if number.copy_abs() > MAX_ABS:
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
