"""``OrderManager``: the in-process API of orders, with the seeds' method and keyword names.

A thin facade: the work is done in ``orders.placement`` (create), ``orders.cancellation``,
``orders.sync`` (refresh, resolve), ``orders.monitoring`` and the read paths in
``orders.selectors``. Views, admin actions and commands call these methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections

from orders import cancellation, monitoring, placement, selectors, sync
from tradingcore import dto
from tradingcore.facades import pick, with_async_twins
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
