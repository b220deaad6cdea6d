"""Read paths for positions. Lookups work with or without a symbol (unlike the seed's).

Open positions of a user on one exchange are served from the Redis projection when it can be
trusted (``tradingcore.redis.reader``: confirmed current, and no projection of that user failed
in this process since). Otherwise, and for every other question, PostgreSQL answers. A reader
never sees a state older than its own last write.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from redis.exceptions import RedisError

from positions.models import Position, PositionEvent
from tradingcore import db, dto, validation
from tradingcore.enums import Exchange, PositionSide, PositionStatus
from tradingcore.exchange import instruments
from tradingcore.redis import reader
from tradingcore.selectors import of_market, owned_row


def position_row(position_id: Any, *, user_id: str | None = None) -> Position:
    """The row, or ``ObjectNotFound`` (also for another user's position: never reveal it exists)."""
    return owned_row(Position, position_id, user_id=user_id)


def open_position_row(
    user_id: str, exchange: Exchange | str, symbol: str, side: PositionSide | str, grid_level: int | None
) -> Position | None:
    """The open position of one key (native symbol), or None."""
    key = {"user_id": user_id, "exchange": exchange, "symbol": symbol, "side": side, "grid_level": grid_level,
           "status": PositionStatus.OPEN}  # fmt: skip
    found = db.select(Position, where=key, limit=1)
    return found[0] if found else None


def position_queryset(
    *,
    user_id: str | None = None,
    exchange: Exchange | str | None = None,
    symbol: str | None = None,
    side: PositionSide | str | None = None,
    grid_level: int | None = None,
    status: PositionStatus | str | None = PositionStatus.OPEN,
) -> QuerySet[Position]:
    """Positions matching every filter given; ``status=None`` means any status."""
    queryset = of_market(Position.objects.all(), user_id=user_id, exchange=exchange, symbol=symbol)
    if side is not None:
        queryset = queryset.filter(side=PositionSide.parse(side, field="side"))
    if grid_level is not None:
        queryset = queryset.filter(grid_level=grid_level)
    if status is not None:
        queryset = queryset.filter(status=PositionStatus.parse(status, field="status"))
    return queryset.order_by("-created_at")


def get_positions(**filters: Any) -> list[dto.Position]:
    """Positions matching ``filters`` (see ``position_queryset``), newest first."""
    question = _projection_question(filters)
    if question is not None:
        try:
            found = reader.open_positions(**question)
        except RedisError:
            found = None
        if found is not None:
            return _narrow(found, filters)
    return [dto.Position.from_row(row) for row in position_queryset(**filters)]


async def aget_positions(**filters: Any) -> list[dto.Position]:
    """Async ``get_positions``: Redis through redis.asyncio, PostgreSQL through Django's async ORM
    (one persistent connection, no reconnect per call)."""
    question = _projection_question(filters)
    if question is not None:
        try:
            found = await reader.aopen_positions(**question)
        except RedisError:
            found = None
        if found is not None:
            return _narrow(found, filters)
    return [dto.Position.from_row(row) async for row in position_queryset(**filters)]


def _projection_question(filters: dict[str, Any]) -> dict[str, Any] | None:
    """What to ask the projection (user, exchange, native symbol), or None when it cannot answer:
    it holds open positions of one user on one exchange only."""
    status = filters.get("status", PositionStatus.OPEN)
    if filters.get("user_id") is None or filters.get("exchange") is None or status is None:
        return None
    if PositionStatus.parse(status, field="status") != PositionStatus.OPEN:
        return None
    exchange = validation.exchange(filters["exchange"])
    symbol = filters.get("symbol")
    native = instruments.native_symbol(exchange, symbol) if symbol else None
    return {"user_id": filters["user_id"], "exchange": exchange.value, "symbol": native}


def _narrow(positions: list[dto.Position], filters: dict[str, Any]) -> list[dto.Position]:
    side = filters.get("side")
    wanted_side = PositionSide.parse(side, field="side") if side is not None else None
    level = filters.get("grid_level")
    return [
        position
        for position in positions
        if (wanted_side is None or position.side == wanted_side) and (level is None or position.grid_level == level)
    ]


def get_position(position_id: Any, *, user_id: str | None = None) -> dto.Position:
    return dto.Position.from_row(position_row(position_id, user_id=user_id))


def position_events(position_id: Any) -> QuerySet[PositionEvent]:
    """The event log of a position, oldest first."""
    return PositionEvent.objects.filter(position_id=position_id).order_by("id")


def latest_event(position_id: Any, event_type: str) -> dict[str, Any] | None:
    """The parameters of the position's latest event of ``event_type``, or None."""
    event = PositionEvent.objects.filter(position_id=position_id, type=event_type).order_by("-id").first()
    return None if event is None else dict(event.parameters)
