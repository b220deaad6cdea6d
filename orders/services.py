"""``OrderManager``: the in-process API of orders, with the seeds' method and keyword names.

A thin facade: the work is done in ``orders.placement`` (create), ``orders.cancellation``,
``orders.sync`` (refresh, resolve), ``orders.monitoring`` and the read paths in
``orders.selectors``. Views, admin actions and commands call these methods.

``AsyncOrderManager`` offers the same methods as coroutines under the seeds' exact names
(``await manager.create_order(...)``, ``async for`` over ``monitor_order_fills``), for code
written against the seed documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

from orders import cancellation, monitoring, placement, selectors, sync
from tradingcore import dto
from tradingcore.enums import OrderStatus
from tradingcore.exceptions import ExchangeError, InvalidTransition, ObjectNotFound
from tradingcore.facades import in_worker_thread, pick, with_async_twins
from tradingcore.metrics import ORDER_MANAGER_LATENCY, timed

SYSTEM_ACTOR = placement.SYSTEM_ACTOR


@with_async_twins
@timed(ORDER_MANAGER_LATENCY)
class OrderManager:
    """The in-process API of orders, with the seeds' method and keyword names.

    Every method has an ``a``-prefixed async twin (``acreate_order``); ``amonitor_order_fills``
    is an async generator. Constructor arguments of the seeds (an exchange store, a Redis client)
    are accepted and ignored. ``actor`` names who acts in the event log.
    """

    def __init__(self, *args: Any, actor: str = SYSTEM_ACTOR, **kwargs: Any) -> None:
        self.actor = actor

    def create_order(self, **kwargs: Any) -> dto.Order:
        """Place an order (``placement.create_order``): market, limit or trigger-style."""
        kwargs.setdefault("actor", self.actor)
        return dto.Order.from_row(placement.create_order(**kwargs))

    def cancel_order(self, order_id: Any = None, **kwargs: Any) -> dto.Order:
        """Cancel a live order (``cancellation.cancel_order``)."""
        kwargs.setdefault("actor", self.actor)
        return dto.Order.from_row(
            cancellation.cancel_order(order_id=pick(kwargs, "order_id", default=order_id), **kwargs)
        )

    def get_order(self, order_id: Any, *, user_id: str | None = None, **_scope: Any) -> dto.Order:
        return selectors.get_order(order_id, user_id=user_id)

    def get_orders(self, **filters: Any) -> list[dto.Order]:
        return selectors.get_orders(**filters)

    def get_open_orders(self, **filters: Any) -> list[dto.Order]:
        return selectors.get_open_orders(**filters)

    def refresh_order(self, order_id: Any, *, user_id: str | None = None, **_scope: Any) -> dto.Order:
        """Poll the exchange once for the order and apply what changed (``sync.refresh_order``)."""
        return dto.Order.from_row(sync.refresh_order(order_id=order_id, user_id=user_id, actor=self.actor))

    def monitor_order_fills(self, order_id: Any = None, **kwargs: Any) -> Iterator[dto.Order]:
        """Yield each change of the order(s) until terminal or timeout (``monitoring``)."""
        kwargs.setdefault("actor", self.actor)
        return monitoring.monitor_order_fills(order_id, **kwargs)

    async def amonitor_order_fills(self, order_id: Any = None, **kwargs: Any) -> AsyncIterator[dto.Order]:
        """Async twin of ``monitor_order_fills``: each poll runs in a worker thread."""
        iterator = self.monitor_order_fills(order_id, **kwargs)

        def step() -> dto.Order | None:
            try:
                return next(iterator, None)
            finally:
                connections.close_all()

        while (item := await sync_to_async(step, thread_sensitive=False)()) is not None:
            yield item


class AsyncOrderManager:
    """The seeds' async ``OrderManager``: ``await manager.create_order(...)`` and ``async for`` over
    ``monitor_order_fills`` as seed 001 writes them.

    Every method is a coroutine (``monitor_order_fills`` an async generator) with the seed's name
    and keywords; each runs the synchronous ``OrderManager`` method of the same name in a worker
    thread (``in_worker_thread``), so the behaviour, the errors and the event log are the same.
    Returns are the same too, except where the seeds' documents return something else:
    ``cancel_order`` returns the seeds' success flag. The constructor takes the seeds' arguments
    (an exchange store, a Redis client) and ignores them, as ``OrderManager`` does.
    """

    def __init__(self, *args: Any, actor: str = SYSTEM_ACTOR, **kwargs: Any) -> None:
        self.actor = actor
        self._manager = OrderManager(actor=actor)

    async def create_order(self, **kwargs: Any) -> dto.Order:
        """``OrderManager.create_order``: the order as placed (same return)."""
        return await in_worker_thread(self._manager.create_order, **kwargs)

    async def cancel_order(self, order_id: Any = None, **kwargs: Any) -> bool:
        """Cancel a live order; returns the seeds' success flag.

        Differs from ``OrderManager.cancel_order``, which returns the order: seed 001 writes
        ``success = await manager.cancel_order(user_id=..., exchange=..., symbol=...,
        order_id=order.id)``. ``True``: the order is ``cancelled`` when the call returns, by this
        call or already before it (a retried cancel is not a failure; a partly filled order
        keeps its ``filled_qty``). ``False``: the order is not cancelled and will not be: it
        filled (also when the fill raced the cancel), expired or was rejected, or there is no
        such order of this user. Raises as the synchronous manager does for a ``pending`` order
        the exchange does not show yet (``Conflict``: retry shortly) and for exchange errors.
        """
        order_id = pick(kwargs, "order_id", default=order_id)
        try:
            order = await in_worker_thread(self._manager.cancel_order, order_id=order_id, **kwargs)
        except InvalidTransition:
            # The order had ended, here or on the exchange (which may know of a fill we have not
            # seen yet): one poll says how it ended.
            order = await self.refresh_order(order_id, user_id=kwargs.get("user_id"))
        except ExchangeError:
            raise
        except ObjectNotFound:
            return False
        return order.status == OrderStatus.CANCELLED

    async def get_order(self, order_id: Any, *, user_id: str | None = None, **scope: Any) -> dto.Order:
        """``OrderManager.get_order`` (same return)."""
        return await in_worker_thread(self._manager.get_order, order_id, user_id=user_id, **scope)

    async def get_orders(self, **filters: Any) -> list[dto.Order]:
        """``OrderManager.get_orders``: orders matching the filters, newest first (same return)."""
        return await in_worker_thread(self._manager.get_orders, **filters)

    async def get_open_orders(self, **filters: Any) -> list[dto.Order]:
        """``OrderManager.get_open_orders``: the live orders matching the filters (same return)."""
        return await in_worker_thread(self._manager.get_open_orders, **filters)

    async def refresh_order(self, order_id: Any, *, user_id: str | None = None, **scope: Any) -> dto.Order:
        """``OrderManager.refresh_order``: the order after one poll of the exchange (same return)."""
        return await in_worker_thread(self._manager.refresh_order, order_id, user_id=user_id, **scope)

    async def monitor_order_fills(self, order_id: Any = None, **kwargs: Any) -> AsyncIterator[dto.Order]:
        """``OrderManager.monitor_order_fills`` for ``async for``: each change of the order(s) until
        terminal or ``timeout`` (same items); every poll runs in a worker thread."""
        async for order in self._manager.amonitor_order_fills(order_id, **kwargs):
            yield order
