"""A validated order request (``OrderSpec``): what ``create_order`` and the position services place.

Field rules come from ``tradingcore.validation``; this module adds the rules of an order's shape
(a limit needs a price, a trigger order a trigger price, post-only only on limits) and the facts
an order carries for its position (role, side, margin mode, leverage, reason, protection to
attach). Nothing here reads the database or the exchange; the market's lot and tick are checked
when the order row is built (``placement.new_order``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradingcore import validation
from tradingcore.enums import Exchange, MarginMode, OrderRole, OrderSide, OrderType, PositionSide, TimeInForce
from tradingcore.validation import invalid


@dataclass(frozen=True)
class OrderSpec:
    """A validated order request. ``quantity`` is in base currency (before lot rounding)."""

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
    metadata: dict[str, Any] = field(default_factory=dict)
    role: OrderRole = OrderRole.PLAIN
    position_side: PositionSide | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    leverage: int | None = None
    reason: str = ""
    attached_stop_loss_price: Decimal | None = None
    attached_take_profit_price: Decimal | None = None
    position_id: uuid.UUID | None = None
    opens_position_id: uuid.UUID | None = None
    # Off the exchange's lot or tick grid: refused unless the caller asks to round (down, up,
    # nearest); then what was placed is stored and the request kept in the metadata.
    rounding: str | None = None
    price_rounding: str | None = None
    size_field: str = "quantity"  # the caller's name of the size, for error messages
    # A one-way (net) account: the order carries no position side and its fills net (SPEC 4).
    net: bool = False

    @property
    def effective_position_side(self) -> PositionSide:
        """The hedge-mode side this order opens or reduces (given, else implied by side and reduce-only)."""
        return self.position_side or position_side_for(self.side, self.reduce_only)


def order_spec(**raw: Any) -> OrderSpec:
    """Validate the keyword arguments of ``create_order`` into an ``OrderSpec``.

    Raises ``InvalidInput`` naming the first bad field.
    """
    spec = OrderSpec(
        user_id=validation.user_id(raw["user_id"]),
        exchange=validation.exchange(raw["exchange"]),
        symbol=validation.symbol(raw["symbol"]),
        side=validation.order_side(raw["side"]),
        order_type=validation.order_type(raw["order_type"]),
        quantity=validation.size(raw["quantity"], field="quantity"),
        price=validation.optional_price(raw.get("price"), "price"),
        trigger_price=validation.optional_price(raw.get("trigger_price"), "trigger_price"),
        reduce_only=bool(raw.get("reduce_only", False)),
        post_only=bool(raw.get("post_only", False)),
        time_in_force=validation.time_in_force(raw.get("time_in_force")),
        grid_level=validation.grid_level(raw.get("grid_level")),
        client_order_id=validation.client_order_id(raw.get("client_order_id")),
        metadata=validation.metadata(raw.get("metadata")),
        position_side=_position_side(raw),
        margin_mode=validation.margin_mode(raw.get("margin_mode")),
        rounding=validation.rounding(raw.get("rounding")),
        price_rounding=validation.rounding(raw.get("price_rounding"), "price_rounding"),
    )
    check_shape(spec)
    return spec


def _position_side(raw: dict[str, Any]) -> PositionSide | None:
    """``position_side``, or OKX's ``posSide`` in the metadata as the seed documents pass it."""
    given = PositionSide.parse_optional(raw.get("position_side"), field="position_side")
    metadata = raw.get("metadata")
    pos_side = metadata.get("posSide") if isinstance(metadata, dict) else None
    if pos_side in (None, "", "net"):
        return given
    from_metadata = PositionSide.parse_optional(pos_side, field="metadata.posSide")
    if given is not None and given != from_metadata:
        raise invalid("position_side", f"{given.value} disagrees with metadata posSide {pos_side}")
    return from_metadata


def check_shape(spec: OrderSpec) -> None:
    """The price fields an order type needs or forbids; post-only only on limit orders."""
    needs_price = spec.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    if needs_price and spec.price is None:
        raise invalid("price", f"required for {spec.order_type.value} orders")
    if spec.order_type.is_triggered and spec.trigger_price is None:
        raise invalid("trigger_price", f"required for {spec.order_type.value} orders")
    if not spec.order_type.is_triggered and spec.trigger_price is not None:
        raise invalid("trigger_price", f"not allowed on {spec.order_type.value} orders")
    if spec.post_only and spec.order_type != OrderType.LIMIT:
        raise invalid("post_only", "only limit orders can be post-only")


def position_side_for(side: OrderSide, reduce_only: bool) -> PositionSide:
    """Hedge-mode convention: a buy opens a long or closes a short; a sell the opposite."""
    if side == OrderSide.BUY:
        return PositionSide.SHORT if reduce_only else PositionSide.LONG
    return PositionSide.LONG if reduce_only else PositionSide.SHORT
