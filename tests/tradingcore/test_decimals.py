"""``to_decimal`` reads numbers in plain ASCII decimal notation only: what Python's ``Decimal()``
also reads (underscores, other scripts' digits, surrounding spaces) is not a number on the wire."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradingcore.decimals import storable, to_decimal
from tradingcore.exceptions import InvalidInput

NOT_NUMBERS = [
    "1_0",
    "1_000",
    "1_0000",
    "1__0",
    "\u0661",  # ARABIC-INDIC DIGIT ONE
    "\u0660.\u0661",
    "\uff10.\uff10\uff11",  # full-width 0.01
    "\u0967",  # DEVANAGARI DIGIT ONE
    " 0.01",
    "0.1 ",
    "\t1",
    "1\n",
    "1 0",
    "",
    ".",
    "+",
    "e5",
    "1e",
    "1.2.3",
    "0x10",
    "NaNa",
    " NaN",
]


@pytest.mark.parametrize("text", NOT_NUMBERS)
def test_text_python_reads_but_that_is_not_plain_ascii_notation_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        to_decimal(text, field="size")

    assert refused.value.details == {"size": ["not a number"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", Decimal(10)),
        ("0.01", Decimal("0.01")),
        ("-1.5", Decimal("-1.5")),
        ("+2", Decimal(2)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("1e3", Decimal(1000)),
        ("1.5E-3", Decimal("0.0015")),
        ("1e+2", Decimal(100)),
    ],
)
def test_plain_notation_with_sign_point_and_exponent_is_read(text: str, expected: Decimal) -> None:
    assert to_decimal(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(Decimal("0.1"), Decimal("0.1")), (7, Decimal(7)), (0.1, Decimal("0.1"))]
)
def test_decimals_ints_and_floats_through_str_are_read(value: Any, expected: Decimal) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), "NaN", "-Infinity", "inf", "sNaN"]
)
def test_non_finite_numbers_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="must be finite"):
        to_decimal(value)


@pytest.mark.parametrize(
    "value",
    ["1e999999999999999999", "-1e999999999999999999", Decimal("1E+5000"), pytest.param(10**1001, id="10**1001")],
)
def test_exponents_that_would_overflow_arithmetic_are_refused(value: Any) -> None:
    with pytest.raises(InvalidInput, match="out of range"):
        to_decimal(value)


@pytest.mark.parametrize("value", [["1"], {"a": 1}, b"1", object()])
def test_other_types_are_not_numbers(value: Any) -> None:
    with pytest.raises(InvalidInput, match="not a number"):
        to_decimal(value)


def test_storable_refuses_a_huge_exponent_as_too_large_without_overflowing() -> None:
    with pytest.raises(InvalidInput, match="too large"):
        storable("1e1000", field="price")
