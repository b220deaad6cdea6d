"""Transactional outbox of the Redis projection (SPEC 6.4): no write lost, no request failed by Redis.

Write path of every service (positions, orders)::

    with transaction.atomic():
        position = Position.objects.select_for_update().get(...)
        ...change, full_clean(), save, event row...
        record_position_change(position, "opened")     # last step inside the block

``record_change`` inserts an ``OutboxEntry`` in the caller's transaction and registers an
``on_commit`` hook. After commit the hook projects the entity at once and deletes the row. If
Redis is unreachable (or refuses), the hook logs a warning, bumps ``attempts`` / ``last_error`` in
its own statement and returns: the caller's request still succeeds and the row stays for
``drain_outbox``, which the ``drain_outbox`` command and the order watcher run.

Delivery is at least once, in id order per drainer. The projector publishes the entity's current
state, so replaying an old row is harmless; stream consumers can de-duplicate on ``outbox_id``.

Claiming without a ``claimed_until`` column: ``drain_outbox`` opens a short transaction that
locks a batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` and, for each row, takes a session-level
PostgreSQL advisory lock (``locks.try_claim_outbox``); the transaction then commits, releasing the
row locks but not the advisory claims. Redis is written after that commit, outside any
transaction; the row is deleted afterwards (autocommit) and the claim released. A drainer that
crashes loses its session and so its claims: the rows stay and are published by the next one.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any

from django.db import transaction
from django.db.models import F
from redis.exceptions import RedisError

from tradingcore import locks
from tradingcore.models import OutboxEntry
from tradingcore.redis.projector import ORDER, POSITION, assert_outside_transaction, project

logger = logging.getLogger(__name__)

DRAIN_BATCH = 100
_ERROR_TEXT_LIMIT = 2000


def record_change(
    *, kind: str, object_id: uuid.UUID | str, user_id: str, event: str = "", payload: dict[str, Any] | None = None
) -> OutboxEntry:
    """Insert an outbox row for one changed entity and project it right after the commit.

    Call it inside the service's ``transaction.atomic()`` block, after the row is saved.
    ``kind`` is "position" or "order"; ``event`` a seed event name (``position.opened``,
    ``order.filled``...) or the ``PositionEvent`` / ``OrderEvent`` type just written. Outside a
    transaction the hook runs at once. Never raises because of Redis; raises ``ValueError`` for an
    unknown kind and database errors as usual (they roll the caller's transaction back).
    """
    if kind not in (POSITION, ORDER):
        raise ValueError(f"unknown outbox kind {kind!r}")
    entry = OutboxEntry.objects.create(
        kind=kind, object_id=object_id, user_id=user_id, event=event or "", payload=payload or {}
    )
    hook = functools.partial(_publish_after_commit, entry.pk, kind, entry.object_id, entry.event, user_id)
    transaction.on_commit(hook, robust=True)
    return entry


def record_position_change(position: Any, event: str = "") -> OutboxEntry:
    """``record_change`` for a ``positions.Position`` row (inside the service's transaction)."""
    return record_change(kind=POSITION, object_id=position.pk, user_id=position.user_id, event=event)


def record_order_change(order: Any, event: str = "") -> OutboxEntry:
    """``record_change`` for an ``orders.Order`` row (inside the service's transaction)."""
    return record_change(kind=ORDER, object_id=order.pk, user_id=order.user_id, event=event)


def publish(entry: OutboxEntry) -> bool:
    """Project one outbox row and delete it; False if another worker deleted it meanwhile.

    Raises ``RedisError`` (the row is kept) or the projector's errors.
    """
    project(entry.kind, entry.object_id, event=entry.event or None, outbox_id=entry.pk, user_id=entry.user_id)
    deleted, _ = OutboxEntry.objects.filter(pk=entry.pk).delete()
    return deleted > 0


def _publish_after_commit(entry_id: int, kind: str, object_id: uuid.UUID, event: str, user_id: str) -> None:
    """The on_commit hook: publish now; on failure keep the row for the drain and never raise."""
    try:
        project(kind, object_id, event=event or None, outbox_id=entry_id, user_id=user_id)
        OutboxEntry.objects.filter(pk=entry_id).delete()
    except RedisError as exc:
        logger.warning("redis projection of %s %s failed, outbox #%s kept: %s", kind, object_id, entry_id, exc)
        _note_failure(entry_id, exc)
    except Exception as exc:
        logger.exception("projection of %s %s failed, outbox #%s kept", kind, object_id, entry_id)
        _note_failure(entry_id, exc)


def _note_failure(entry_id: int, exc: BaseException) -> None:
    """Count the failed attempt in its own short statement (never inside the caller's transaction)."""
    text = f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT_LIMIT]
    try:
        OutboxEntry.objects.filter(pk=entry_id).update(attempts=F("attempts") + 1, last_error=text)
    except Exception:
        logger.exception("could not record the failure of outbox #%s", entry_id)


def pending_count() -> int:
    """How many outbox rows wait to be published (the outbox depth)."""
    return OutboxEntry.objects.count()


def drain_outbox(limit: int | None = None, *, batch_size: int = DRAIN_BATCH) -> int:
    """Publish pending outbox rows in id order; returns how many were published and deleted.

    Safe to run in several processes at once (see the module docstring for the claim). Stops at
    ``limit`` rows, when no unclaimed row is left, or at the first Redis failure (the row keeps
    its place and records the attempt). A row failing for another reason is recorded and skipped
    until the next call. Raises ``ProjectionInTransactionError`` inside a transaction.
    """
    assert_outside_transaction()
    published = 0
    cursor = 0
    while limit is None or published < limit:
        wanted = batch_size if limit is None else min(batch_size, limit - published)
        seen, claimed = _claim_batch(after_id=cursor, size=wanted)
        if seen is None:
            break
        cursor = seen
        done, redis_down = _publish_claimed(claimed)
        published += done
        if redis_down:
            break
    return published


def _claim_batch(*, after_id: int, size: int) -> tuple[int | None, list[OutboxEntry]]:
    """Lock the next rows with SKIP LOCKED in a short transaction and claim them for this session.

    A row is kept only if it still exists once claimed: another drainer may have published and
    deleted it between our SELECT and our claim.
    """
    with transaction.atomic():
        batch = OutboxEntry.objects.select_for_update(skip_locked=True).filter(pk__gt=after_id).order_by("pk")
        rows = list(batch[:size])
        claimed = [row for row in rows if locks.try_claim_outbox(row.pk)]
        still_there = set(OutboxEntry.objects.filter(pk__in=[row.pk for row in claimed]).values_list("pk", flat=True))
    for row in claimed:
        if row.pk not in still_there:
            locks.release_outbox(row.pk)
    return (rows[-1].pk if rows else None), [row for row in claimed if row.pk in still_there]


def _publish_claimed(claimed: list[OutboxEntry]) -> tuple[int, bool]:
    """Publish claimed rows outside any transaction, releasing each claim; stop at a Redis failure."""
    done = 0
    pending = list(claimed)
    try:
        while pending:
            entry = pending.pop(0)
            try:
                done += int(publish(entry))
            except RedisError as exc:
                logger.warning("outbox drain stopped at #%s, redis unavailable: %s", entry.pk, exc)
                _note_failure(entry.pk, exc)
                return done, True
            except Exception as exc:
                logger.exception("outbox #%s could not be published", entry.pk)
                _note_failure(entry.pk, exc)
            finally:
                locks.release_outbox(entry.pk)
    finally:
        for entry in pending:
            locks.release_outbox(entry.pk)
    return done, False
