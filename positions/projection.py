"""Positions as the Redis projection sees them: rows to ``PositionChange`` DTOs, and the read side
the projection uses for the outbox drain, the rebuild and the verification (registered in
``PositionsConfig.ready()``).

Most changes need nothing but the row in hand. A closing change of a legacy slot owner names the
slot's successor (one indexed query), and a grid position carries its level's realized-PnL total
(GRID's running ``pnl``), read in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Max, Sum, Window
from django.db.models.functions import RowNumber

from positions.models import Position
from tradingcore import dto
from tradingcore.decimals import ZERO
from tradingcore.enums import PositionStatus
from tradingcore.redis import keys, plan, sources


def change(position: Position, event: str | None = None) -> plan.PositionChange:
    """The projection change for the position's current (in-memory) state."""
    value = dto.Position.from_row(position)
    if position.grid_level is not None:
        return _grid_change(position, value, event)
    successor = None
    if position.status != PositionStatus.OPEN:
        same_slot = Position.objects.filter(
            user_id=position.user_id, symbol=position.symbol, side=position.side, grid_level=None
        )
        successor = _oldest_open(same_slot.exclude(pk=position.pk))
    return plan.PositionChange(position=value, version=position.version, event=event, hyperrsi_successor=successor)


def _grid_change(position: Position, value: dto.Position, event: str | None) -> plan.PositionChange:
    level = Position.objects.filter(
        user_id=position.user_id, exchange=position.exchange, symbol=position.symbol, grid_level=position.grid_level
    )
    totals = level.aggregate(pnl=Sum("realized_pnl"), last_closed=Max("closed_at"))
    successor = None
    if position.status != PositionStatus.OPEN:
        successor = _oldest_open(level.exclude(pk=position.pk))
    return plan.PositionChange(
        position=value,
        version=position.version,
        event=event,
        grid_successor=successor,
        grid_pnl=_level_pnl(totals["pnl"], position),
        grid_last_closed=totals["last_closed"],
    )


def _level_pnl(stored_total: Decimal | None, position: Position) -> Decimal:
    # A position created in this transaction is not inserted yet: its realized PnL (zero) is not
    # in the stored total.
    return (stored_total or ZERO) + (position.realized_pnl if position._state.adding else ZERO)


def _oldest_open(queryset: Any) -> dto.Position | None:
    row = queryset.filter(status=PositionStatus.OPEN).order_by("created_at", "id").first()
    return None if row is None else dto.Position.from_row(row)


# -- the read side the projection uses --------------------------------------------------------------


def load_change(position_id: Any, event: str | None) -> plan.PositionChange | None:
    position = Position.objects.filter(pk=position_id).first()
    return None if position is None else change(position, event)


def facts(user_id: str, now: datetime) -> plan.PositionFacts:
    rows = Position.objects.filter(user_id=user_id)
    open_rows = list(rows.filter(status=PositionStatus.OPEN))
    return plan.PositionFacts(
        open_positions=[dto.Position.from_row(row) for row in open_rows],
        history=_history(user_id),
        exchanges=frozenset(rows.values_list("exchange", flat=True).distinct()),
        hyperrsi_slots=frozenset(rows.filter(grid_level__isnull=True).values_list("symbol", "side").distinct()),
        grid_levels=_grid_levels(user_id, open_rows),
        versions=_versions(user_id),
    )


def _closed_newest_first() -> list[Any]:
    return [F("closed_at").desc(nulls_last=True), F("updated_at").desc(), F("id").desc()]


def _history(user_id: str) -> dict[str, list[dto.Position]]:
    ranked = (
        Position.objects.filter(user_id=user_id)
        .exclude(status=PositionStatus.OPEN)
        .annotate(rank=Window(RowNumber(), partition_by=[F("exchange")], order_by=_closed_newest_first()))
        .filter(rank__lte=plan.HISTORY_CAP)
        .order_by("exchange", *_closed_newest_first())
    )
    history: dict[str, list[dto.Position]] = {}
    for row in ranked:
        history.setdefault(row.exchange, []).append(dto.Position.from_row(row))
    return history


def _grid_levels(user_id: str, open_rows: list[Position]) -> list[plan.GridLevel]:
    levels = (
        Position.objects.filter(user_id=user_id, grid_level__isnull=False)
        .values("exchange", "symbol", "grid_level")
        .annotate(pnl=Sum("realized_pnl"), last_closed=Max("closed_at"))
        .order_by("exchange", "symbol", "grid_level")
    )
    result = []
    for level in levels:
        if level["grid_level"] is None:  # excluded by the filter; narrows the type
            continue
        occupants = [
            dto.Position.from_row(row)
            for row in open_rows
            if (row.exchange, row.symbol, row.grid_level) == (level["exchange"], level["symbol"], level["grid_level"])
        ]
        result.append(
            plan.GridLevel(
                exchange=level["exchange"],
                symbol=level["symbol"],
                level=level["grid_level"],
                occupant=plan.oldest(occupants),
                pnl=level["pnl"] or ZERO,
                last_closed=level["last_closed"],
            )
        )
    return result


def _versions(user_id: str) -> dict[str, int]:
    rows = Position.objects.filter(user_id=user_id).values_list("id", "version")
    return {keys.projection_version("position", pk): version for pk, version in rows}


def user_ids() -> Iterable[str]:
    return Position.objects.order_by().values_list("user_id", flat=True).distinct()


def liveness(position_ids: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    fields = ("id", "user_id", "exchange", "symbol", "side", "grid_level", "status")
    return {row["id"]: row for row in Position.objects.filter(pk__in=list(position_ids)).values(*fields)}


SOURCE = sources.Source(
    kind=sources.POSITION, load_change=load_change, facts=facts, user_ids=user_ids, liveness=liveness
)
