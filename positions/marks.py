"""Marks and PnL: refreshing positions' mark price and unrealized PnL, and PnL at any price."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.db import transaction

from positions import events, lifecycle, selectors
from positions.models import Position
from tradingcore import dto, mark_history, pnl, validation
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import PositionStatus
from tradingcore.exceptions import ExchangeError
from tradingcore.exchange import get_gateway

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "system:position_manager"


def calculate_pnl(position: Any, current_price: Any = None) -> dto.PnLInfo:
    """PnL of a position (DTO, row or id) at ``current_price`` (default: its stored mark).

    Leverage never multiplies PnL (SPEC 4). A position that is no longer open has no unrealized
    PnL at any price: its PnL is what it realized (issue 9, kind 9). Raises ``InvalidInput`` for
    a bad price and ``ObjectNotFound`` for an unknown id.
    """
    if isinstance(position, Position):
        position = dto.Position.from_row(position)
    elif not isinstance(position, dto.Position):
        position = selectors.get_position(position)
    mark = None if current_price is None else validation.size(current_price, field="current_price")
    if position.status != PositionStatus.OPEN:
        return dto.PnLInfo(
            realized_pnl=position.pnl_info.realized_pnl, unrealized_pnl=ZERO, fees=position.pnl_info.fees
        )
    return dto.pnl_info_for(
        side=position.side,
        size=position.size,
        entry_price=position.entry_price,
        leverage=position.leverage,
        mark=mark if mark is not None else position.current_price,
        realized_pnl=position.pnl_info.realized_pnl,
        unrealized_pnl=position.pnl_info.unrealized_pnl,
        fees=position.pnl_info.fees,
    )


def refresh_marks(
    *, positions: list[Position] | None = None, actor: str = SYSTEM_ACTOR, record_event: bool = False
) -> int:
    """Fetch marks for open positions (all, or the given ones) and store mark and unrealized PnL.

    One mark request per (user, exchange, symbol); an unreachable exchange skips its positions.
    Each market's mark also goes to its history (``tradingcore.mark_history``, for the admin's
    charts). Returns how many positions changed.
    """
    rows = positions if positions is not None else list(Position.objects.filter(status=PositionStatus.OPEN))
    marks = _marks_of(rows)
    changed = 0
    for row in rows:
        mark = marks[(row.user_id, row.exchange, row.symbol)]
        if mark is not None and _store_mark(row.pk, mark, actor, record_event):
            changed += 1
    return changed


def _marks_of(rows: list[Position]) -> dict[tuple[str, str, str], Decimal | None]:
    """The mark of each (user, exchange, symbol) of ``rows``, one request each; each market's mark
    goes to its history once."""
    keys = dict.fromkeys((row.user_id, row.exchange, row.symbol) for row in rows)
    marks = {key: _mark_or_none(*key) for key in keys}
    by_market = {(exchange, symbol): mark for (_, exchange, symbol), mark in marks.items() if mark is not None}
    for (exchange, symbol), mark in by_market.items():
        mark_history.record(exchange, symbol, mark)
    return marks


def refresh_all_marks(actor: str) -> int:
    """The fill watcher's periodic task (registered with ``orders.hooks``)."""
    return refresh_marks(actor=actor)


def _mark_or_none(user_id: str, exchange: str, symbol: str) -> Decimal | None:
    try:
        mark = get_gateway(user_id, exchange).fetch_mark_price(symbol)
    except ExchangeError as exc:
        logger.warning("mark of %s %s unavailable: %s", exchange, symbol, exc)
        return None
    return mark


def _store_mark(position_id: Any, mark: Decimal, actor: str, record_event: bool) -> bool:
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position_id)
        if position.status != PositionStatus.OPEN or (position.current_price == mark and not record_event):
            return False
        position.current_price = quantize(mark)
        position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)
        rows = [events.position_mark_refreshed(position, actor, mark=mark)] if record_event else []
        lifecycle.save_with_events(position, rows, "position.updated")
    return True
