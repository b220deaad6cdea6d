"""``AsyncPositionManager``: the seeds' coroutine names, and ``close_position``'s success flag."""

from __future__ import annotations

import asyncio
import inspect
from decimal import Decimal

import pytest

from orders.models import Order
from positions.services import AsyncPositionManager, PositionManager
from tests.managers import OTHER_USER, USER, btc, mark, sync_public_methods
from tradingcore.exceptions import InsufficientPosition

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_method_of_the_sync_manager_is_a_coroutine_of_the_same_name() -> None:
    for name in sync_public_methods(PositionManager):
        assert inspect.iscoroutinefunction(getattr(AsyncPositionManager, name, None)), name


def test_the_seeds_constructor_arguments_are_accepted_and_the_actor_kept() -> None:
    manager = AsyncPositionManager("exchange_store", "redis_client", actor="api:bot")

    assert manager.actor == "api:bot"


def test_a_partial_close_that_fills_is_a_success_and_realizes_pnl_on_the_closed_part() -> None:
    manager = AsyncPositionManager()
    mark("45000")
    position = asyncio.run(manager.open_position(**btc(side="long", size="0.1")))
    mark("46000")

    success = asyncio.run(manager.close_position(position.id, size=Decimal("0.04"), reason="scale out"))

    assert success is True
    after = asyncio.run(manager.get_position(position.id))
    assert (after.status, after.size, after.pnl_info.realized_pnl) == ("open", Decimal("0.06"), Decimal("40"))


def test_closing_a_position_that_is_already_closed_is_false() -> None:
    manager = AsyncPositionManager()
    mark("45000")
    position = asyncio.run(manager.open_position(**btc(side="long", size="0.1")))
    assert asyncio.run(manager.close_position(position.id, reason="first")) is True

    assert asyncio.run(manager.close_position(position.id, reason="again")) is False
    assert asyncio.run(manager.close_position(**btc(side="long"), reason="again")) is False
    assert asyncio.run(manager.get_position(position.id)).close_reason == "first"


def test_closing_another_users_position_is_false_and_leaves_it_open() -> None:
    manager = AsyncPositionManager()
    mark("45000")
    position = asyncio.run(manager.open_position(**btc(side="long", size="0.1")))

    assert asyncio.run(manager.close_position(position.id, user_id=OTHER_USER)) is False
    assert asyncio.run(manager.get_position(position.id, user_id=USER)).status == "open"


def test_closing_more_than_is_open_still_raises_the_conflict_and_sends_nothing() -> None:
    manager = AsyncPositionManager()
    mark("45000")
    position = asyncio.run(manager.open_position(**btc(side="short", size="0.5")))

    with pytest.raises(InsufficientPosition):
        asyncio.run(manager.close_position(**btc(side="short"), size="0.6"))

    assert asyncio.run(manager.get_position(position.id)).size == Decimal("0.5")
    assert not Order.objects.filter(position_id=position.id, reduce_only=True).exists()
