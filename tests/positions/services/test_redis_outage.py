"""Redis down while a bot trades: every call still succeeds, nothing is lost, the drain catches up."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from django.core.management import call_command

from orders import watcher
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tests.tradingcore.redis.factories import RedisServer
from tradingcore.models import OutboxEntry
from tradingcore.redis import keys
from tradingcore.redis.projector import redis_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_link(settings) -> Iterator[Callable[[bool], None]]:  # type: ignore[no-untyped-def]
    """Connect the service to a private redis-server, or cut it off (as a network outage would)."""
    server, dead = RedisServer(), RedisServer()  # ``dead`` is never started: its port refuses
    server.start()

    def connect(up: bool) -> None:
        caches = copy.deepcopy(settings.CACHES)
        caches["default"]["LOCATION"] = server.url if up else dead.url
        settings.CACHES = caches

    connect(True)
    try:
        yield connect
    finally:
        server.stop()


def test_trading_continues_while_redis_is_down_and_the_watcher_catches_up(redis_link) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="long", size="1"))
    redis_link(False)

    mark("110")
    manager.open_position(**btc(side="long", size="1"))
    closed = manager.close_position(position.id, reason="while redis was down")

    assert closed.status == "closed"
    assert closed.pnl_info.realized_pnl == Decimal("10")  # 2 x (110 - 105)
    assert OutboxEntry.objects.count() > 0

    redis_link(True)
    report = watcher.run_pass()

    assert report.outbox_drained > 0
    assert OutboxEntry.objects.count() == 0
    client = redis_client()
    assert not client.exists(keys.position(USER, "okx", BTC, "long"))
    assert client.lindex(keys.position_history(USER, "okx"), 0) is not None
    call_command("verify_redis")  # raises on drift
