"""Compares Redis with PostgreSQL (``verify_redis``): the drift, key by key and field by field.

For each user, the desired states (``plan.user_states``, from the apps' ``sources``) are read back
in one MULTI and compared. In hashes and lists shared with the legacy bots only our fields and our
items count. A user whose drift might be a projection still in flight (a committed change not yet
in Redis) is compared again after a short pause, so only lasting drift is reported. Then the
unified key space is scanned for keys and set members with no live row behind them
(``scan_stale``). Reads only, except with ``fix=True``, which re-projects the drifted users and
removes the stale keys (see ``rebuild`` for the full rewrite). Never inside a database transaction.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tradingcore.enums import LIVE_ORDER_STATUSES, PositionStatus
from tradingcore.redis import keys, sources
from tradingcore.redis.plan import (
    ORDER_RETENTION,
    HashState,
    Layouts,
    ListState,
    Membership,
    SetState,
    State,
    UserStates,
    last_change,
    user_states,
)
from tradingcore.redis.projector import apply_states, assert_outside_transaction, redis_client

logger = logging.getLogger(__name__)
ABSENT = "(absent)"
PRESENT = "(present)"
SCAN_COUNT = 1000
STALE_BATCH = 500
RECHECK_PAUSE_SECONDS = 0.2

_LIVE = {status.value for status in LIVE_ORDER_STATUSES}

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


def desired_states(user_id: str, *, layouts: Layouts, now: datetime | None = None) -> tuple[UserStates, dict[str, int]]:
    """What Redis should hold for ``user_id`` now, and the versions of its entities."""
    snapshot = sources.user_snapshot(user_id, now or timezone.now())
    return user_states(snapshot, layouts=layouts, now=now or timezone.now()), snapshot.versions


WRITE_ATTEMPTS = 5


def write_user(user_id: str, *, layouts: Layouts, now: datetime | None = None) -> UserStates:
    """Make Redis hold ``user_id``'s desired states (the rebuild, ``verify --fix``); returns them.

    The write is not guarded by versions (it writes whole keys shared by several entities), so a
    change committed after the read and projected before the write would be overwritten by the
    older state read, its outbox row already gone. So the user is read again after each write, and
    written again until no version moved in between (at most ``WRITE_ATTEMPTS`` times): a change
    committed after that last read is projected after it, over this write.
    """
    now = now or timezone.now()
    wanted, versions = desired_states(user_id, layouts=layouts, now=now)
    for _ in range(WRITE_ATTEMPTS):
        apply_states(wanted.states, versions=versions, memberships=wanted.memberships, counters=wanted.counters)
        again, versions_again = desired_states(user_id, layouts=layouts, now=now)
        if versions_again == versions:
            return wanted
        wanted, versions = again, versions_again
    logger.warning("user %s kept changing while its projection was rewritten %d times", user_id, WRITE_ATTEMPTS)
    return wanted


# -- comparing one user ----------------------------------------------------------------------------


def compare(wanted: UserStates, client: Any) -> list[Drift]:
    """Read every key of ``wanted`` in one MULTI and return the differences, in order."""
    pipe = client.pipeline(transaction=True)
    for state in wanted.states:
        if isinstance(state, HashState):
            pipe.hgetall(state.key)
        elif isinstance(state, SetState):
            pipe.smembers(state.key)
        else:
            pipe.lrange(state.key, 0, -1)
    for membership in wanted.memberships:
        pipe.sismember(membership.key, membership.member)
    results = pipe.execute(raise_on_error=False) if len(pipe) else []  # a key of another type: its error
    drifts: list[Drift] = []
    for state, actual in zip(wanted.states, results, strict=False):
        drifts.extend(_compare_state(state, actual))
    for membership, present in zip(wanted.memberships, results[len(wanted.states) :], strict=True):
        drifts.extend(_compare_membership(membership, present is True or present == 1))
    return drifts


def _compare_membership(membership: Membership, present: bool) -> list[Drift]:
    if present == membership.present:
        return []
    expected, actual = (membership.member, ABSENT) if membership.present else (ABSENT, membership.member)
    return [Drift(membership.key, "member", expected, actual)]


WRONG_TYPE = "(another type)"


def _compare_state(state: State, actual: Any) -> Iterator[Drift]:
    if isinstance(actual, Exception):
        if not (isinstance(state, HashState) and state.adoptable):  # else: the bot's record, in its own form
            yield Drift(state.key, "", type(state).__name__.removesuffix("State").lower(), WRONG_TYPE)
    elif isinstance(state, HashState):
        yield from _compare_hash(state, actual)
    elif isinstance(state, SetState):
        ours = {member for member in actual if keys.is_entity_id(member)}  # GRID's members: a collision
        for member in sorted(state.members - ours):
            yield Drift(state.key, "member", member, ABSENT)
        for member in sorted(ours - state.members):
            yield Drift(state.key, "member", ABSENT, member)
    elif state.own:
        yield from _compare_own_items(state, actual)
    else:
        yield from _compare_list(state, actual)


def _compare_hash(state: HashState, actual: dict[str, str]) -> Iterator[Drift]:
    if state.adoptable and actual.get(state.owner_field) != state.owner:
        return  # the bot's own record of an imported entity: the legacy check compares it
    if state.foreign_field and state.foreign_field in actual:
        return  # another program's hash under our key: reported as a collision by the stale scan
    expected = dict(state.fields or {})
    if state.owner_field and state.owner:
        expected = {state.owner_field: state.owner, **expected}
        if state.names_field:
            expected[state.names_field] = ",".join(sorted(state.fields or {}))
    names = list(expected)
    if not state.owner_field:
        names += sorted(set(actual) - set(expected))
    elif not state.owner and state.fields is None and state.owner_field in actual:
        names = list(actual)  # a legacy hash of ours that should be gone
    for name in names:
        want, have = expected.get(name, ABSENT), actual.get(name, ABSENT)
        if want != have and not (name in state.counts and same_count(want, have)):
            yield Drift(state.key, name, want, have)


def same_count(want: str, have: str) -> bool:
    """Two running counts (GRID's ``grid_count``) agree when they count the same way: both zero, or
    both of the same sign (the bot keeps adding to its own count)."""
    try:
        wanted, running = int(want), int(have.strip('"'))
    except ValueError:
        return False
    return (wanted > 0) == (running > 0) and (wanted < 0) == (running < 0)


def _compare_list(state: ListState, actual: list[str]) -> Iterator[Drift]:
    for index in range(max(len(state.items), len(actual))):
        want = state.items[index] if index < len(state.items) else ABSENT
        have = actual[index] if index < len(actual) else ABSENT
        if want != have:
            yield Drift(state.key, f"[{index}]", want, have)


# What HYPERRSI's order monitor leaves alone when it rewrites one of our items (it refreshes
# ``filled_size``, ``avg_fill_price`` and ``update_time`` from a lookup of its own).
_ITEM_IDENTITY = ("clientOrderId", "order_id", "symbol", "side", "size", "status", "order_type", "posSide")


def _item_identity(item: str) -> str:
    try:
        fields = json.loads(item, parse_float=Decimal)
    except ValueError:
        return item
    if not isinstance(fields, dict):
        return item
    return json.dumps({name: fields.get(name) for name in _ITEM_IDENTITY}, default=str, sort_keys=True)


def _compare_own_items(state: ListState, actual: list[str]) -> Iterator[Drift]:
    """Our items in a list shared with the legacy bots, theirs ignored: compared as a multiset of
    what identifies them (the fields the legacy monitor never rewrites)."""
    mine = {_item_identity(item): item for item in state.items}
    theirs = {_item_identity(item): item for item in actual if state.own in item}
    wanted = Counter(_item_identity(item) for item in state.items)
    have = Counter(_item_identity(item) for item in actual if state.own in item)
    for identity in sorted((wanted - have).elements()):
        yield Drift(state.key, "item", mine[identity], ABSENT)
    for identity in sorted((have - wanted).elements()):
        yield Drift(state.key, "item", ABSENT, theirs[identity])


def verify_user(user_id: str, *, layouts: Layouts, client: Any, fix: bool = False) -> tuple[UserStates, list[Drift]]:
    """The user's desired states and the lasting drift (compared again after a pause when the first
    look disagrees, so a projection still landing is not reported); repaired with ``fix``."""
    wanted, versions = desired_states(user_id, layouts=layouts)
    drifts = compare(wanted, client)
    if drifts:
        time.sleep(RECHECK_PAUSE_SECONDS)
        wanted, versions = desired_states(user_id, layouts=layouts)
        drifts = compare(wanted, client)
    if fix and drifts:
        wanted = write_user(user_id, layouts=layouts)
    return wanted, drifts


# -- stale unified keys ------------------------------------------------------------------------------


def scan_stale(*, delete: bool, client: Any = None) -> tuple[list[Drift], int, int]:
    """Find unified keys and set members with no live row behind them; remove them if ``delete``.

    A position hash is live while the position in its ``id`` field is open and maps to that key;
    a history list while its newest item is a closed position of that user and exchange; an
    order hash while the order is live or within ``ORDER_RETENTION`` of its last change; a set
    member (or a slots-map field) while its position is open / its order live. The newest GRID
    code's ``{symbol}:{side}`` index members and ``pos`` / ``notionalUsd`` hashes under the same
    keys are GRID's: never removed, reported as a collision (set ``TRADING_UNIFIED_KEY_PREFIX``).
    Returns (drifts, stale keys, stale members).
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
            _remove(client, removals, member_removals)
    return drifts, stale_keys, stale_members


