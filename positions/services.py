"""``PositionManager``: the in-process API of positions, with the seeds' method and keyword names.

A thin facade: opening, closing and updating live in ``positions.lifecycle``, fills in
``positions.ledger``, protective orders in ``positions.protection``, marks and PnL in
``positions.marks``, reads in ``positions.selectors``, reconciliation in
``positions.reconciliation`` and the operators' review in ``positions.review``. Views, admin
actions and commands call these methods.

``AsyncPositionManager`` offers the same methods as coroutines under the seeds' exact names
(``await manager.open_position(...)``), for code written against the seed documents.
"""

from __future__ import annotations

from typing import Any

from orders.services import AsyncOrderManager
from positions import lifecycle, marks, reconciliation, review, selectors
from tradingcore import dto, validation
from tradingcore.enums import Exchange
from tradingcore.exceptions import ExchangeError, InsufficientPosition, ObjectNotFound
from tradingcore.facades import in_worker_thread, pick, with_async_twins
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

    def review_position(self, position_id: Any, *, status: Any, note: str = "", reviewer: str) -> dto.Position:
        """Approve or flag a position with a note, as ``reviewer`` (``review.review_position``)."""
        return review.review_position(position_id, status=status, note=note, reviewer=reviewer, actor=self.actor)


class AsyncPositionManager:
    """The seeds' async ``PositionManager``: ``await manager.open_position(...)`` as seed 001 writes it.

    Every method is a coroutine with the seed's name and keywords; each runs the synchronous
    ``PositionManager`` method of the same name in a worker thread (``in_worker_thread``), so the
    behaviour, the errors and the event log are the same. Returns are the same too, except where
    the seeds' documents return something else: ``close_position`` returns the seeds' success
    flag. The constructor takes the seeds' arguments (an exchange store, a Redis client) and
    ignores them, as ``PositionManager`` does.
    """

    def __init__(self, *args: Any, actor: str = SYSTEM_ACTOR, **kwargs: Any) -> None:
        self.actor = actor
        self._manager = PositionManager(actor=actor)

    async def open_position(self, **kwargs: Any) -> dto.Position:
        """``PositionManager.open_position``: the position opened or added to (same return)."""
        return await in_worker_thread(self._manager.open_position, **kwargs)

    async def close_position(self, position_id: Any = None, **kwargs: Any) -> bool:
        """Close all (``size=None``) or part of a position at market; returns the seeds' success flag.

        Differs from ``PositionManager.close_position``, which returns the position: seed 001
        writes ``success = await manager.close_position(user_id=..., exchange=..., symbol=...,
        side=..., reason=...)``. ``True``: the closing order filled, so the position is closed (or
        reduced by ``size``). ``False``: nothing was closed by this call: there is no open
        position with that key or id (a stop closed it first, say), or the exchange has not
        filled the closing order completely (still working, or ended with part of it unfilled;
        ``get_positions`` shows what is open). Errors a caller must act on raise exactly as in
        the synchronous manager: invalid input, a size beyond what is open and not already
        being closed (``InsufficientPosition``), the exchange's refusal, an unreachable exchange.
        """
        client_order_id = kwargs.setdefault("client_order_id", validation.new_client_order_id())
        try:
            position = await in_worker_thread(self._manager.close_position, position_id, **kwargs)
        except ExchangeError:
            raise
        except ObjectNotFound:
            return False
        except InsufficientPosition:
            if position_id is None or (await self.get_position(position_id, user_id=kwargs.get("user_id"))).is_open:
                raise
            return False
        orders = await AsyncOrderManager(actor=self.actor).get_orders(user_id=position.user_id, position_id=position.id)
        return any(order.client_order_id == client_order_id and order.is_filled for order in orders)

    async def get_positions(self, **filters: Any) -> list[dto.Position]:
        """``PositionManager.get_positions`` (Redis when current, else PostgreSQL; same return)."""
        return await self._manager.aget_positions(**filters)

    async def get_position(self, position_id: Any, *, user_id: str | None = None) -> dto.Position:
        """``PositionManager.get_position`` (same return)."""
        return await in_worker_thread(self._manager.get_position, position_id, user_id=user_id)

    async def update_position(self, position_id: Any, **kwargs: Any) -> dto.Position:
        """``PositionManager.update_position``: the updated position (same return)."""
        return await in_worker_thread(self._manager.update_position, position_id, **kwargs)

    async def calculate_pnl(self, position: Any, current_price: Any = None) -> dto.PnLInfo:
        """``PositionManager.calculate_pnl``: the seed's ``PnLInfo`` (same return)."""
        return await in_worker_thread(self._manager.calculate_pnl, position, current_price)

    async def refresh_marks(self, **kwargs: Any) -> int:
        """``PositionManager.refresh_marks``: how many positions changed (same return)."""
        return await in_worker_thread(self._manager.refresh_marks, **kwargs)

    async def sync_positions_from_exchange(self, *, user_id: str, exchange: Exchange | str, apply: bool = False) -> Any:
        """``PositionManager.sync_positions_from_exchange`` (same return)."""
        return await in_worker_thread(
            self._manager.sync_positions_from_exchange, user_id=user_id, exchange=exchange, apply=apply
        )

    async def review_position(self, position_id: Any, *, status: Any, note: str = "", reviewer: str) -> dto.Position:
        """``PositionManager.review_position`` (same return)."""
        return await in_worker_thread(
            self._manager.review_position, position_id, status=status, note=note, reviewer=reviewer
        )
