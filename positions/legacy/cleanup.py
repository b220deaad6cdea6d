"""``cleanup_legacy_keys``: the last phase, removing the legacy keys of migrated entities.

A legacy record's key (or its item in a HYPERRSI list, or its level in GRID's older single hash) is
removed only when all of these hold, and kept with the first reason that fails otherwise:

1. ``dual_write_on``: the dual-write of its layout is off (``TRADING_LEGACY_*_WRITE=false``), or the
   next change would write the key again;
2. ``grid_settings``: it is not GRID's user hash (credentials live beside GRID's settings and
   running state: never removed);
3. ``not_migrated`` / ``mismatch``: the entity is verified migrated: an open position agrees with
   its legacy key on size, entry and leverage (``verification``); a closed one, an order, an active
   account exist;
4. ``writer_running``: the legacy bot says it does not run for the user (HYPERRSI
   ``user:{id}:trading:status`` is not ``running``, GRID's user hash ``is_running`` is not ``1``);
5. ``not_quiet``: the legacy writer has been quiet for ``quiet_for``: Redis says the key was not
   touched for that long (OBJECT IDLETIME, read before anything else touches it), or the key's
   content, minus our own marks, is unchanged since an earlier run saw it (``LegacyRecord.seen_*``:
   every run records what it saw, the dry run included, so a second run after ``quiet_for`` decides).

A dry run (the default) removes nothing; ``confirm`` removes. Never inside a database transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from redis import Redis
from redis.exceptions import ResponseError

from positions.legacy import parsing
from positions.legacy.models import LegacyRecord
from positions.legacy.reading import batched
from positions.legacy.verification import POSITION_KINDS, compare_entity, read_sources, split_source
from tradingcore.enums import PositionStatus
from tradingcore.redis import keys
from tradingcore.redis.plan import NAMES_FIELD, OWNER_FIELD

CHUNK = 500
REMOVED, KEPT = "removed", "kept"


@dataclass(frozen=True)
class Decision:
    """What became of one legacy record's key and why (``action``: removed / kept; a dry run's
    "removed" is what would be removed)."""

    key: str
    kind: str
    action: str
    reason: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class _Seen:
    """What the chunk's read found for one record: its content and how long Redis saw it idle."""

    content: Any
    idle: timedelta | None
    unified: dict[str, str]
    leverage: Any
    writer_running: bool


def cleanup(
    client: Redis, *, confirm: bool, quiet_for: timedelta, user_ids: Iterable[str] | None = None
) -> Iterator[Decision]:
    """Decide (and with ``confirm`` remove) record by record; yields every decision."""
    rows = LegacyRecord.objects.select_related("position", "order", "account").order_by("id")
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    for chunk in batched(rows.iterator(chunk_size=CHUNK), CHUNK):
        seen = _read_chunk(client, chunk)
        decisions = [_decide(record, seen[record.source_key], quiet_for, timezone.now()) for record in chunk]
        if confirm:
            _remove(client, [record for record, d in zip(chunk, decisions, strict=True) if d.action == REMOVED],
                    seen)  # fmt: skip
        yield from decisions


# -- reading ---------------------------------------------------------------------------------------------


def _read_chunk(client: Redis, chunk: list[LegacyRecord]) -> dict[str, _Seen]:
    idle = _idle_times(client, sorted({split_source(record.source_key)[0] for record in chunk}))
    contents = read_sources(client, chunk)
    extra = _extra_reads(client, chunk)
    return {
        record.source_key: _Seen(
            contents[record.source_key], idle.get(split_source(record.source_key)[0]), *extra[record.pk]
        )  # fmt: skip
        for record in chunk
    }


def _idle_times(client: Redis, redis_keys: list[str]) -> dict[str, timedelta | None]:
    """OBJECT IDLETIME of each key, before this run reads it (None where the server keeps no such
    clock, as under an LFU eviction policy)."""
    pipe = client.pipeline(transaction=False)
    for key in redis_keys:
        pipe.object("idletime", key)
    values = pipe.execute(raise_on_error=False)
    return {
        key: timedelta(seconds=value) if isinstance(value, int) and not isinstance(value, ResponseError) else None
        for key, value in zip(redis_keys, values, strict=True)
    }


def _extra_reads(client: Redis, chunk: list[LegacyRecord]) -> dict[int, tuple[dict[str, str], Any, bool]]:
    """For each record: the unified hash of its position (if any), its user's GRID leverage, and
    whether its legacy bot says it runs."""
    pipe = client.pipeline(transaction=False)
    for record in chunk:
        position = record.position
        if position is not None:
            pipe.hgetall(keys.position(position.user_id, position.exchange, position.symbol, position.side,
                                       position.grid_level))  # fmt: skip
        else:
            pipe.exists(record.source_key)
        pipe.hget(keys.grid_user(record.exchange, record.user_id), "leverage")
        if _is_grid(record):
            pipe.hget(keys.grid_user(record.exchange, record.user_id), "is_running")
        else:
            pipe.get(keys.hyperrsi_trading_status(record.user_id))
    values = pipe.execute()
    return {record.pk: _extras(record, values[3 * i : 3 * i + 3]) for i, record in enumerate(chunk)}