def _remove(client: Any, removals: list[str], member_removals: dict[str, list[str]]) -> None:
    pipe = client.pipeline(transaction=False)
    for key in removals:
        pipe.delete(key)
    for key, members in member_removals.items():
        if keys.unified_role(key) == "slots":
            pipe.hdel(key, *members)
        else:
            pipe.srem(key, *members)
    pipe.execute()


def _unified_key_batches(client: Any) -> Iterator[list[str]]:
    batch: list[str] = []
    for pattern in (keys.position_scan_pattern(), keys.order_scan_pattern()):
        for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
            if keys.is_unified_key(key):
                batch.append(key)
            if len(batch) >= STALE_BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


_ROLE_TYPES = {
    "position_set": "set",
    "order_set": "set",
    "slots": "hash",
    "history": "list",
    "order_hash": "hash",
    "position_hash": "hash",
}
_READERS = {
    "position_hash": lambda pipe, key: pipe.hmget(key, "id", keys.GRID_EXCHANGE_FIELD),
    "history": lambda pipe, key: pipe.lindex(key, 0),
    "slots": lambda pipe, key: pipe.hgetall(key),
    "position_set": lambda pipe, key: pipe.smembers(key),
    "order_set": lambda pipe, key: pipe.smembers(key),
    "order_hash": lambda pipe, key: pipe.exists(key),
}


