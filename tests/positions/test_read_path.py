"""Open positions are read from the Redis projection when it is current, from PostgreSQL otherwise,
and a caller never reads a state older than its own last write."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import watcher
from positions import selectors
from positions.services import PositionManager
from tests.managers import BTC, ETH, USER, btc, mark
from tests.tradingcore.redis.factories import RedisServer, point_cache_at
from tradingcore import dto
from tradingcore.redis import keys

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def manager() -> PositionManager:
    return PositionManager()


@pytest.fixture
def book(manager: PositionManager) -> list[dto.Position]:
    """A long and a short on BTC, a long on ETH and two grid levels; the watcher confirmed Redis."""
    mark("45000")
    mark("3000", symbol=ETH)
    opened = [
        manager.open_position(**btc(side="long", size="0.1", leverage=5, metadata={"is_DCA": True})),
        manager.open_position(**btc(side="short", size="0.2")),
        manager.open_position(**btc(symbol=ETH, side="long", size="1")),
        manager.open_position(**btc(side="long", size="0.01", grid_level=3)),
        manager.open_position(**btc(side="long", size="0.01", grid_level=4)),
    ]
    mark("45100")
    manager.refresh_marks()
    watcher.run_pass(refresh_marks=False)
    return opened


def from_postgres(**filters: Any) -> list[dict[str, Any]]:
    return [dto.Position.from_row(row).model_dump() for row in selectors.position_queryset(**filters)]


QUESTIONS = [
    {},
    {"symbol": BTC},
    {"symbol": "BTC/USDT:USDT"},
    {"symbol": BTC, "side": "long"},
    {"side": "short"},
    {"symbol": BTC, "grid_level": 4},
    {"symbol": "XRP-USDT-SWAP"},
]


@pytest.mark.parametrize("question", QUESTIONS, ids=str)
def test_a_current_projection_answers_without_the_database_exactly_as_the_database_would(
    manager: PositionManager, book: list[dto.Position], question: dict[str, Any]
) -> None:
    with CaptureQueriesContext(connection) as queries:
        answer = manager.get_positions(user_id=USER, exchange="okx", **question)

    assert len(queries) == 0
    assert [p.model_dump() for p in answer] == from_postgres(user_id=USER, exchange="okx", **question)


def test_the_async_read_gives_the_same_answer_without_the_database(
    manager: PositionManager, book: list[dto.Position]
) -> None:
    with CaptureQueriesContext(connection) as queries:
        answer = asyncio.run(manager.aget_positions(user_id=USER, exchange="okx", symbol=BTC))

    assert len(queries) == 0
    assert [p.model_dump() for p in answer] == from_postgres(user_id=USER, exchange="okx", symbol=BTC)


def test_without_a_confirmed_projection_the_database_answers(
    manager: PositionManager, book: list[dto.Position], redis_client: Any
) -> None:
    redis_client.delete(keys.projection_current())

    with CaptureQueriesContext(connection) as queries:
        answer = manager.get_positions(user_id=USER, exchange="okx")

    assert len(queries) == 1
    assert [p.model_dump() for p in answer] == from_postgres(user_id=USER, exchange="okx")


def test_closed_positions_and_other_statuses_are_read_from_the_database(
    manager: PositionManager, book: list[dto.Position]
) -> None:
    manager.close_position(book[1].id)
    watcher.run_pass(refresh_marks=False)

    assert [p.id for p in manager.get_positions(user_id=USER, exchange="okx", status="closed")] == [book[1].id]
    assert book[1].id not in {p.id for p in manager.get_positions(user_id=USER, exchange="okx")}


@pytest.fixture
def private_redis(settings: Any) -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = server.url
    settings.CACHES = caches
    try:
        yield server
    finally:
        server.stop()


def test_a_caller_never_reads_older_than_its_own_write_when_its_projection_failed(
    manager: PositionManager, settings: Any
) -> None:
    # given a current projection of one open position
    mark("45000")
    position = manager.open_position(**btc(side="long", size="0.1"))
    watcher.run_pass(refresh_marks=False)
    assert manager.get_positions(user_id=USER, exchange="okx")[0].size == D("0.1")
    # when this process cannot reach Redis while the caller adds to it (Redis keeps its old data)
    reachable = settings.CACHES
    point_cache_at(settings, "redis://127.0.0.1:1/0")
    manager.open_position(**btc(side="long", size="0.1"))
    settings.CACHES = reachable

    # then the caller reads its own write, from PostgreSQL, although Redis still says 0.1
    with CaptureQueriesContext(connection) as queries:
        [seen] = manager.get_positions(user_id=USER, exchange="okx")
    assert (seen.id, seen.size) == (position.id, D("0.2"))
    assert len(queries) == 1
    # and once the watcher caught the projection up, Redis answers again
    watcher.run_pass(refresh_marks=False)
    with CaptureQueriesContext(connection) as queries:
        [seen] = manager.get_positions(user_id=USER, exchange="okx")
    assert (seen.size, len(queries)) == (D("0.2"), 0)


def test_a_stuck_change_keeps_the_projection_unconfirmed(manager: PositionManager, private_redis: RedisServer) -> None:
    mark("45000")
    manager.open_position(**btc(side="long", size="0.1"))
    private_redis.stop()
    manager.open_position(**btc(side="long", size="0.1"))  # its projection fails: the row is kept
    private_redis.start()

    report = watcher.run_pass(refresh_marks=False)  # drains it first: then the projection is current

    assert report.outbox_drained >= 1
    assert report.projection_current
    assert manager.get_positions(user_id=USER, exchange="okx")[0].size == D("0.2")


def test_a_kept_answer_is_used_only_while_nothing_changed(manager: PositionManager, book: list[dto.Position]) -> None:
    first = manager.get_positions(user_id=USER, exchange="okx", symbol=BTC)
    first[0].metadata["mutated_by_the_caller"] = True  # a caller's change never reaches the next caller
    again = manager.get_positions(user_id=USER, exchange="okx", symbol=BTC)
    assert [p.model_dump() for p in again] == from_postgres(user_id=USER, exchange="okx", symbol=BTC)

    manager.close_position(book[1].id, size="0.1")  # the position changes: its counter moves on

    after = {p.id: p.size for p in manager.get_positions(user_id=USER, exchange="okx", symbol=BTC)}
    assert after[book[1].id] == D("0.1")


def test_a_rebuild_makes_readers_fetch_again(
    manager: PositionManager, book: list[dto.Position], redis_client: Any
) -> None:
    from tradingcore.redis.rebuild import rebuild

    manager.get_positions(user_id=USER, exchange="okx")
    redis_client.hset(keys.position(USER, "okx", BTC, "short"), "size", "9")  # a wrong value ...
    rebuild()  # ... repaired by a rebuild, under a new build token

    [short] = manager.get_positions(user_id=USER, exchange="okx", side="short")
    assert short.size == D("0.2")
