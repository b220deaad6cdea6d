"""The anchor: the seeds' public position read, rebuilt here from its documented format to race against.

The seed (TradingBoost-Strategy, ``shared/services/position_manager.py``) answers
``get_positions(user_id, exchange, symbol)`` from Redis alone: for each side, ``long`` then
``short``, one ``HGETALL positions:{user_id}:{exchange}:{symbol}:{side}`` (two round trips, not
pipelined), and each non-empty hash becomes its pydantic ``Position``. Hash fields are strings:
decimals in plain notation, ``""`` for None, ``leverage`` and ``grid_level`` integers,
``metadata`` JSON, timestamps ISO 8601, P&L in ``realized_pnl`` / ``unrealized_pnl`` / ``fees``
folded into a nested ``pnl_info``. The model validates like the seed's: positive size and entry
price, leverage 1..125, grid level 0..100, the symbol upper-cased, the seed's five exchanges.

The seed has no read by user and exchange alone to race (that branch of its ``get_positions``
is a TODO that returns nothing), so only the symbol read is rebuilt.

This module is written from that description (no code of the seed is copied), with a sync
(``redis.Redis``) and an asyncio (``redis.asyncio.Redis``) reader, both ``decode_responses=True``
like the seed's client, and ``write_position`` to put anchor-format hashes in place for the race.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import redis
import redis.asyncio
from pydantic import BaseModel, Field, computed_field, field_validator

SIDES = ("long", "short")
ZERO = Decimal(0)


class Venue(StrEnum):
    OKX = "okx"
    BINANCE = "binance"
    UPBIT = "upbit"
    BITGET = "bitget"
    BYBIT = "bybit"


class Side(StrEnum):
    LONG = "long"
    SHORT = "short"


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LIQUIDATED = "liquidated"


class PnL(BaseModel):
    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    fees: Decimal = ZERO

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_pnl(self) -> Decimal:
        return self.realized_pnl + self.unrealized_pnl

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_pnl(self) -> Decimal:
        return self.total_pnl - self.fees


class AnchorPosition(BaseModel):
    """The seed's position model: same fields, same bounds, same derived values."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    user_id: str = Field(min_length=1)
    exchange: Venue
    symbol: str = Field(min_length=1)
    side: Side
    size: Decimal = Field(gt=0)
    entry_price: Decimal = Field(gt=0)
    current_price: Decimal | None = Field(default=None, gt=0)
    exit_price: Decimal | None = Field(default=None, gt=0)
    leverage: int = Field(default=1, ge=1, le=125)
    liquidation_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    pnl_info: PnL = Field(default_factory=PnL)
    status: Status = Status.OPEN
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    grid_level: int | None = Field(default=None, ge=0, le=100)

    @field_validator("symbol")
    @classmethod
    def _upper_symbol(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty symbol")
        return value.upper()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_open(self) -> bool:
        return self.status is Status.OPEN

    @computed_field  # type: ignore[prop-decorator]
    @property
    def notional_value(self) -> Decimal:
        return self.size * (self.current_price or self.entry_price)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pnl_percentage(self) -> Decimal:
        move = (self.current_price or self.entry_price) - self.entry_price
        sign = 1 if self.side is Side.LONG else -1
        return move / self.entry_price * 100 * sign


def position_key(user_id: str, exchange: str, symbol: str, side: str) -> str:
    return f"positions:{user_id}:{exchange}:{symbol}:{side}"


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda text: parse(text) if text else None


# How each hash field becomes a model argument; absent optional fields are left to the defaults.
_REQUIRED: dict[str, Callable[[str], Any]] = {
    "id": uuid.UUID,
    "user_id": str,
    "exchange": Venue,
    "symbol": str,
    "side": Side,
    "size": Decimal,
    "entry_price": Decimal,
    "leverage": int,
    "status": Status,
    "created_at": datetime.fromisoformat,
    "updated_at": datetime.fromisoformat,
}
_OPTIONAL: dict[str, Callable[[str], Any]] = {
    name: _optional(parse)
    for name, parse in {
        "current_price": Decimal,
        "exit_price": Decimal,
        "liquidation_price": Decimal,
        "stop_loss_price": Decimal,
        "take_profit_price": Decimal,
        "closed_at": datetime.fromisoformat,
        "grid_level": int,
    }.items()
}


def from_hash(fields: dict[str, str]) -> AnchorPosition:
    """One Redis hash (strings) to the model, the way the seed's reader decodes it."""
    values = {name: parse(fields[name]) for name, parse in _REQUIRED.items()}
    values.update({name: parse(fields.get(name, "")) for name, parse in _OPTIONAL.items()})
    values["pnl_info"] = PnL(**{name: Decimal(fields.get(name) or "0") for name in PnL.model_fields})
    values["metadata"] = json.loads(fields.get("metadata") or "{}")
    return AnchorPosition(**values)


def to_hash(position: AnchorPosition) -> dict[str, str]:
    """The model as the seed stores it: every value a string, None as ""."""
    plain = position.model_dump(exclude={"pnl_info", "is_open", "notional_value", "pnl_percentage"})
    fields = {name: "" if value is None else _text(value) for name, value in plain.items()}
    fields.update({name: str(getattr(position.pnl_info, name)) for name in PnL.model_fields})
    fields["metadata"] = json.dumps(position.metadata)
    return fields


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def write_position(client: redis.Redis, position: AnchorPosition) -> str:
    key = position_key(position.user_id, position.exchange, position.symbol, position.side)
    client.hset(key, mapping=to_hash(position))  # type: ignore[arg-type]
    return key


def read_positions(client: redis.Redis, *, user_id: str, exchange: str, symbol: str) -> list[AnchorPosition]:
    """The seed's ``get_positions`` with a symbol and no side: one HGETALL per side, in turn."""
    found = []
    for side in SIDES:
        fields = client.hgetall(position_key(user_id, exchange, symbol, side))
        if fields:
            found.append(from_hash(fields))  # type: ignore[arg-type]
    return found


class AsyncReader:
    """The same read on ``redis.asyncio`` (the seed's client); one client per event loop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: redis.asyncio.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _current(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = redis.asyncio.Redis.from_url(self.url, decode_responses=True), loop
        return self._client

    async def read_positions(self, *, user_id: str, exchange: str, symbol: str) -> list[AnchorPosition]:
        client = self._current()
        found = []
        for side in SIDES:
            fields = await client.hgetall(position_key(user_id, exchange, symbol, side))
            if fields:
                found.append(from_hash(fields))
        return found


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)
