"""Comparison of Redis with PostgreSQL, stale-key detection, and the rebuild (SPEC section 9).

``verify`` walks every user, computes what Redis should hold (``state.user_plan``, the same
builder the projector uses) and compares it key by key and field by field with what Redis holds;
then it scans the unified key space for keys and set members with no live row behind them.
``rebuild`` rewrites every user from the database and deletes what the scan finds stale.

Legacy keys (HYPERRSI, GRID) are compared for the entities PostgreSQL knows, and removed or reset
only for those: keys of bots not migrated yet are never touched. Layouts switched off in the
settings are neither compared nor written. Each user is compared and repaired under its
projection lock, so a projection running at the same time cannot be mistaken for drift. Reads
only, except with ``fix=True`` / in ``rebuild``; never inside a database transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from tradingcore import locks
from tradingcore.enums import LIVE_ORDER_STATUSES, PositionStatus
from tradingcore.redis import keys
from tradingcore.redis.projector import apply_plan, assert_outside_transaction, redis_client
from tradingcore.redis.state import (
    ORDER_RETENTION,
    HashState,
    Layouts,
    ListState,
    Plan,
    SetState,
    all_user_ids,
    user_plan,
)

ABSENT = "(absent)"
PRESENT = "(present)"
SCAN_COUNT = 1000
STALE_BATCH = 500

_LIVE = {status.value for status in LIVE_ORDER_STATUSES}
_POSITION_SETS = ("positions:index:",)
_ORDER_SETS = ("orders:user:", "orders:open:")

Progress = Callable[[Iterable[str]], Iterable[str]]


@dataclass(frozen=True)
class Drift:
    """One difference: in ``key``, ``field`` should be ``expected`` but is ``actual``."""

    key: str
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return f"{self.key}  {self.field or '-'}  expected={self.expected!r}  actual={self.actual!r}"


@dataclass
class Report:
    """Outcome of ``verify`` or ``rebuild``."""

    users: int = 0
    keys_checked: int = 0
    keys_written: int = 0
    keys_removed: int = 0
    stale_keys: int = 0
    stale_members: int = 0
    drifts: list[Drift] = field(default_factory=list)


def _identity(users: Iterable[str]) -> Iterable[str]:
    return users


# -- comparison of one user's plan --------------------------------------------------------------


def compare_plan(plan: Plan, client: Any) -> list[Drift]:
    """Read every key of ``plan`` in one MULTI and return the differences, in plan order."""
    pipe = client.pipeline(transaction=True)
    for state in plan.states:
        if isinstance(state, HashState):
            pipe.hgetall(state.key)
        elif isinstance(state, SetState):
            pipe.smembers(state.key)
        else:
            pipe.lrange(state.key, 0, -1)
    for membership in plan.memberships:
        pipe.sismember(membership.key, membership.member)
    results = pipe.execute() if len(pipe) else []
    drifts: list[Drift] = []
    for state, actual in zip(plan.states, results, strict=False):
        drifts.extend(_compare_state(state, actual))
    for membership, present in zip(plan.memberships, results[len(plan.states) :], strict=True):
        if bool(present) != membership.present:
            expected, actual_text = (membership.member, ABSENT) if membership.present else (ABSENT, membership.member)
            drifts.append(Drift(membership.key, "member", expected, actual_text))
    return drifts


def _compare_state(state: HashState | SetState | ListState, actual: Any) -> Iterator[Drift]:
    if isinstance(state, HashState):
        expected_fields = state.fields or {}
        for name in list(expected_fields) + sorted(set(actual) - set(expected_fields)):
            want, have = expected_fields.get(name, ABSENT), actual.get(name, ABSENT)
            if want != have:
                yield Drift(state.key, name, want, have)
    elif isinstance(state, SetState):
        for member in sorted(state.members - set(actual)):
            yield Drift(state.key, "member", member, ABSENT)
        for member in sorted(set(actual) - state.members):
            yield Drift(state.key, "member", ABSENT, member)
    else:
        for index in range(max(len(state.items), len(actual))):
            want = state.items[index] if index < len(state.items) else ABSENT
            have = actual[index] if index < len(actual) else ABSENT
            if want != have:
                yield Drift(state.key, f"[{index}]", want, have)


# -- stale unified keys -------------------------------------------------------------------------


def scan_stale(*, delete: bool, client: Any = None) -> tuple[list[Drift], int, int]:
    """Find unified keys and set members with no live row behind them; remove them if ``delete``.

    A position hash is live while the position in its ``id`` field is open and maps to that key;
    a history list while its newest item is a closed position of that user and exchange; an
    order hash while the order is live or within ``ORDER_RETENTION`` of its last change; a set
    member while its position is open / its order live. Returns (drifts, stale keys, stale members).
    """
    assert_outside_transaction()
    client = client or redis_client()
    drifts: list[Drift] = []
    stale_keys = stale_members = 0
    for batch in _unified_key_batches(client):
        batch_drifts, removals, member_removals = _stale_in_batch(client, batch)
        drifts.extend(batch_drifts)
        stale_keys += len(removals)
        stale_members += sum(len(members) for members in member_removals.values())
        if delete and (removals or member_removals):
            pipe = client.pipeline(transaction=False)
            for key in removals:
                pipe.delete(key)
            for key, members in member_removals.items():
                pipe.srem(key, *members)
            pipe.execute()
    return drifts, stale_keys, stale_members


def _unified_key_batches(client: Any) -> Iterator[list[str]]:
    batch: list[str] = []
    for pattern in (keys.POSITION_SCAN_PATTERN, keys.ORDER_SCAN_PATTERN):
        for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
            if keys.is_unified_key(key):
                batch.append(key)
            if len(batch) >= STALE_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _role(key: str) -> str:
    """What a unified key is, from its shape: decides its Redis type and its liveness rule."""
    if key == keys.POSITIONS_ACTIVE or key.startswith(_POSITION_SETS):
        return "position_set"
    if key.startswith("positions:history:"):
        return "history"
    if key.startswith(_ORDER_SETS):
        return "order_set"
    if key.startswith("orders:"):
        return "order_hash"
    return "position_hash"


_ROLE_TYPES = {
    "position_set": "set",
    "order_set": "set",
    "history": "list",
    "order_hash": "hash",
    "position_hash": "hash",
}


def _stale_in_batch(client: Any, batch: list[str]) -> tuple[list[Drift], list[str], dict[str, list[str]]]:
    pipe = client.pipeline(transaction=False)
    for key in batch:
        pipe.type(key)
    # Keys that vanished since the scan are skipped; a key of the wrong type is stale as a whole.
    typed = [(key, _role(key), kind) for key, kind in zip(batch, pipe.execute(), strict=True) if kind != "none"]
    pipe = client.pipeline(transaction=False)
    for key, role, kind in typed:
        if kind != _ROLE_TYPES[role] or role == "order_hash":
            pipe.exists(key)
        elif role == "position_hash":
            pipe.hget(key, "id")
        elif role == "history":
            pipe.lindex(key, 0)
        else:
            pipe.smembers(key)
    entries = [
        (key, role if kind == _ROLE_TYPES[role] else "wrong_type", content)
        for (key, role, kind), content in zip(typed, pipe.execute(), strict=True)
    ]
    positions, orders = _load_rows(entries)
    now = timezone.now()
    drifts: list[Drift] = []
    removals: list[str] = []
    member_removals: dict[str, list[str]] = {}
    for key, role, content in entries:
        if role.endswith("_set"):
            dead = sorted(m for m in content if not _member_alive(key, m, positions, orders))
            if dead:
                member_removals[key] = dead
                drifts.extend(Drift(key, "member", ABSENT, member) for member in dead)
        elif not _key_alive(key, role, content, positions, orders, now):
            removals.append(key)
            drifts.append(Drift(key, "", ABSENT, PRESENT))
    return drifts, removals, member_removals


def _uuid(text: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except (ValueError, TypeError):
        return None


def _history_head_id(content: Any) -> uuid.UUID | None:
    try:
        return _uuid(json.loads(content).get("id")) if content else None
    except (ValueError, AttributeError):
        return None


Rows = dict[uuid.UUID | None, dict[str, Any]]


def _load_rows(entries: list[tuple[str, str, Any]]) -> tuple[Rows, Rows]:
    from orders.models import Order as OrderRow
    from positions.models import Position as PositionRow

    position_ids: set[uuid.UUID | None] = set()
    order_ids: set[uuid.UUID | None] = set()
    for key, role, content in entries:
        if role == "order_hash":
            order_ids.add(_uuid(key.removeprefix("orders:")))
        elif role == "position_hash":
            position_ids.add(_uuid(content))
        elif role == "history":
            position_ids.add(_history_head_id(content))
        elif role == "order_set":
            order_ids.update(_uuid(member) for member in content)
        elif role == "position_set":
            position_ids.update(_uuid(member) for member in content)
    found_positions = [row_id for row_id in position_ids if row_id is not None]
    found_orders = [row_id for row_id in order_ids if row_id is not None]
    position_fields = ("id", "user_id", "exchange", "symbol", "side", "grid_level", "status")
    order_fields = ("id", "user_id", "exchange", "symbol", "status", "created_at", "updated_at", "filled_at")
    position_rows = PositionRow.objects.filter(pk__in=found_positions).values(*position_fields)
    order_rows = OrderRow.objects.filter(pk__in=found_orders).values(*order_fields)
    positions: Rows = {row["id"]: row for row in position_rows}
    orders: Rows = {row["id"]: row for row in order_rows}
    return positions, orders


def _key_alive(key: str, role: str, content: Any, positions: Rows, orders: Rows, now: datetime) -> bool:
    if role == "order_hash":
        order = orders.get(_uuid(key.removeprefix("orders:")))
        return order is not None and (order["status"] in _LIVE or _order_last_change(order) + ORDER_RETENTION > now)
    if role == "position_hash":
        position = positions.get(_uuid(content))
        return position is not None and position["status"] == PositionStatus.OPEN and key == _position_key(position)
    if role == "history":
        position = positions.get(_history_head_id(content))
        return (
            position is not None
            and position["status"] != PositionStatus.OPEN
            and key == keys.position_history(position["user_id"], position["exchange"])
        )
    return False  # a unified key of the wrong type


def _member_alive(key: str, member: str, positions: Rows, orders: Rows) -> bool:
    row_id = _uuid(member)
    if key.startswith("orders:"):
        order = orders.get(row_id)
        if order is None or order["status"] not in _LIVE:
            return False
        if key.startswith("orders:user:"):
            return key == keys.order_user_index(order["user_id"], order["exchange"])
        return key == keys.open_orders(order["exchange"], order["symbol"])
    position = positions.get(row_id)
    if position is None or position["status"] != PositionStatus.OPEN:
        return False
    if key == keys.POSITIONS_ACTIVE:
        return True
    return key == keys.position_index(position["user_id"], position["exchange"])


def _position_key(row: dict[str, Any]) -> str:
    return keys.position(row["user_id"], row["exchange"], row["symbol"], row["side"], row["grid_level"])


def _order_last_change(row: dict[str, Any]) -> datetime:
    return max(row[name] for name in ("created_at", "updated_at", "filled_at") if row[name] is not None)


# -- the two operations -------------------------------------------------------------------------


def verify(*, fix: bool = False, user_ids: Iterable[str] | None = None, progress: Progress = _identity) -> Report:
    """Compare Redis with PostgreSQL; with ``fix``, re-project drifted users and remove stale keys.

    Returns the report of what was found (before any repair). Raises ``RedisError`` when Redis is
    unreachable and ``ProjectionInTransactionError`` inside a transaction.
    """
    assert_outside_transaction()
    client = redis_client()
    layouts = Layouts.from_settings()
    report = Report()
    users = list(user_ids) if user_ids is not None else all_user_ids()
    for user_id in progress(users):
        report.users += 1
        with locks.user_lock(user_id):
            plan = user_plan(user_id, layouts=layouts)
            drifts = compare_plan(plan, client)
            if fix and drifts:
                apply_plan(plan)
                report.keys_written += len(plan.states)
        report.keys_checked += len(plan.states)
        report.drifts.extend(drifts)
    if layouts.unified and user_ids is None:
        stale, report.stale_keys, report.stale_members = scan_stale(delete=fix, client=client)
        report.drifts.extend(stale)
    # A dead member of an index set is seen by both passes: report it once.
    report.drifts = list(dict.fromkeys(report.drifts))
    return report


def rebuild(*, user_ids: Iterable[str] | None = None, progress: Progress = _identity) -> Report:
    """Rewrite the projection of every user (or of ``user_ids``) and delete stale unified keys.

    The stale scan runs only for a full rebuild with the unified layout on. Raises like ``verify``.
    """
    assert_outside_transaction()
    layouts = Layouts.from_settings()
    report = Report()
    users = list(user_ids) if user_ids is not None else all_user_ids()
    for user_id in progress(users):
        report.users += 1
        with locks.user_lock(user_id):
            plan = user_plan(user_id, layouts=layouts)
            apply_plan(plan)
        report.keys_written += sum(1 for state in plan.states if _has_content(state))
        report.keys_removed += sum(1 for state in plan.states if not _has_content(state))
    if layouts.unified and user_ids is None:
        _, report.stale_keys, report.stale_members = scan_stale(delete=True)
    return report


def _has_content(state: HashState | SetState | ListState) -> bool:
    if isinstance(state, HashState):
        return bool(state.fields)
    if isinstance(state, SetState):
        return bool(state.members)
    return bool(state.items)