def _extras(record: LegacyRecord, values: list[Any]) -> tuple[dict[str, str], Any, bool]:
    unified, leverage, flag = values
    running = flag == "1" if _is_grid(record) else flag == "running"
    return (unified if isinstance(unified, dict) else {}), leverage, running


def _is_grid(record: LegacyRecord) -> bool:
    """Whether GRID wrote the record (its levels and its user hashes), else HYPERRSI."""
    return record.kind == LegacyRecord.Kind.GRID_LEVEL or keys.parse_grid_user_key(record.source_key) is not None


# -- deciding ----------------------------------------------------------------------------------------------


def _decide(record: LegacyRecord, seen: _Seen, quiet_for: timedelta, now: datetime) -> Decision:
    for check in (_layout_check, _entity_check):
        problem = check(record, seen)
        if problem is not None:
            return Decision(record.source_key, record.kind, KEPT, *problem)
    if seen.content is None:
        return Decision(record.source_key, record.kind, KEPT, "absent", "the legacy key is already gone")
    problem = _writer_check(seen) or _quiet_check(record, seen, quiet_for, now)
    if problem is not None:
        return Decision(record.source_key, record.kind, KEPT, *problem)
    return Decision(record.source_key, record.kind, REMOVED, "migrated_and_quiet")


def _layout_check(record: LegacyRecord, seen: _Seen) -> tuple[str, str] | None:
    flag = "TRADING_LEGACY_GRID_WRITE" if _is_grid(record) else "TRADING_LEGACY_HYPERRSI_WRITE"
    if record.kind != LegacyRecord.Kind.CREDENTIALS and getattr(settings, flag):
        return "dual_write_on", f"{flag} is on: the next change would write the key again"
    if record.kind == LegacyRecord.Kind.CREDENTIALS and keys.parse_grid_user_key(record.source_key) is not None:
        return "grid_settings", "GRID keeps its settings and running state in the same hash"
    return None


def _entity_check(record: LegacyRecord, seen: _Seen) -> tuple[str, str] | None:
    if record.kind in POSITION_KINDS:
        position = record.position
        if position is None:
            return "not_migrated", "no position"
        if position.status != PositionStatus.OPEN:
            return None  # closed here since: the legacy key only describes the past
        mismatches = compare_entity(record, seen.content, seen.unified, seen.leverage)
        return ("mismatch", "; ".join(str(m) for m in mismatches)) if mismatches else None
    if record.kind == LegacyRecord.Kind.HYPERRSI_ORDER:
        return None if record.order is not None else ("not_migrated", "no order")
    account = record.account
    return None if account is not None and account.is_active else ("not_migrated", "no active account")


def _writer_check(seen: _Seen) -> tuple[str, str] | None:
    return ("writer_running", "the legacy bot says it runs for this user") if seen.writer_running else None


def _quiet_check(record: LegacyRecord, seen: _Seen, quiet_for: timedelta, now: datetime) -> tuple[str, str] | None:
    if seen.idle is not None and seen.idle >= quiet_for:
        return None
    current = parsing.fingerprint({"content": _without_our_marks(seen.content)})
    if record.seen_fingerprint != current or record.seen_since is None:
        record.seen_fingerprint, record.seen_since = current, now
        record.save(update_fields=["seen_fingerprint", "seen_since"])
        return "not_quiet", f"first seen like this now; removable after {quiet_for} unchanged"
    if now - record.seen_since < quiet_for:
        return "not_quiet", f"unchanged since {record.seen_since.isoformat()}; quiet for {quiet_for} is needed"
    return None


def _without_our_marks(content: Any) -> Any:
    if not isinstance(content, dict):
        return content
    return {name: value for name, value in sorted(content.items()) if name not in (OWNER_FIELD, NAMES_FIELD)}


# -- removing ----------------------------------------------------------------------------------------------


def _remove(client: Redis, records: list[LegacyRecord], seen: dict[str, _Seen]) -> None:
    pipe = client.pipeline(transaction=False)
    for record in records:
        key, item = split_source(record.source_key)
        content = seen[record.source_key].content
        if item is None:
            pipe.delete(key)
        elif isinstance(content, str):  # a list item
            pipe.lrem(key, 1, content)
        else:  # a level of GRID's older single hash
            pipe.hdel(key, *[f"{item}:{name}" for name in content])
    pipe.execute()
