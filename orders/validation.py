"""Validation of order requests: shape and domain rules, before anything is saved or sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orders.models import client_order_id_validator
from positions.models import MAX_GRID_LEVEL
from tradingcore.decimals import storable
from tradingcore.enums import Exchange, OrderSide, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import InvalidInput

MAX_SYMBOL_LENGTH = 32
MAX_USER_ID_LENGTH = 64


@dataclass(frozen=True)
class OrderSpec:
    """A validated order request. ``quantity`` is in base currency."""

    user_id: str
    exchange: Exchange
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    grid_level: int | None = None
    client_order_id: str | None = None
    position_side: PositionSide | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def user_id(value: Any) -> str:
    text = str(value or "").strip()
    if not text or len(text) > MAX_USER_ID_LENGTH:
        raise InvalidInput("user_id: 1 to 64 characters required", details={"user_id": ["1 to 64 characters"]})
    return text


def symbol(value: Any) -> str:
    text = str(value or "").strip()
    if not text or len(text) > MAX_SYMBOL_LENGTH:
        raise InvalidInput("symbol: 1 to 32 characters required", details={"symbol": ["1 to 32 characters"]})
    return text


def grid_level(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInput("grid_level: an integer is required", details={"grid_level": ["integer 0..100"]})
    try:
        level = int(value)
    except ValueError:
        raise InvalidInput("grid_level: an integer is required", details={"grid_level": ["integer 0..100"]}) from None
    if not 0 <= level <= MAX_GRID_LEVEL:
        raise InvalidInput("grid_level: must be between 0 and 100", details={"grid_level": ["integer 0..100"]})
    return level


def optional_price(value: Any, name: str) -> Decimal | None:
    return None if value is None or value == "" else storable(value, field=name, positive=True)


def client_order_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    try:
        client_order_id_validator(text)
    except Exception:
        raise InvalidInput(
            "client_order_id: 1 to 32 letters and digits", details={"client_order_id": ["1 to 32 letters and digits"]}
        ) from None
    return text


def order_spec(**raw: Any) -> OrderSpec:
    """Validate the keyword arguments of ``create_order`` into an ``OrderSpec``."""
    order_type = OrderType.parse(raw["order_type"], field="order_type")
    spec = OrderSpec(
        user_id=user_id(raw["user_id"]),
        exchange=Exchange.parse(raw["exchange"], field="exchange"),
        symbol=symbol(raw["symbol"]),
        side=OrderSide.parse(raw["side"], field="side"),
        order_type=order_type,
        quantity=storable(raw["quantity"], field="quantity", positive=True),
        price=optional_price(raw.get("price"), "price"),
        trigger_price=optional_price(raw.get("trigger_price"), "trigger_price"),
        reduce_only=bool(raw.get("reduce_only", False)),
        post_only=bool(raw.get("post_only", False)),
        time_in_force=TimeInForce.parse(raw.get("time_in_force") or TimeInForce.GTC, field="time_in_force"),
        grid_level=grid_level(raw.get("grid_level")),
        client_order_id=client_order_id(raw.get("client_order_id")),
        position_side=PositionSide.parse_optional(raw.get("position_side"), field="position_side"),
        metadata=dict(raw.get("metadata") or {}),
    )
    _check_prices(spec)
    return spec


def _check_prices(spec: OrderSpec) -> None:
    needs_price = spec.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    if needs_price and spec.price is None:
        raise InvalidInput(f"price: required for {spec.order_type.value} orders", details={"price": ["required"]})
    if spec.order_type.is_triggered and spec.trigger_price is None:
        raise InvalidInput(
            f"trigger_price: required for {spec.order_type.value} orders", details={"trigger_price": ["required"]}
        )
    if not spec.order_type.is_triggered and spec.trigger_price is not None:
        raise InvalidInput(
            f"trigger_price: not allowed on {spec.order_type.value} orders", details={"trigger_price": ["not allowed"]}
        )
    if spec.post_only and spec.order_type != OrderType.LIMIT:
        raise InvalidInput("post_only: only limit orders can be post-only", details={"post_only": ["limit only"]})


def position_side_for(side: OrderSide, reduce_only: bool) -> PositionSide:
    """Hedge-mode convention: a buy opens a long or closes a short; a sell the opposite."""
    if side == OrderSide.BUY:
        return PositionSide.SHORT if reduce_only else PositionSide.LONG
    return PositionSide.LONG if reduce_only else PositionSide.SHORT
