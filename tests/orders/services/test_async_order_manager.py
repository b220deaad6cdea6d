"""``AsyncOrderManager``: the seeds' coroutine names, ``cancel_order``'s success flag, ``async for``."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from decimal import Decimal

import pytest

from orders.services import AsyncOrderManager, OrderManager
from tests.managers import OTHER_USER, USER, btc, mark, sync_public_methods
from tradingcore.enums import OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_method_of_the_sync_manager_has_an_async_one_of_the_same_name() -> None:
    for name in sync_public_methods(OrderManager) - {"monitor_order_fills"}:
        assert inspect.iscoroutinefunction(getattr(AsyncOrderManager, name, None)), name
    assert inspect.isasyncgenfunction(AsyncOrderManager.monitor_order_fills)


def resting_limit(manager: AsyncOrderManager) -> uuid.UUID:
    mark("45000")
    order = asyncio.run(manager.create_order(**btc(side="buy", order_type="limit", quantity="0.1", price="44000")))
    assert order.status == OrderStatus.OPEN
    return order.id


def test_cancelling_twice_is_a_success_both_times() -> None:
    manager = AsyncOrderManager()
    order_id = resting_limit(manager)

    assert asyncio.run(manager.cancel_order(**btc(), order_id=order_id)) is True
    assert asyncio.run(manager.cancel_order(**btc(), order_id=order_id)) is True  # a retried cancel
    assert asyncio.run(manager.get_order(order_id)).status == OrderStatus.CANCELLED


def test_cancelling_a_partly_filled_order_is_a_success_that_keeps_the_fill() -> None:
    manager = AsyncOrderManager()
    order_id = resting_limit(manager)
    mark("43990", volume="0.04")
    assert asyncio.run(manager.refresh_order(order_id)).status == OrderStatus.PARTIALLY_FILLED

    assert asyncio.run(manager.cancel_order(order_id=order_id, user_id=USER)) is True

    order = asyncio.run(manager.get_order(order_id))
    assert (order.status, order.filled_qty, order.avg_fill_price) == ("cancelled", Decimal("0.04"), Decimal("44000"))


def test_cancelling_an_order_that_filled_is_false_and_it_stays_filled() -> None:
    manager = AsyncOrderManager()
    order_id = resting_limit(manager)
    mark("43990")  # fills on the exchange; we learn it while cancelling

    assert asyncio.run(manager.cancel_order(**btc(), order_id=order_id)) is False

    order = asyncio.run(manager.get_order(order_id))
    assert (order.status, order.filled_qty) == ("filled", Decimal("0.1"))
    assert asyncio.run(manager.cancel_order(**btc(), order_id=order_id)) is False  # and again, terminal


def test_cancelling_an_unknown_or_another_users_order_is_false() -> None:
    manager = AsyncOrderManager()
    order_id = resting_limit(manager)

    assert asyncio.run(manager.cancel_order(**btc(), order_id=uuid.uuid4())) is False
    assert asyncio.run(manager.cancel_order(**btc(user_id=OTHER_USER), order_id=order_id)) is False
    assert asyncio.run(manager.get_order(order_id)).status == OrderStatus.OPEN


def test_monitor_order_fills_yields_each_change_to_async_for() -> None:
    manager = AsyncOrderManager()
    order_id = resting_limit(manager)

    async def watch() -> list[tuple[str, Decimal]]:
        seen = []
        await asyncio.to_thread(mark, "43990", volume="0.04")
        async for order in manager.monitor_order_fills(order_id=order_id, user_id=USER, poll_interval=0.05):
            seen.append((order.status, order.filled_qty))
            if order.status == OrderStatus.PARTIALLY_FILLED:
                await asyncio.to_thread(mark, "43980")
        return seen

    assert asyncio.run(watch()) == [("partially_filled", Decimal("0.04")), ("filled", Decimal("0.1"))]
