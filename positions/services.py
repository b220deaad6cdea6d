"""``PositionManager``: the in-process API of positions, with the seeds' method and keyword names.

A thin facade: opening, closing and updating live in ``positions.lifecycle``, fills in
``positions.ledger``, protective orders in ``positions.protection``, marks and PnL in
``positions.marks``, reads in ``positions.selectors`` and reconciliation in
``positions.reconciliation``. Views, admin actions and commands call these methods.
"""

from __future__ import annotations

from typing import Any

from positions import lifecycle, marks, reconciliation, selectors
from tradingcore import dto
from tradingcore.enums import Exchange
from tradingcore.facades import pick, with_async_twins
from tradingcore.metrics import POSITION_MANAGER_LATENCY, timed

SYSTEM_ACTOR = lifecycle.SYSTEM_ACTOR
UNSET = lifecycle.UNSET


@with_async_twins
@timed(POSITION_MANAGER_LATENCY)
class PositionManager:
    """The in-process API of positions, with the seeds' method and keyword names.

    ``stop_loss`` / ``stop_loss_price`` and ``take_profit`` / ``take_profit_price`` are both
    accepted. Every method has an ``a``-prefixed async twin (``aopen_position``). Constructor
    arguments of the seeds (an exchange store, a Redis client) are accepted and ignored: exchange
    access and Redis come from the service's own configuration. ``actor`` names who acts
    (``api:<key>``, ``admin:<user>``, ``system:<component>``) in the event log.
    """

    def __init__(self, *args: Any, actor: str = SYSTEM_ACTOR, **kwargs: Any) -> None:
        self.actor = actor

    def open_position(self, **kwargs: Any) -> dto.Position:
        """Open or add to a position (``lifecycle.open_position``); sizes in base currency."""
        kwargs["stop_loss_price"] = pick(kwargs, "stop_loss_price", "stop_loss")
        kwargs["take_profit_price"] = pick(kwargs, "take_profit_price", "take_profit")
        kwargs.setdefault("actor", self.actor)
        return lifecycle.open_position(**kwargs)

    def close_position(self, position_id: Any = None, **kwargs: Any) -> dto.Position:
        """Close all or part of a position at market (``lifecycle.close_position``)."""
        kwargs.setdefault("actor", self.actor)
        return lifecycle.close_position(position_id, **kwargs)

    def get_positions(self, **filters: Any) -> list[dto.Position]:
        """Positions by user, exchange and any of symbol, side, grid level, status (default open)."""
        return selectors.get_positions(**filters)

    async def aget_positions(self, **filters: Any) -> list[dto.Position]:
        """Async twin of ``get_positions``, served from Redis when it is current (no thread, no reconnect)."""
        return await selectors.aget_positions(**filters)

    def get_position(self, position_id: Any, *, user_id: str | None = None) -> dto.Position:
        return selectors.get_position(position_id, user_id=user_id)

    def update_position(self, position_id: Any, **kwargs: Any) -> dto.Position:
        """Change stop-loss / take-profit or metadata (``lifecycle.update_position``)."""
        for canonical, alias in (("stop_loss_price", "stop_loss"), ("take_profit_price", "take_profit")):
            value = pick(kwargs, canonical, alias, default=UNSET)
            if value is not UNSET:
                kwargs[canonical] = value
        kwargs.setdefault("actor", self.actor)
        return lifecycle.update_position(position_id, **kwargs)

    def calculate_pnl(self, position: Any, current_price: Any = None) -> dto.PnLInfo:
        return marks.calculate_pnl(position, current_price)

    def refresh_marks(self, **kwargs: Any) -> int:
        kwargs.setdefault("actor", self.actor)
        return marks.refresh_marks(**kwargs)

    def sync_positions_from_exchange(self, *, user_id: str, exchange: Exchange | str, apply: bool = False) -> Any:
        """Compare with the exchange and, with ``apply``, adopt or close (``reconciliation``)."""
        return reconciliation.reconcile_account(user_id=user_id, exchange=exchange, apply=apply, actor=self.actor)
