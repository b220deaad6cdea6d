"""Read paths for positions. Lookups work with or without a symbol (unlike the seed's)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from positions.models import Position
from tradingcore import dto
from tradingcore.enums import Exchange, PositionSide, PositionStatus
from tradingcore.exchange import instruments
from tradingcore.selectors import owned_row


def position_row(position_id: Any, *, user_id: str | None = None) -> Position:
    """The row, or ``NotFound`` (also for another user's position: never reveal it exists)."""
    return owned_row(Position, position_id, user_id=user_id)


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
    queryset = Position.objects.all()
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    if exchange is not None:
        queryset = queryset.filter(exchange=Exchange.parse(exchange, field="exchange"))
    if symbol:
        queryset = queryset.filter(symbol=instruments.native_symbol(exchange, symbol))
    if side is not None:
        queryset = queryset.filter(side=PositionSide.parse(side, field="side"))
    if grid_level is not None:
        queryset = queryset.filter(grid_level=grid_level)
    if status is not None:
        queryset = queryset.filter(status=PositionStatus.parse(status, field="status"))
    return queryset.order_by("-created_at")


def get_positions(**filters: Any) -> list[dto.Position]:
    return [dto.Position.from_row(row) for row in position_queryset(**filters)]


def get_position(position_id: Any, *, user_id: str | None = None) -> dto.Position:
    return dto.Position.from_row(position_row(position_id, user_id=user_id))
