"""Rewrites the whole projection from PostgreSQL (``rebuild_redis``).

Every user's desired states (``plan.user_states``) are written in one MULTI/EXEC per user, with
the entities' versions (and again while the user changes meanwhile: ``verify.write_user``), then
the unified key space is scanned and what has no live row behind it is deleted. Legacy keys are
only written for entities PostgreSQL knows, and in hashes and lists shared with the legacy bots
only our fields and items are touched. A full rebuild ends by marking
Redis as holding the whole projection (``projection:built``) and current (``projection:current``),
which lets readers use it.
Never inside a database transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis.exceptions import RedisError

from tradingcore.redis import keys, sources
from tradingcore.redis.plan import HashState, Layouts, ListState, SetState, State
from tradingcore.redis.projector import (
    assert_outside_transaction,
    confirm_current,
    mark_built,
    redis_client,
)
from tradingcore.redis.verify import Progress, Report, _identity, scan_stale, write_user

logger = logging.getLogger(__name__)


def rebuild(*, user_ids: Iterable[str] | None = None, progress: Progress = _identity) -> Report:
    """Rewrite the projection of every user (or of ``user_ids``) and delete stale unified keys.

    The stale scan and the marks need a full rebuild with the unified layout on. Raises
    ``RedisError`` when Redis fails and ``ProjectionInTransactionError`` inside a transaction.
    """
    assert_outside_transaction()
    layouts = Layouts.from_settings()
    report = Report()
    users = list(user_ids) if user_ids is not None else sources.all_user_ids()
    for user_id in progress(users):
        report.users += 1
        wanted = write_user(user_id, layouts=layouts)
        report.keys_written += sum(1 for state in wanted.states if _has_content(state))
        report.keys_removed += sum(1 for state in wanted.states if not _has_content(state))
    if layouts.unified and user_ids is None:
        _, report.stale_keys, report.stale_members = scan_stale(delete=True)
        mark_built()
        confirm_current()
    return report


def _has_content(state: State) -> bool:
    if isinstance(state, HashState):
        return bool(state.fields)
    if isinstance(state, SetState):
        return bool(state.members)
    assert isinstance(state, ListState)
    return bool(state.items)


def rebuild_if_lost() -> bool:
    """Rebuild the whole projection when Redis does not hold it (no ``projection:built`` mark: a
    new deployment, or a Redis that restarted without its data); returns whether it did. Readers
    use PostgreSQL until then. Raises like ``rebuild``."""
    try:
        if not Layouts.from_settings().unified or redis_client().exists(keys.projection_built()):
            return False
    except RedisError:
        return False  # Redis is down: the outbox keeps the work, and this runs again next pass
    logger.warning("the Redis projection is missing (no %s): rebuilding it", keys.projection_built())
    rebuild()
    return True
