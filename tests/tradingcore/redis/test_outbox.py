"""Outbox: published after commit, kept while Redis is down, drained later in order, at least once."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from positions.models import Position as PositionRow
from tests.tradingcore.redis.factories import SYMBOL, USER, D, RedisServer, make_order, make_position
from tradingcore.changeset import ChangeSet
from tradingcore.models import OutboxEntry
from tradingcore.redis import keys
from tradingcore.redis.outbox import drain_outbox
from tradingcore.redis.projector import ProjectionInTransactionError, redis_client
from tradingcore.redis.verify import verify


def record_change(row: Any, event: str) -> None:
    """What a service does last in its transaction: hand the row's current state to the outbox."""
    from orders import projection as order_projection
    from positions import projection as position_projection

    fresh = type(row).objects.get(pk=row.pk)
    module = position_projection if isinstance(row, PositionRow) else order_projection
    changeset = ChangeSet()
    changeset.project(module.change(fresh, event))
    changeset.save()


record_position_change = record_order_change = record_change


@pytest.fixture
def private_redis(settings: Any) -> Iterator[RedisServer]:
    """A redis-server of this test alone, which it may kill and restart; the projector points at it.

    Overriding ``CACHES`` makes Django drop its cache handlers, so django-redis builds a new client
    (its pools are keyed by URL), and the override is undone after the test.
    """
    server = RedisServer()
    server.start()
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = server.url
    settings.CACHES = caches
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_change_is_projected_after_commit_and_its_row_deleted(redis_client: Any) -> None:
    position = make_position()

    with transaction.atomic():
        record_position_change(position, "position.opened")
        assert not redis_client.exists(keys.position(USER, "okx", SYMBOL, "long"))  # nothing before the commit

    assert redis_client.hget(keys.position(USER, "okx", SYMBOL, "long"), "id") == str(position.pk)
    assert redis_client.xrange(keys.events(USER))[0][1]["event"] == "position.opened"
    assert OutboxEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_is_neither_projected_nor_kept(redis_client: Any) -> None:
    position = make_position()

    def failing_service() -> None:
        with transaction.atomic():
            record_position_change(position, "position.opened")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_service()

    assert redis_client.keys("*") == []
    assert OutboxEntry.objects.count() == 0


@pytest.mark.django_db
def test_captured_on_commit_hooks_project_in_a_non_transactional_test(
    redis_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    order = make_order()

    with django_capture_on_commit_callbacks(execute=True):
        record_order_change(order, "order.created")

    assert redis_client.hget(keys.order(order.pk), "status") == "open"
    assert OutboxEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_redis_down_during_a_change_then_drained_and_verified_clean(private_redis: RedisServer) -> None:
    position = make_position()
    with transaction.atomic():
        record_position_change(position, "position.opened")
    private_redis.stop()

    with transaction.atomic():  # the service's write path while Redis is down
        PositionRow.objects.filter(pk=position.pk).update(size=D("0.3"))
        record_position_change(position, "position.updated")
        order = make_order(position=position)
        record_order_change(order, "order.created")

    assert PositionRow.objects.get(pk=position.pk).size == D("0.3")  # committed despite Redis
    kept = list(OutboxEntry.objects.order_by("id"))
    assert [(row.kind, row.attempts) for row in kept] == [("position", 1), ("order", 1)]
    assert "Error" in kept[0].last_error

    private_redis.start()  # same port, empty: worse than a restart with the old data
    assert drain_outbox() == 2

    assert OutboxEntry.objects.count() == 0
    client = redis_client()
    assert client.hget(keys.position(USER, "okx", SYMBOL, "long"), "size") == "0.3"
    assert [fields["outbox_id"] for _, fields in client.xrange(keys.events(USER))] == [str(row.pk) for row in kept]
    report = verify()
    assert report.drifts == []
    assert report.users == 1


@pytest.mark.django_db(transaction=True)
def test_drain_stops_at_the_first_redis_failure_and_keeps_every_row(private_redis: RedisServer) -> None:
    rows = [OutboxEntry.objects.create(kind="position", object_id=make_position(symbol=f"S{n}").pk, user_id=USER)
            for n in range(3)]  # fmt: skip
    private_redis.stop()

    assert drain_outbox() == 0

    assert [row.attempts for row in OutboxEntry.objects.order_by("id")] == [1, 0, 0]
    private_redis.start()
    assert drain_outbox(limit=2) == 2
    assert list(OutboxEntry.objects.values_list("id", flat=True)) == [rows[2].pk]


@pytest.mark.django_db(transaction=True)
def test_concurrent_drainers_publish_each_row_exactly_once(redis_client: Any) -> None:
    for n in range(40):
        position = make_position(user_id=f"user-{n % 4}", symbol=f"S{n}")
        OutboxEntry.objects.create(kind="position", object_id=position.pk, user_id=position.user_id, event="opened")
    counts: list[int] = []

    def drainer() -> None:
        try:
            counts.append(drain_outbox(batch_size=3))
        finally:
            connection.close()

    threads = [threading.Thread(target=drainer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(counts) == 40
    assert OutboxEntry.objects.count() == 0
    published = [entry for n in range(4) for entry in redis_client.xrange(keys.events(f"user-{n}"))]
    assert len(published) == 40
    assert len(redis_client.smembers(keys.positions_active())) == 40


@pytest.mark.django_db
def test_draining_inside_a_transaction_is_refused() -> None:
    with transaction.atomic(), pytest.raises(ProjectionInTransactionError):
        drain_outbox()


@pytest.mark.django_db(transaction=True)
def test_replaying_an_old_row_publishes_the_current_state(redis_client: Any) -> None:
    position = make_position()
    stale = OutboxEntry.objects.create(kind="position", object_id=position.pk, user_id=USER, event="position.opened")
    PositionRow.objects.filter(pk=position.pk).update(size=D("0.7"))

    assert drain_outbox() == 1

    assert redis_client.hget(keys.position(USER, "okx", SYMBOL, "long"), "size") == "0.7"
    assert redis_client.xrange(keys.events(USER))[0][1]["outbox_id"] == str(stale.pk)
