"""The Redis projector: publishes the current PostgreSQL state of a position, an order or a user.

``project_position`` / ``project_order`` read the row as it is now (full state, so running them
twice, late or out of order is harmless) and write every affected key of the unified schema and,
each behind its setting, of the legacy HYPERRSI and GRID layouts, plus one event on the user's
stream, all in one MULTI/EXEC: a reader never sees half a change. ``project_user`` rewrites every
key of one user (rebuild, repair).

Rules enforced here (SPEC 6.3):

- never inside an open database transaction: ``ProjectionInTransactionError`` (the service calls
  the outbox, whose after-commit hook calls the projector);
- the client is django-redis's (``get_redis_connection("default")``, one pool per process);
- projections of one user are serialised by ``locks.user_lock`` and read the database only under
  it, so the last write is always the latest committed state.

Errors: ``redis.exceptions.RedisError`` (Redis down or refusing) propagates; the outbox keeps the
row and the drain retries it.
"""

from __future__ import annotations

import logging
import uuid

from django.db import connections
from django_redis import get_redis_connection
from redis import Redis
from redis.client import Pipeline

from tradingcore import locks
from tradingcore.redis import keys
from tradingcore.redis.state import (
    STREAM_MAXLEN,
    HashState,
    Layouts,
    ListState,
    Plan,
    SetState,
    order_plan,
    position_plan,
    user_plan,
)

logger = logging.getLogger(__name__)

POSITION = "position"
ORDER = "order"


class ProjectionInTransactionError(RuntimeError):
    """Redis was about to be written inside an open database transaction (SPEC 6.3 forbids it)."""


def redis_client() -> Redis:
    """The projector's client: django-redis's default connection (string responses)."""
    return get_redis_connection("default")


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
            "Redis must not be written inside transaction.atomic(): record the change with "
            "tradingcore.redis.outbox.record_change() and let the after-commit hook project it"
        )


def project_position(
    position_id: uuid.UUID | str, *, event: str | None = None, outbox_id: int | None = None, user_id: str | None = None
) -> bool:
    """Publish the current state of one position (and its slot, index, history, legacy keys, event).

    ``event`` is a seed event name (``position.opened``) or a ``PositionEvent`` type (``opened``);
    omitted, it follows the status. ``user_id``, when the caller knows it, saves a query. Returns
    False when the row does not exist (its id is then only removed from ``positions:active``;
    ``rebuild_redis`` clears the rest). Raises ``ProjectionInTransactionError`` inside a
    transaction and ``RedisError`` when Redis fails.
    """
    from positions.models import Position as PositionRow

    assert_outside_transaction()
    user_id = user_id or PositionRow.objects.filter(pk=position_id).values_list("user_id", flat=True).first()
    if user_id is None:
        _forget(keys.positions_active(), str(position_id))
        return False
    with locks.user_lock(user_id):
        row = PositionRow.objects.filter(pk=position_id).first()
        if row is None:
            _forget(keys.positions_active(), str(position_id))
            return False
        apply_plan(position_plan(row, event=event, outbox_id=outbox_id, layouts=Layouts.from_settings()))
    return True


def project_order(
    order_id: uuid.UUID | str, *, event: str | None = None, outbox_id: int | None = None, user_id: str | None = None
) -> bool:
    """Publish the current state of one order (hash, live sets, HYPERRSI lists, event).

    ``event`` is a seed event name (``order.filled``) or an ``OrderEvent`` type (``filled``);
    omitted or unmapped, it follows the status. ``user_id``, when the caller knows it, saves a
    query. Returns False when the row does not exist (its hash is then deleted). Raises like
    ``project_position``.
    """
    from orders.models import Order as OrderRow

    assert_outside_transaction()
    user_id = user_id or OrderRow.objects.filter(pk=order_id).values_list("user_id", flat=True).first()
    if user_id is None:
        redis_client().delete(keys.order(order_id))
        return False
    with locks.user_lock(user_id):
        row = OrderRow.objects.filter(pk=order_id).first()
        if row is None:
            redis_client().delete(keys.order(order_id))
            return False
        apply_plan(order_plan(row, event=event, outbox_id=outbox_id, layouts=Layouts.from_settings()))
    return True


def project(
    kind: str,
    object_id: uuid.UUID | str,
    *,
    event: str | None = None,
    outbox_id: int | None = None,
    user_id: str | None = None,
) -> bool:
    """Dispatch to ``project_position`` or ``project_order`` by ``kind`` ("position" / "order")."""
    if kind == POSITION:
        return project_position(object_id, event=event, outbox_id=outbox_id, user_id=user_id)
    if kind == ORDER:
        return project_order(object_id, event=event, outbox_id=outbox_id, user_id=user_id)
    raise ValueError(f"unknown projection kind {kind!r}")


def project_user(user_id: str) -> Plan:
    """Rewrite every key of one user from the database (no stream event); returns what was written."""
    assert_outside_transaction()
    with locks.user_lock(user_id):
        plan = user_plan(user_id, layouts=Layouts.from_settings())
        apply_plan(plan)
    return plan


def apply_plan(plan: Plan) -> None:
    """Write ``plan`` in one MULTI/EXEC pipeline. Raises ``ProjectionInTransactionError`` / ``RedisError``."""
    assert_outside_transaction()
    with redis_client().pipeline(transaction=True) as pipe:
        for state in plan.states:
            _write_state(pipe, state)
        for membership in plan.memberships:
            if membership.present:
                pipe.sadd(membership.key, membership.member)
            else:
                pipe.srem(membership.key, membership.member)
        if plan.event is not None:
            pipe.xadd(plan.event.key, plan.event.fields, maxlen=STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
        if len(pipe):
            pipe.execute()


def _write_state(pipe: Pipeline, state: HashState | SetState | ListState) -> None:
    pipe.delete(state.key)
    if isinstance(state, HashState):
        if state.fields:
            pipe.hset(state.key, mapping=state.fields)  # type: ignore[arg-type]
            if state.expire_at is not None:
                pipe.pexpireat(state.key, int(state.expire_at.timestamp() * 1000))
    elif isinstance(state, SetState):
        if state.members:
            pipe.sadd(state.key, *sorted(state.members))
    elif state.items:
        pipe.rpush(state.key, *state.items)


def _forget(set_key: str, member: str) -> None:
    redis_client().srem(set_key, member)
