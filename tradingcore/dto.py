"""Pydantic DTOs mirroring the seed models ``Position``, ``Order`` and ``PnLInfo``.

They are what the managers return to in-process callers and what the Redis projection encodes.
``from_row`` reads any object with the model's attribute names (the ORM rows), so this module does
not import the Django apps; ``row_fields`` gives back the values for the ORM columns.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from tradingcore import pnl
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import (
    Exchange,
    MarginMode,
    OrderRole,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
    TimeInForce,
)


def _now() -> datetime:
    return datetime.now(UTC)


class _DTO(BaseModel):
    model_config = ConfigDict(from_attributes=True, validate_assignment=True, use_enum_values=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, value: Any) -> Any:
        # A float in a money path is a bug: go through str so 0.1 stays 0.1.
        if isinstance(value, float):
            return Decimal(str(value))
        return value


class PnLInfo(_DTO):
    """Profit and loss of one position at one price."""

    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    pnl_percentage: Decimal = ZERO
    roe_percentage: Decimal = ZERO

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl - self.fees


class Position(_DTO):
    """A position as the seed describes it; ``size`` is in base currency."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    user_id: str
    exchange: Exchange
    symbol: str
    side: PositionSide
    size: Decimal
    entry_price: Decimal
    current_price: Decimal | None = None
    exit_price: Decimal | None = None
    leverage: int = 1
    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    contract_size: Decimal | None = None
    pnl_info: PnLInfo = Field(default_factory=PnLInfo)
    status: PositionStatus = PositionStatus.OPEN
    grid_level: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    close_reason: str = ""
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    closed_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def notional_value(self) -> Decimal:
        """Size times the mark, or the entry price while no mark is known."""
        return pnl.notional(self.size, self.current_price or self.entry_price)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pnl_percentage(self) -> Decimal:
        if self.current_price is None:
            return ZERO
        return pnl.pnl_percentage(self.side, self.entry_price, self.current_price)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_open(self) -> bool:
        return self.status == PositionStatus.OPEN

    @classmethod
    def from_row(cls, row: Any) -> Position:
        """Build from an ORM ``positions.Position`` row (or anything with its attributes)."""
        values = {name: getattr(row, name) for name in _POSITION_ROW_FIELDS}
        values["pnl_info"] = pnl_info_for(
            side=row.side,
            size=row.size,
            entry_price=row.entry_price,
            leverage=row.leverage,
            mark=row.current_price if row.status == PositionStatus.OPEN else None,
            realized_pnl=row.realized_pnl,
            unrealized_pnl=row.unrealized_pnl,
            fees=row.fees,
        )
        return cls.model_validate(values)

    def row_fields(self) -> dict[str, Any]:
        """Column values for the ORM row, PnL flattened into its three columns."""
        values = {name: getattr(self, name) for name in _POSITION_ROW_FIELDS}
        values.update(
            realized_pnl=self.pnl_info.realized_pnl,
            unrealized_pnl=self.pnl_info.unrealized_pnl,
            fees=self.pnl_info.fees,
        )
        return values


_POSITION_ROW_FIELDS = (
    "id",
    "user_id",
    "exchange",
    "symbol",
    "side",
    "size",
    "entry_price",
    "current_price",
    "exit_price",
    "leverage",
    "stop_loss_price",
    "take_profit_price",
    "liquidation_price",
    "margin_mode",
    "contract_size",
    "status",
    "grid_level",
    "metadata",
    "close_reason",
    "created_at",
    "updated_at",
    "closed_at",
)


class Order(_DTO):
    """An order as the seed describes it; ``quantity`` and ``filled_qty`` are in base currency.

    Beyond the seed: ``role`` (what the order does to its position), ``position_side`` (OKX
    ``posSide``), ``margin_mode`` (``tdMode``), ``contract_size`` (base units per contract on the
    exchange, None when unknown), ``leverage`` set for it, and the close ``reason``.
    """

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    user_id: str
    exchange: Exchange
    exchange_order_id: str | None = None
    client_order_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    filled_qty: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    status: OrderStatus = OrderStatus.PENDING
    reduce_only: bool = False
    post_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    position_id: uuid.UUID | None = None
    grid_level: int | None = None
    fee: Decimal = ZERO
    fee_currency: str = ""
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO
    funding_fee: Decimal = ZERO
    last_error: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    role: OrderRole = OrderRole.PLAIN
    position_side: PositionSide | None = None
    margin_mode: MarginMode = MarginMode.CROSS
    contract_size: Decimal | None = None
    leverage: int | None = None
    reason: str = ""
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)
    filled_at: datetime | None = None

    @field_validator("position_side", mode="before")
    @classmethod
    def _blank_side_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining_qty(self) -> Decimal:
        return self.quantity - self.filled_qty

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fill_percentage(self) -> Decimal:
        if self.quantity == 0:
            return ZERO
        return quantize(self.filled_qty / self.quantity * 100)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_filled(self) -> bool:
        return self.status == OrderStatus.FILLED

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_active(self) -> bool:
        return OrderStatus(self.status).is_live

    @classmethod
    def from_row(cls, row: Any) -> Order:
        """Build from an ORM ``orders.Order`` row (or anything with its attributes)."""
        return cls.model_validate({name: getattr(row, name) for name in _ORDER_ROW_FIELDS})

    def row_fields(self) -> dict[str, Any]:
        """Column values for the ORM row (a missing ``position_side`` is stored as "")."""
        values = {name: getattr(self, name) for name in _ORDER_ROW_FIELDS}
        values["position_side"] = self.position_side or ""
        return values


_ORDER_ROW_FIELDS = tuple(Order.model_fields)


def pnl_info_for(
    *,
    side: PositionSide | str,
    size: Decimal,
    entry_price: Decimal,
    leverage: int,
    mark: Decimal | None,
    realized_pnl: Decimal,
    unrealized_pnl: Decimal = ZERO,
    fees: Decimal = ZERO,
) -> PnLInfo:
    """PnL of a position at ``mark``; without a mark the stored unrealized figure is kept."""
    if mark is None:
        return PnLInfo(realized_pnl=realized_pnl, unrealized_pnl=unrealized_pnl, fees=fees)
    upnl = pnl.unrealized(side, size, entry_price, mark)
    return PnLInfo(
        realized_pnl=realized_pnl,
        unrealized_pnl=upnl,
        fees=fees,
        pnl_percentage=pnl.pnl_percentage(side, entry_price, mark),
        roe_percentage=pnl.roe_percentage(upnl, entry_price, size, leverage),
    )
