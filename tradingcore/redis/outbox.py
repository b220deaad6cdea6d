"""Transactional outbox of the Redis projection (SPEC 6.4): no write lost, no request failed by Redis.

Write path of every service (``tradingcore.changeset.ChangeSet.save`` does the last steps)::

    with transaction.atomic():
        ...lock rows, change them, build the event rows...
        changes = [orders.projection.change(order, "filled"), positions.projection.change(...)]
        entries = outbox.entries(changes)
        write_rows(updated=[...], inserted=[*new_rows, *events, *entries])     # one statement
        outbox.publish_after_commit(changes, entries)

After commit the changes are projected at once from the DTOs in hand (one MULTI/EXEC) and their
outbox rows deleted (one statement). If Redis is unreachable (or refuses), the failure is noted
on the rows and the caller's request still succeeds; ``drain_outbox`` (run by the order watcher
and the ``drain_outbox`` command) projects them later from the current database state.

``deferred()`` coalesces: the commits made inside it are projected together when it exits, in
one MULTI/EXEC. The order placement uses it so an order saved ``pending``, sent, then filled costs
one Redis round trip, not two; the pending order's outbox row keeps it safe meanwhile.

Readers trust Redis only while the projection is confirmed current (``projection:current``, kept
alive by the watcher while no row failed or waited long: ``confirm_current_if_caught_up``), and a
process whose own projection of a user failed reads that user from PostgreSQL until then
(``behind_here``).

Delivery is at least once, in id order per drainer; every block carries the entity's version, so
a replayed row never overwrites newer state. Drainers claim rows with ``SELECT ... FOR UPDATE SKIP
LOCKED`` plus a session-level advisory lock (``locks.try_claim_outbox``) held while Redis is
written outside any transaction; a drainer that dies loses its session and so its claims.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from redis.exceptions import RedisError

from tradingcore import locks
from tradingcore.models import OutboxEntry
from tradingcore.redis import keys, projector, sources
from tradingcore.redis.plan import Change, OrderChange, PositionChange

logger = logging.getLogger(__name__)

DRAIN_BATCH = 100
_ERROR_TEXT_LIMIT = 2000


def _kind(change: Change) -> str:
    return sources.POSITION if isinstance(change, PositionChange) else sources.ORDER


def _entity(change: Change) -> tuple[str, str, str]:
    """(kind, id, user id) of the entity a change is about."""
    if isinstance(change, PositionChange):
        return sources.POSITION, str(change.position.id), change.position.user_id
    assert isinstance(change, OrderChange)
    return sources.ORDER, str(change.order.id), change.order.user_id


def entries(changes: Sequence[Change]) -> list[OutboxEntry]:
    """One unsaved outbox row per change, to be inserted with the change's rows."""
    rows = []
    for change in changes:
        kind, entity_id, user_id = _entity(change)
        rows.append(OutboxEntry(kind=kind, object_id=entity_id, user_id=user_id, event=change.event or ""))
    return rows


# -- after commit ----------------------------------------------------------------------------------


@dataclass
class _Pending:
    changes: list[Change] = field(default_factory=list)
    entries: list[OutboxEntry] = field(default_factory=list)


_local = threading.local()


def publish_after_commit(changes: Sequence[Change], rows: Sequence[OutboxEntry]) -> None:
    """Project ``changes`` when the current transaction commits (at once outside one), then delete
    ``rows``; inside ``deferred()`` the work waits for its exit. Never raises because of Redis."""
    pending = list(changes), list(rows)
    transaction.on_commit(lambda: _after_commit(*pending), robust=True)


def _after_commit(changes: list[Change], rows: list[OutboxEntry]) -> None:
    scope: _Pending | None = getattr(_local, "deferred", None)
    if scope is not None:
        scope.changes += changes
        scope.entries += rows
        return
    publish_now(changes, rows)


@contextmanager
def deferred() -> Iterator[None]:
    """Collect the projections of every commit inside the block and publish them once at its end
    (also when it raises). Nested use joins the outer block."""
    if getattr(_local, "deferred", None) is not None:
        yield
        return
    _local.deferred = scope = _Pending()
    try:
        yield
    finally:
        _local.deferred = None
        if scope.changes:
            publish_now(scope.changes, scope.entries)


