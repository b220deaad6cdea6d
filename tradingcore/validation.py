"""The field rules shared by every way in: managers, API serializers, legacy importer, admin.

One definition of each limit (SPEC sections 2 and 3). Each function takes a raw value from a
caller, returns it normalised (an enum member, a quantised ``Decimal``, a stripped string) or
raises ``InvalidInput`` naming the field in ``details``. Models take their limits from here, so
the database constraints and the checks before a request is sent agree.
"""

from __future__ import annotations

import json
import math
import re
import sys
import uuid
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator

from tradingcore.decimals import storable, to_decimal
from tradingcore.enums import (
    Exchange,
    MarginMode,
    OrderSide,
    OrderType,
    PositionSide,
    TimeInForce,
)
from tradingcore.exceptions import InvalidInput

MAX_USER_ID_LENGTH = 64
MAX_SYMBOL_LENGTH = 32
MIN_LEVERAGE = 1
MAX_LEVERAGE = 125
MIN_GRID_LEVEL = 0
MAX_GRID_LEVEL = 100
MAX_REASON_LENGTH = 255
CLIENT_ORDER_ID_LENGTH = 32
CLIENT_ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9]{1,32}$")

client_order_id_validator = RegexValidator(
    CLIENT_ORDER_ID_PATTERN, "client order ids are 1 to 32 letters and digits (what OKX accepts)"
)


def invalid(field: str, message: str) -> InvalidInput:
    """The error for one bad field: ``"field: message"`` with ``details={field: [message]}``."""
    return InvalidInput(f"{field}: {message}", details={field: [message]})


def new_client_order_id() -> str:
    """32 alphanumeric characters: unique, and accepted by OKX's ``clOrdId``."""
    return uuid.uuid4().hex


def user_id(value: Any) -> str:
    """1 to 64 characters (no NUL), surrounding spaces removed; an integer is accepted as its text
    (HYPERRSI bots send OKX uids as numbers). Any other number (``12.5``, ``12.0``) is refused:
    its text is not the id the bot meant."""
    if isinstance(value, float | Decimal):
        raise invalid("user_id", "a string or an integer")
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not text or len(text) > MAX_USER_ID_LENGTH or "\x00" in text:
        raise invalid("user_id", f"1 to {MAX_USER_ID_LENGTH} characters")
    return text


def symbol(value: Any) -> str:
    """1 to 32 characters, no NUL (a native id such as ``BTC-USDT-SWAP`` or ccxt's ``BTC/USDT:USDT``)."""
    text = "" if value is None else str(value).strip()
    if not text or len(text) > MAX_SYMBOL_LENGTH or "\x00" in text:
        raise invalid("symbol", f"1 to {MAX_SYMBOL_LENGTH} characters")
    return text


def exchange(value: Any) -> Exchange:
    return Exchange.parse(value, field="exchange")


def position_side(value: Any, *, field: str = "side") -> PositionSide:
    return PositionSide.parse(value, field=field)


def order_side(value: Any) -> OrderSide:
    return OrderSide.parse(value, field="side")


def order_type(value: Any) -> OrderType:
    return OrderType.parse(value, field="order_type")


def margin_mode(value: Any) -> MarginMode:
    return MarginMode.parse(value if value not in (None, "") else MarginMode.CROSS, field="margin_mode")


def time_in_force(value: Any) -> TimeInForce:
    return TimeInForce.parse(value or TimeInForce.GTC, field="time_in_force")


def size(value: Any, *, field: str = "size") -> Decimal:
    """A positive base-currency amount that fits numeric(20,8) without losing digits."""
    return storable(value, field=field, positive=True)


def optional_price(value: Any, field: str) -> Decimal | None:
    """A positive price fitting numeric(20,8), or None for None / ""."""
    return None if value is None or value == "" else storable(value, field=field, positive=True)


ROUNDINGS = ("down", "up", "nearest")


def rounding(value: Any, field: str = "rounding") -> str | None:
    """None (refuse what is off the exchange's grid) or how to round onto it: down, up, nearest."""
    if value is None or value == "" or value is False:
        return None
    text = str(value).strip().lower()
    if text not in ROUNDINGS:
        raise invalid(field, f"one of {', '.join(ROUNDINGS)}")
    return text


