"""One small builder per position event type.

Each returns an unsaved ``PositionEvent``; the service inserts it with the other new rows of the
change (``tradingcore.db.insert_rows``), inside the transaction of the change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from positions.models import Position, PositionEvent

T = PositionEvent.Type


def _event(position: Position, type_: str, actor: str, **parameters: Any) -> PositionEvent:
    return PositionEvent(position=position, type=type_, actor=actor, parameters=parameters)


def position_opened(position: Position, actor: str, *, order_id: Any, qty: Decimal, price: Decimal) -> PositionEvent:
    return _event(position, T.OPENED, actor, order_id=str(order_id), qty=qty, price=price, size=position.size)


def position_increased(position: Position, actor: str, *, order_id: Any, qty: Decimal, price: Decimal) -> PositionEvent:
    return _event(
        position, T.INCREASED, actor, order_id=str(order_id), qty=qty, price=price, size=position.size,
        entry_price=position.entry_price,
    )  # fmt: skip


def position_reduced(
    position: Position, actor: str, *, order_id: Any, qty: Decimal, price: Decimal, realized: Decimal
) -> PositionEvent:
    type_ = T.REDUCED if position.status == "open" else T.CLOSED
    return _event(
        position, type_, actor, order_id=str(order_id), qty=qty, price=price, realized_pnl=realized,
        size=position.size, reason=position.close_reason,
    )  # fmt: skip


def position_protection_changed(position: Position, actor: str, **changes: Any) -> PositionEvent:
    return _event(position, T.PROTECTION_CHANGED, actor, **changes)


def position_updated(position: Position, actor: str, **changes: Any) -> PositionEvent:
    return _event(position, T.UPDATED, actor, **changes)


def position_mark_refreshed(position: Position, actor: str, *, mark: Decimal) -> PositionEvent:
    return _event(position, T.MARK_REFRESHED, actor, mark=mark, unrealized_pnl=position.unrealized_pnl)


def position_reconciled(position: Position, actor: str, **parameters: Any) -> PositionEvent:
    return _event(position, T.RECONCILED, actor, **parameters)


def position_protection_refused(position: Position, actor: str, **parameters: Any) -> PositionEvent:
    return _event(position, T.PROTECTION_REFUSED, actor, **parameters)


def position_leverage_changed(
    position: Position, actor: str, *, order_id: Any, previous: int, reason: str = "fill"
) -> PositionEvent:
    return _event(
        position, T.LEVERAGE_CHANGED, actor, order_id=None if order_id is None else str(order_id), previous=previous,
        leverage=position.leverage, reason=reason,
    )  # fmt: skip


def position_imported(position: Position, actor: str, **parameters: Any) -> PositionEvent:
    """The position was read from a legacy Redis record (``source_key`` names it)."""
    return _event(position, T.IMPORTED, actor, **parameters)


def position_reviewed(position: Position, actor: str, *, previous: str) -> PositionEvent:
    """An operator approved or flagged the position (the review fields as they now stand)."""
    return _event(
        position, T.REVIEWED, actor, status=position.review_status, previous=previous, note=position.review_note,
        reviewed_by=position.reviewed_by,
    )  # fmt: skip