def publish_now(changes: Sequence[Change], rows: Sequence[OutboxEntry]) -> bool:
    """Project ``changes`` in one MULTI/EXEC and delete their outbox ``rows``; on failure note it on
    the rows and keep them for the drain. Returns whether the projection was written."""
    ids = [row.pk for row in rows]
    try:
        projector.publish(changes, outbox_ids=ids)
    except RedisError as exc:
        logger.warning("redis projection failed, %d outbox row(s) kept: %s", len(ids), exc)
        _note_failure(rows, exc)
        return False
    except Exception as exc:
        logger.exception("projection failed, %d outbox row(s) kept", len(ids))
        _note_failure(rows, exc)
        return False
    delete_entries(ids)
    return True


def delete_entries(entry_ids: Sequence[int], *, using: str = "default") -> None:
    """Delete published outbox rows in one statement (``QuerySet.delete`` would open a transaction)."""
    if not entry_ids:
        return
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {OutboxEntry._meta.db_table} WHERE id IN ({', '.join(['%s'] * len(entry_ids))})",
            list(entry_ids),
        )


def _note_failure(rows: Sequence[OutboxEntry], exc: BaseException) -> None:
    """Remember that these users' projection is behind (for this process's readers) and count the
    failed attempt in one short statement (never inside the caller's transaction)."""
    failed_at = int(time.time() * 1000)
    for row in rows:
        _behind[row.user_id] = failed_at
    text = f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT_LIMIT]
    entry_ids = [row.pk for row in rows]
    try:
        OutboxEntry.objects.filter(pk__in=entry_ids).update(attempts=F("attempts") + 1, last_error=text)
    except Exception:
        logger.exception("could not record the failure of outbox rows %s", entry_ids)


# -- is the projection current? ----------------------------------------------------------------------

# Users whose projection failed in this process, with when (epoch ms): their reads go to
# PostgreSQL until the projection is confirmed current after that moment.
_behind: dict[str, int] = {}
STUCK_AFTER = timedelta(seconds=5)


def behind_here(user_id: str, current_since_ms: int) -> bool:
    """Whether this process failed to project a change of ``user_id`` after the projection was
    last confirmed current (``current_since_ms``): then Redis may not show that change yet."""
    failed_at = _behind.get(user_id)
    if failed_at is None:
        return False
    if failed_at < current_since_ms:
        _behind.pop(user_id, None)
        return False
    return True


def confirm_current_if_caught_up() -> bool:
    """Mark the projection current when no outbox row has failed or waited past ``STUCK_AFTER``
    (rows of changes being projected right now are younger) and the projection is built; returns
    whether it did. The fill watcher calls it on every pass."""
    stuck = Q(attempts__gt=0) | Q(created_at__lt=timezone.now() - STUCK_AFTER)
    if OutboxEntry.objects.filter(stuck).exists():
        return False
    if not projector.redis_client().exists(keys.projection_built()):
        return False
    projector.confirm_current()
    return True


# -- state of the outbox -----------------------------------------------------------------------------


def pending_count() -> int:
    """How many outbox rows wait to be published (the outbox depth)."""
    return OutboxEntry.objects.count()


# -- the drain ---------------------------------------------------------------------------------------


def publish(entry: OutboxEntry) -> bool:
    """Project the current state of one outbox row's entity and delete the row; False if another
    worker deleted it meanwhile. Raises ``RedisError`` (the row is kept) or the projector's errors."""
    projector.project(entry.kind, entry.object_id, event=entry.event or None, outbox_id=entry.pk)
    deleted, _ = OutboxEntry.objects.filter(pk=entry.pk).delete()
    return deleted > 0


def drain_outbox(limit: int | None = None, *, batch_size: int = DRAIN_BATCH) -> int:
    """Publish pending outbox rows in id order; returns how many were published and deleted.

    Safe to run in several processes at once (see the module docstring for the claim). Stops at
    ``limit`` rows, when no unclaimed row is left, or at the first Redis failure (the row keeps
    its place and records the attempt). A row failing for another reason is recorded and skipped
    until the next call. Raises ``ProjectionInTransactionError`` inside a transaction.
    """
    projector.assert_outside_transaction()
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
                _note_failure([entry], exc)
                return done, True
            except Exception as exc:
                logger.exception("outbox #%s could not be published", entry.pk)
                _note_failure([entry], exc)
            finally:
                locks.release_outbox(entry.pk)
    finally:
        for entry in pending:
            locks.release_outbox(entry.pk)
    return done, False