def _read_batch(client: Any, batch: list[str]) -> list[tuple[str, str, Any]]:
    pipe = client.pipeline(transaction=False)
    for key in batch:
        pipe.type(key)
    # Keys that vanished since the scan are skipped; a key of the wrong type is stale as a whole.
    roles = [(key, keys.unified_role(key), kind) for key, kind in zip(batch, pipe.execute(), strict=True)]
    typed = [entry for entry in roles if entry[2] != "none"]
    pipe = client.pipeline(transaction=False)
    for key, role, kind in typed:
        if kind != _ROLE_TYPES[role]:
            pipe.exists(key)
        else:
            _READERS[role](pipe, key)
    return [
        (key, role if kind == _ROLE_TYPES[role] else "wrong_type", content)
        for (key, role, kind), content in zip(typed, pipe.execute(), strict=True)
    ]


def _stale_in_batch(client: Any, batch: list[str]) -> tuple[list[Drift], list[str], dict[str, list[str]]]:
    drifts: list[Drift] = []
    entries = []
    for key, role, content in _read_batch(client, batch):
        collisions, ours = _split_grid_data(key, role, content)
        drifts.extend(collisions)
        if ours is not None:
            entries.append((key, role, ours))
    positions, orders = _load_rows(entries)
    now = timezone.now()
    removals: list[str] = []
    member_removals: dict[str, list[str]] = {}
    for key, role, content in entries:
        if role in ("position_set", "order_set", "slots"):
            dead = sorted(m for m in content if not _member_alive(key, role, m, content, positions, orders))
            if dead:
                member_removals[key] = dead
                drifts.extend(Drift(key, "member", ABSENT, member) for member in dead)
        elif not _key_alive(key, role, content, positions, orders, now):
            removals.append(key)
            drifts.append(Drift(key, "", ABSENT, PRESENT))
    return drifts, removals, member_removals


COLLISION = "collision"
_COLLISION_HINT = "our keys only (the newest GRID code reads these keys: set TRADING_UNIFIED_KEY_PREFIX)"


