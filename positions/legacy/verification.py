"""The migrated legacy entities checked for ``verify_redis``: legacy key, unified key and database agree.

For every open position imported from a legacy record (``LegacyRecord``), three readings of the same
position must agree on size, entry price and leverage: the legacy record as it is now (read with the
importer's own parsers), the unified hash, and the row. The units differ on purpose and every line
says which is which: the legacy records count contracts (HYPERRSI ``size``, GRID ``position_size``),
the unified hash and the database hold base currency. GRID levels store no leverage: GRID's user
hash has it. Reads only, in chunks (one pipelined round trip each).

``read_sources`` (the current content of each record's key, item or level) serves ``cleanup`` too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from redis import Redis

from positions.legacy import parsing
from positions.legacy.models import LegacyRecord
from positions.legacy.parsing import Invalid
from positions.legacy.reading import batched
from tradingcore.decimals import plain
from tradingcore.enums import PositionStatus
from tradingcore.redis import keys
from tradingcore.redis.plan import NAMES_FIELD, OWNER_FIELD

CHUNK = 500
POSITION_KINDS = (LegacyRecord.Kind.HYPERRSI_POSITION, LegacyRecord.Kind.GRID_LEVEL)
ABSENT = "(absent)"


@dataclass(frozen=True)
class Mismatch:
    """One disagreement on a migrated entity: what the legacy key, the unified key and the database say."""

    key: str
    field: str
    legacy: str
    unified: str
    database: str

    def __str__(self) -> str:
        return f"{self.key}  {self.field}  legacy={self.legacy}  unified={self.unified}  database={self.database}"


@dataclass
class LegacyCheck:
    """Outcome of ``check_migrated``."""

    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


# -- reading the records' keys ---------------------------------------------------------------------------


def split_source(source_key: str) -> tuple[str, str | None]:
    """(the Redis key, the item or level inside it, if any) of a ``LegacyRecord.source_key``."""
    key, found, item = source_key.partition("#")
    return key, item if found else None


def read_sources(client: Redis, records: list[LegacyRecord]) -> dict[str, Any]:
    """The current content of each record (by source key): a hash's fields, a level's fields, a list
    item's text, a JSON string's text; None when gone. One pipelined round trip."""
    redis_keys = sorted({split_source(record.source_key)[0] for record in records})
    pipe = client.pipeline(transaction=False)
    for key in redis_keys:
        pipe.type(key)
    kinds = dict(zip(redis_keys, pipe.execute(), strict=True))
    pipe = client.pipeline(transaction=False)
    for key in redis_keys:
        _read(pipe, key, kinds[key])
    values = dict(zip(redis_keys, pipe.execute(), strict=True))
    return {record.source_key: _content(record.source_key, kinds, values) for record in records}


def _read(pipe: Any, key: str, kind: str) -> None:
    if kind == "hash":
        pipe.hgetall(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "string":
        pipe.get(key)
    else:
        pipe.exists(key)


def _content(source_key: str, kinds: dict[str, str], values: dict[str, Any]) -> Any:
    key, item = split_source(source_key)
    kind, value = kinds[key], values[key]
    if item is None:
        return value if kind in ("hash", "string") else None
    if kind == "hash":  # a level of GRID's older single hash
        return parsing.split_grid_levels(value).get(int(item)) if item.isdigit() else None
    if kind == "list":  # an order of a HYPERRSI list
        return next((text for text in value if parsing.item_order_id(text) == item), None)
    return None


# -- reading the legacy position -------------------------------------------------------------------------


def legacy_position(record: LegacyRecord, content: Any, leverage: Any) -> parsing.LegacyPosition:
    """The position the record's key describes now, read by the importer's parsers (our own marks
    removed: a record our dual-write took over reads as what it says). Raises ``Invalid``."""
    if content is None:
        raise Invalid("absent", "the legacy key is gone")
    key_text, item = split_source(record.source_key)
    if record.kind == LegacyRecord.Kind.GRID_LEVEL:
        found = keys.parse_grid_level_key(key_text)
        if found is None:
            raise Invalid("not_a_level")
        level = found.level if found.level is not None else int(item or -1)
        return parsing.parse_grid_level(found, level, _without_our_marks(content), leverage)
    parsed_key = keys.parse_hyperrsi_position_key(key_text)
    if parsed_key is None:
        raise Invalid("not_a_position")
    kind = "string" if isinstance(content, str) else "hash"
    return parsing.parse_hyperrsi_position(parsed_key, _without_our_marks(parsing.hyperrsi_fields(kind, content)))


def _without_our_marks(fields: Any) -> Any:
    if not isinstance(fields, dict):
        return fields
    return {name: value for name, value in fields.items() if name not in (OWNER_FIELD, NAMES_FIELD)}


# -- the check -----------------------------------------------------------------------------------------


def check_migrated(client: Redis, *, user_ids: Iterable[str] | None = None) -> LegacyCheck:
    """Compare every open imported position with its legacy key and its unified key. Reads only."""
    rows = LegacyRecord.objects.filter(kind__in=POSITION_KINDS, position__status=PositionStatus.OPEN)
    if user_ids is not None:
        rows = rows.filter(user_id__in=list(user_ids))
    result = LegacyCheck()
    for chunk in batched(rows.select_related("position").order_by("id").iterator(chunk_size=CHUNK), CHUNK):
        result.checked += len(chunk)
        result.mismatches += list(_check_chunk(client, chunk))
    return result


def _check_chunk(client: Redis, chunk: list[LegacyRecord]) -> Iterator[Mismatch]:
    contents = read_sources(client, chunk)
    unified, leverages = _unified_and_leverages(client, chunk)
    for record in chunk:
        position = record.position
        assert position is not None
        yield from compare_entity(record, contents[record.source_key], unified[record.pk], leverages[record.pk])


def _unified_and_leverages(client: Redis, chunk: list[LegacyRecord]) -> tuple[dict[int, Any], dict[int, Any]]:
    pipe = client.pipeline(transaction=False)
    for record in chunk:
        position = record.position
        assert position is not None
        pipe.hgetall(keys.position(position.user_id, position.exchange, position.symbol, position.side,
                                   position.grid_level))  # fmt: skip
        pipe.hget(keys.grid_user(position.exchange, position.user_id), "leverage")
    values = pipe.execute()
    return (
        {record.pk: values[2 * index] for index, record in enumerate(chunk)},
        {record.pk: values[2 * index + 1] for index, record in enumerate(chunk)},
    )


def compare_entity(record: LegacyRecord, content: Any, unified: dict[str, str], grid_leverage: Any) -> list[Mismatch]:
    """The disagreements between the legacy record, the unified hash and the row of one entity."""
    position = record.position
    assert position is not None
    try:
        legacy = legacy_position(record, content, grid_leverage)
    except Invalid as problem:
        return [Mismatch(record.source_key, "record", f"{problem.reason} {problem.detail}".strip(), "-", "-")]
    checks = [
        ("size", _contracts_text(legacy), _base(unified.get("size")), f"{plain(position.size)} base",
         _same(legacy.size, unified.get("size"), position.size)),
        ("entry_price", plain(legacy.entry_price), unified.get("entry_price", ABSENT), plain(position.entry_price),
         _same(legacy.entry_price, unified.get("entry_price"), position.entry_price)),
    ]  # fmt: skip
    if record.kind == LegacyRecord.Kind.HYPERRSI_POSITION or grid_leverage is not None:
        same = _same(Decimal(legacy.leverage), unified.get("leverage"), Decimal(position.leverage))
        checks.append(("leverage", str(legacy.leverage), unified.get("leverage", ABSENT), str(position.leverage), same))
    return [Mismatch(record.source_key, *values) for *values, same in checks if not same]


def _contracts_text(legacy: parsing.LegacyPosition) -> str:
    return f"{plain(Decimal(legacy.contracts))} contracts (x {plain(legacy.contract_size)} = {plain(legacy.size)} base)"


def _base(text: str | None) -> str:
    return ABSENT if text is None else f"{text} base"


def _same(legacy: Decimal, unified: str | None, database: Decimal) -> bool:
    try:
        return unified is not None and legacy == Decimal(unified) == database
    except ArithmeticError:
        return False
