"""The shared field rules of ``tradingcore.validation`` that every way in (managers, API) runs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tradingcore import validation
from tradingcore.exceptions import InvalidInput


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep: {"a": {"a": ... {}}}."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_metadata_up_to_the_limits_is_kept_as_given() -> None:
    deep = nested(validation.MAX_METADATA_DEPTH - 1)  # the metadata object itself is the first level
    rest = len(json.dumps({"deep": deep, "note": ""}, separators=(",", ":")))
    value = {"deep": deep, "note": "x" * (validation.MAX_METADATA_BYTES - rest)}

    assert validation.metadata(value) == value
    with pytest.raises(InvalidInput, match="at most 8192 bytes"):
        validation.metadata({**value, "note": value["note"] + "x"})


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"blob": "x" * validation.MAX_METADATA_BYTES}, "at most 8192 bytes as JSON"),
        ({"blob": "é" * (validation.MAX_METADATA_BYTES // 2)}, "at most 8192 bytes as JSON"),  # counted in UTF-8
        (nested(validation.MAX_METADATA_DEPTH + 1), "at most 32 levels of objects and lists"),
        ({"a": nested_lists(validation.MAX_METADATA_DEPTH)}, "at most 32 levels"),
        (nested(500), "at most 32 levels"),
        ({"ratio": Decimal("NaN")}, "numbers must be finite"),
        ({"ratio": Decimal("Infinity")}, "numbers must be finite"),
        ({"ratio": Decimal("-Infinity")}, "numbers must be finite"),
        ({"ratio": Decimal("1E+999")}, "numbers must be finite"),
        ({"ratios": [1, float("nan")]}, "numbers must be finite"),
        ({"big": 10**400}, "numbers must be finite"),
        ({"text": "a\x00b"}, "NUL characters are not allowed"),
        ({"a\x00": 1}, "NUL characters are not allowed"),
        ({"when": {1, 2}}, "only JSON values are allowed"),
    ],
)
def test_metadata_beyond_the_limits_is_refused_naming_the_field(value: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validation.metadata(value)

    assert list(refused.value.details) == ["metadata"]
    assert refused.value.details["metadata"][0].startswith(problem)


@pytest.mark.parametrize("key", sorted(validation.SYSTEM_METADATA_KEYS))
def test_callers_may_not_set_the_keys_the_system_maintains(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validation.caller_metadata({key: "hacked", "mine": 1})

    assert refused.value.details == {"metadata": [f"{key}: set by the system, choose another key"]}


def test_the_in_process_rule_keeps_the_system_keys_the_managers_are_given() -> None:
    # the HYPERRSI route hands its take-profit levels to open_position in metadata
    assert validation.metadata({"tp_prices": ["46000"]}) == {"tp_prices": ["46000"]}


@pytest.mark.parametrize("value", [123, 1.5, ["x"], True])
def test_a_reason_that_is_not_text_is_refused(value: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        validation.reason(value)

    assert refused.value.details == {"reason": ["a string is required"]}


def test_a_reason_is_cut_at_255_characters_and_none_is_empty() -> None:
    assert (validation.reason("x" * 300), validation.reason(None)) == ("x" * 255, "")


@pytest.mark.parametrize("value", [12.5, 12.0, Decimal("12.5"), Decimal("1709556958.0")])
def test_a_user_id_that_is_a_fractional_number_is_refused(value: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        validation.user_id(value)

    assert refused.value.details == {"user_id": ["a string or an integer"]}


@pytest.mark.parametrize(("value", "expected"), [(1709556958, "1709556958"), (" alice ", "alice"), ("12.5", "12.5")])
def test_a_user_id_is_text_or_an_integer(value: Any, expected: str) -> None:
    assert validation.user_id(value) == expected