def _split_grid_data(key: str, role: str, content: Any) -> tuple[list[Drift], Any]:
    """Set apart the newest GRID code's data under our unified keys (never ours to remove), reported
    as a collision: its ``{symbol}:{side}`` index members, its ``pos`` hash where a position hash of
    ours goes. Returns (collisions, what is left for the liveness check, None when nothing is)."""
    if role == "position_hash":
        our_id, grid_pos = content
        if grid_pos is not None:
            return [Drift(key, COLLISION, _COLLISION_HINT, f"GRID exchange position (pos={grid_pos})")], None
        return [], our_id
    if role != "position_set":
        return [], content
    grid_members = sorted(member for member in content if keys.parse_grid_exchange_member(member))
    collisions = [Drift(key, COLLISION, _COLLISION_HINT, f"GRID member {member}") for member in grid_members]
    return collisions, set(content) - set(grid_members)


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


Rows = dict[Any, dict[str, Any]]


def _ids_in(entries: list[tuple[str, str, Any]]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    position_ids: set[uuid.UUID | None] = set()
    order_ids: set[uuid.UUID | None] = set()
    for key, role, content in entries:
        if role == "order_hash":
            order_ids.add(_uuid(keys.order_id_of(key)))
        elif role == "position_hash":
            position_ids.add(_uuid(content))
        elif role == "history":
            position_ids.add(_history_head_id(content))
        elif role == "order_set":
            order_ids.update(_uuid(member) for member in content)
        elif role in ("position_set", "slots"):
            position_ids.update(_uuid(member) for member in content)
    return {i for i in position_ids if i is not None}, {i for i in order_ids if i is not None}


def _load_rows(entries: list[tuple[str, str, Any]]) -> tuple[Rows, Rows]:
    position_ids, order_ids = _ids_in(entries)
    positions = sources.get(sources.POSITION).liveness(position_ids) if position_ids else {}
    orders = sources.get(sources.ORDER).liveness(order_ids) if order_ids else {}
    return positions, orders


def _key_alive(key: str, role: str, content: Any, positions: Rows, orders: Rows, now: datetime) -> bool:
    if role == "order_hash":
        order = orders.get(_uuid(keys.order_id_of(key)))
        if order is None:
            return False
        return (
            order["status"] in _LIVE
            or last_change(order["created_at"], order["updated_at"], order["filled_at"]) + ORDER_RETENTION > now
        )
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


def _member_alive(key: str, role: str, member: str, content: Any, positions: Rows, orders: Rows) -> bool:
    row_id = _uuid(member)
    if role == "order_set":
        order = orders.get(row_id)
        if order is None or order["status"] not in _LIVE:
            return False
        if key.startswith("orders:user:"):
            return key == keys.order_user_index(order["user_id"], order["exchange"])
        return key == keys.open_orders(order["exchange"], order["symbol"])
    position = positions.get(row_id)
    if position is None or position["status"] != PositionStatus.OPEN:
        return False
    if role == "slots":
        slots_key = keys.position_slots(position["user_id"], position["exchange"])
        return key == slots_key and content.get(member) == _position_key(position)
    if key == keys.positions_active():
        return True
    return key == keys.position_index(position["user_id"], position["exchange"])


def _position_key(row: dict[str, Any]) -> str:
    return keys.position(row["user_id"], row["exchange"], row["symbol"], row["side"], row["grid_level"])


# -- the operation ---------------------------------------------------------------------------------


def verify(*, fix: bool = False, user_ids: Iterable[str] | None = None, progress: Progress = _identity) -> Report:
    """Compare Redis with PostgreSQL; with ``fix``, re-project drifted users and remove stale keys.

    Returns the report of what was found (before any repair). Raises ``RedisError`` when Redis is
    unreachable and ``ProjectionInTransactionError`` inside a transaction.
    """
    assert_outside_transaction()
    client = redis_client()
    layouts = Layouts.from_settings()
    report = Report()
    users = list(user_ids) if user_ids is not None else sources.all_user_ids()
    for user_id in progress(users):
        report.users += 1
        wanted, drifts = verify_user(user_id, layouts=layouts, client=client, fix=fix)
        report.keys_checked += len(wanted.states)
        report.keys_written += len(wanted.states) if fix and drifts else 0
        report.drifts.extend(drifts)
    if layouts.unified and user_ids is None:
        stale, report.stale_keys, report.stale_members = scan_stale(delete=fix, client=client)
        report.drifts.extend(stale)
    # A dead member of an index set is seen by both passes: report it once.
    report.drifts = list(dict.fromkeys(report.drifts))
    return report