def leverage(value: Any) -> int:
    """A whole number from 1 to 125 (``10``, ``"10"`` and ``"10.0"`` are 10; ``10.5`` is refused)."""
    message = f"an integer {MIN_LEVERAGE}..{MAX_LEVERAGE} is required"
    try:
        number = to_decimal(value, field="leverage")
    except InvalidInput:
        raise invalid("leverage", message) from None
    if number != number.to_integral_value() or not MIN_LEVERAGE <= number <= MAX_LEVERAGE:
        raise invalid("leverage", message)
    return int(number)


def grid_level(value: Any) -> int | None:
    """None (not a grid position) or a whole number from 0 to 100."""
    if value is None or value == "":
        return None
    message = f"integer {MIN_GRID_LEVEL}..{MAX_GRID_LEVEL}"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid("grid_level", message)
    try:
        level = int(value)
    except ValueError:
        raise invalid("grid_level", message) from None
    if not MIN_GRID_LEVEL <= level <= MAX_GRID_LEVEL:
        raise invalid("grid_level", message)
    return level


def client_order_id(value: Any) -> str | None:
    """None, or 1 to 32 letters and digits (what OKX accepts as ``clOrdId``)."""
    if value is None or value == "":
        return None
    text = str(value)
    if not CLIENT_ORDER_ID_PATTERN.match(text):
        raise invalid("client_order_id", "1 to 32 letters and digits")
    return text


def reason(value: Any) -> str:
    """Free text kept with a close, at most 255 characters (longer text is cut); None is ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid("reason", "a string is required")
    return value[:MAX_REASON_LENGTH]


MAX_METADATA_BYTES = 8192
MAX_METADATA_DEPTH = 32
# The largest number a reader parsing JSON numbers as doubles reads as a number, not Infinity.
MAX_METADATA_NUMBER = Decimal(sys.float_info.max)
# Keys the system writes into a position's or order's metadata and reads back (an order's
# metadata is merged into the position it opens). A caller of the HTTP API may not set them.
SYSTEM_METADATA_KEYS = frozenset({
    "entry_order_id", "pending_entry_order_id", "entry_order_status", "notice",  # opening
    "requested_quantity", "requested_price", "requested_trigger_price",  # rounding onto the grid
    "adopted", "reconciled", "estimate",  # reconciliation
    "legacy", "legacy_item", "tp_prices", "grid_count",  # legacy import and the HYPERRSI route
})  # fmt: skip


def metadata(value: Any, *, field: str = "metadata") -> dict[str, Any]:
    """A JSON object from the caller (None is an empty one): at most ``MAX_METADATA_DEPTH`` levels
    of objects and lists, ``MAX_METADATA_BYTES`` bytes as compact JSON (UTF-8, decimals as text,
    as it is stored), finite numbers a double can hold, no NUL character."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, "a JSON object is required")
    problem = _metadata_problem(value)
    if problem:
        raise invalid(field, problem)
    try:
        encoded = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise invalid(field, "only JSON values are allowed") from None
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise invalid(field, f"at most {MAX_METADATA_BYTES} bytes as JSON")
    return dict(value)


def caller_metadata(value: Any, *, field: str = "metadata") -> dict[str, Any]:
    """``metadata`` from an API caller: also without the keys the system maintains."""
    checked = metadata(value, field=field)
    taken = sorted(SYSTEM_METADATA_KEYS.intersection(checked))
    if taken:
        raise invalid(field, f"{', '.join(taken)}: set by the system, choose another key")
    return checked


def _metadata_problem(value: dict[str, Any]) -> str | None:
    """What is wrong inside ``value``, walked without recursion (its depth is what is checked)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_METADATA_DEPTH:
                return f"at most {MAX_METADATA_DEPTH} levels of objects and lists"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and "\x00" in item:
            return "NUL characters are not allowed"
        elif isinstance(item, float | Decimal | int) and not isinstance(item, bool) and not _json_number(item):
            return "numbers must be finite and fit a 64-bit float (no NaN, Infinity or 1e999)"
    return None


def _json_number(number: float | Decimal | int) -> bool:
    if isinstance(number, float):
        return math.isfinite(number)
    if isinstance(number, Decimal):
        return number.is_finite() and number.copy_abs() <= MAX_METADATA_NUMBER
    return abs(number) <= MAX_METADATA_NUMBER
