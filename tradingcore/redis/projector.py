"""Writes the projection to Redis: each committed change in one MULTI/EXEC, never inside a transaction.

``publish(changes)`` turns the changes the services hand over (DTOs built from the rows they hold)
into ``plan.Block``s and applies them with ``apply.lua`` in one MULTI/EXEC: one round trip, a
reader never sees half a change, and each entity's version guard keeps an older change from
overwriting a newer one whichever process lands first. No database read, no lock.

``project_position`` / ``project_order`` publish the current state of one entity read through the
registered ``sources`` (the outbox drain and the tests use them); ``apply_states`` writes full
states (the rebuild).

Raises ``ProjectionInTransactionError`` when called inside ``transaction.atomic()`` (SPEC 6.3) and
``redis.RedisError`` when Redis fails; the outbox keeps the work for later then.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import connections
from django.utils import timezone
from django_redis import get_redis_connection
from redis import Redis

from tradingcore.redis import keys, sources
from tradingcore.redis.plan import (
    VERSION_TTL_SECONDS,
    Block,
    Change,
    Layouts,
    Membership,
    PositionChange,
    State,
    order_block,
    position_block,
    state_ops,
)

POSITION = sources.POSITION
ORDER = sources.ORDER
APPLY_SCRIPT = Path(__file__).with_name("apply.lua")


class ProjectionInTransactionError(RuntimeError):
    """Redis was about to be written inside an open database transaction (SPEC 6.3 forbids it)."""


def redis_client() -> Redis:
    """The projector's client: django-redis's default connection (string responses)."""
    return get_redis_connection("default")


@functools.cache
def apply_script_source() -> str:
    return APPLY_SCRIPT.read_text()


def in_open_transaction(using: str = "default") -> bool:
    """True inside ``transaction.atomic()``; the blocks a test case opens around a test do not count.

    That is the rule Django itself applies to ``atomic(durable=True)``: a test's wrapping
    transaction stands in for autocommit, so ``on_commit`` hooks captured in such a test may project.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        return False
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def assert_outside_transaction(using: str = "default") -> None:
    """Raise ``ProjectionInTransactionError`` when called inside an open database transaction."""
    if in_open_transaction(using):
        raise ProjectionInTransactionError(
            "Redis must not be written inside transaction.atomic(): hand the change to "
            "tradingcore.redis.outbox so it is projected after the commit"
        )


def blocks_for(
    changes: Sequence[Change], *, outbox_ids: Sequence[int | None] = (), now: datetime | None = None
) -> list[Block]:
    """The blocks of ``changes`` in every enabled layout (``outbox_ids`` tag their stream events)."""
    layouts, now = Layouts.from_settings(), now or timezone.now()
    ids = list(outbox_ids) + [None] * (len(changes) - len(outbox_ids))
    blocks = []
    for change, outbox_id in zip(changes, ids, strict=True):
        if isinstance(change, PositionChange):
            blocks.append(position_block(change, layouts=layouts, outbox_id=outbox_id))
        else:
            blocks.append(order_block(change, layouts=layouts, now=now, outbox_id=outbox_id))
    return [block for block in blocks if block.ops]


def publish(changes: Sequence[Change], *, outbox_ids: Sequence[int | None] = ()) -> int:
    """Apply ``changes`` in one MULTI/EXEC; returns how many entity blocks were applied (blocks
    older than what Redis already holds are skipped)."""
    assert_outside_transaction()
    return apply_blocks(blocks_for(changes, outbox_ids=outbox_ids))


def apply_blocks(blocks: Sequence[Block], *, client: Redis | None = None) -> int:
    """Run ``apply.lua`` over ``blocks`` inside MULTI/EXEC (one round trip)."""
    if not blocks:
        return 0
    payload = json.dumps([block.as_json() for block in blocks], separators=(",", ":"), ensure_ascii=False)
    with (client or redis_client()).pipeline(transaction=True) as pipe:
        pipe.eval(apply_script_source(), 0, payload, VERSION_TTL_SECONDS)
        [applied] = pipe.execute()
    return int(applied)


def apply_states(
    states: Sequence[State],
    *,
    versions: dict[str, int] | None = None,
    memberships: Sequence[Membership] = (),
    counters: Sequence[str] = (),
) -> None:
    """Make Redis hold ``states`` and ``memberships`` (rebuild), with the entities' versions, and
    raise ``counters``, in one MULTI/EXEC."""
    assert_outside_transaction()
    block = Block(vkey="", version=0, ops=[op for state in states for op in state_ops(state)])
    block.ops += [["sadd" if m.present else "srem", m.key, m.member] for m in memberships]
    block.ops += [["incr", counter] for counter in counters]
    block.ops += [["setversion", vkey, version] for vkey, version in (versions or {}).items()]
    apply_blocks([block])


def project(kind: str, entity_id: Any, *, event: str | None = None, outbox_id: int | None = None) -> bool:
    """Publish the current state of one entity; False when it no longer exists (its keys are then
    left to ``rebuild_redis``). Raises like ``publish``."""
    assert_outside_transaction()
    change = sources.get(kind).load_change(entity_id, event)
    if change is None:
        _forget(kind, entity_id)
        return False
    apply_blocks(blocks_for([change], outbox_ids=[outbox_id]))
    return True


def project_position(position_id: Any, *, event: str | None = None, outbox_id: int | None = None) -> bool:
    """``project`` for a position (``event``: a seed name such as ``position.opened`` or a
    ``PositionEvent`` type; omitted, it follows the status)."""
    return project(POSITION, position_id, event=event, outbox_id=outbox_id)


def project_order(order_id: Any, *, event: str | None = None, outbox_id: int | None = None) -> bool:
    """``project`` for an order (``event``: ``order.filled``, an ``OrderEvent`` type, or None)."""
    return project(ORDER, order_id, event=event, outbox_id=outbox_id)


def _forget(kind: str, entity_id: Any) -> None:
    if kind == POSITION:
        redis_client().srem(keys.positions_active(), str(entity_id))
    else:
        redis_client().delete(keys.order(entity_id))


CURRENT_TTL_SECONDS = 10


def mark_built(*, client: Redis | None = None) -> None:
    """Record that Redis holds the whole projection (after a full rebuild), under a new token: what
    a reader kept from an earlier build (``reader``) is no longer taken for current."""
    (client or redis_client()).set(keys.projection_built(), f"{timezone.now().isoformat()} {uuid.uuid4().hex}")


def confirm_current(*, client: Redis | None = None) -> None:
    """Record that no change waits to be projected, for ``CURRENT_TTL_SECONDS`` (see ``reader``).

    Call it only when the outbox holds no failed and no stale row and the projection is built.
    """
    now_ms = int(timezone.now().timestamp() * 1000)
    (client or redis_client()).set(keys.projection_current(), str(now_ms), ex=CURRENT_TTL_SECONDS)
