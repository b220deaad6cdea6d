"""``import_legacy_redis``: what is read from a legacy Redis, in which order, and what is reported.

Steps (``--only`` picks one; the default runs the first three):

- ``hyperrsi``: HYPERRSI position records ``user:{id}:position:{symbol}:{side}`` (hashes, JSON
  strings, ``position_info`` records); sibling keys under the pattern (``...:dca_count``,
  ``...:position_state``, ``user:{id}:position:summary``) are reported skipped;
- ``grid``: GRID levels (``...:active_grid:{level}`` hashes and the older single ``active_grid``
  hash), with each user's leverage from GRID's user hash; the newest GRID layout's exchange-level
  totals (``positions:index:{user}:{exchange}`` members ``{symbol}:{side}``) are recognised and
  reported, never imported beside the levels (every grid position would count twice);
- ``orders``: the items of HYPERRSI's ``user:{id}:open_orders`` lists;
- ``credentials`` (only when asked for): HYPERRSI ``user:{id}:api:keys`` and GRID
  ``{exchange}:user:{id}``, plaintext or ``enc_v1:`` Fernet tokens.

Every key is read by SCAN and pipelines (``reading``), parsed by pure functions (``parsing``),
and stored batch by batch (``store``); legacy keys are only read. Each record's outcome goes to
the report as it is known.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, tzinfo
from functools import partial
from typing import Any, TypeVar

from redis import Redis

from positions.legacy import parsing, reading, store
from positions.legacy.models import LegacyRecord
from positions.legacy.parsing import Invalid, Skip
from positions.legacy.report import ImportReport
from positions.legacy.store import INVALID, SKIPPED, Outcome, PositionInput
from tradingcore.redis import keys

T = TypeVar("T")
Progress = Callable[[int], None]
DEFAULT_BATCH_SIZE = 500
STEPS = ("hyperrsi", "grid", "orders", "credentials")
DEFAULT_STEPS = ("hyperrsi", "grid", "orders")
HYPERRSI = LegacyRecord.Kind.HYPERRSI_POSITION.value
GRID = LegacyRecord.Kind.GRID_LEVEL.value
ORDER = LegacyRecord.Kind.HYPERRSI_ORDER.value
CREDENTIALS = LegacyRecord.Kind.CREDENTIALS.value
EXCHANGE_TOTAL = "grid_exchange_total"


@dataclass(frozen=True)
class ImportOptions:
    """The command's options (``only``: one of ``STEPS``; ``naive_zone``: the zone of the bots'
    naive timestamps)."""

    only: str | None = None
    user_id: str | None = None
    dry_run: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE
    legacy_key: str | None = None
    naive_zone: tzinfo = UTC
    workers: int = 1
    worker: int = 0

    def owns(self, key: str) -> bool:
        """Whether this worker imports ``key``: the users are shared out by a hash of their id, so a
        user's keys (and so its slots) are all handled by one worker."""
        if self.workers <= 1:
            return True
        user_id = keys.legacy_user_id(key) or ""
        return zlib.crc32(user_id.encode()) % self.workers == self.worker


def _no_progress(count: int) -> None:
    return None


def run_import(
    client: Redis, options: ImportOptions, report: ImportReport, progress: Progress = _no_progress
) -> ImportReport:
    """Import what ``options`` selects from the legacy Redis ``client`` (this worker's share of the
    users); returns ``report``.

    Raises ``RedisError`` (either Redis unreachable) and the database's errors; a record that cannot
    be imported is an ``invalid`` outcome, never an exception.
    """
    steps = {
        "hyperrsi": _hyperrsi_positions,
        "grid": _grid,
        "orders": _hyperrsi_orders,
        "credentials": _credentials,
    }
    for name in (options.only,) if options.only else DEFAULT_STEPS:
        steps[name](client, options, report, progress)
    return report


def _batches(
    client: Redis, pattern: str, options: ImportOptions, progress: Progress, accept: Callable[[str], bool] | None = None
) -> Iterator[list[reading.RawRecord]]:
    """The records under ``pattern`` batch by batch (keys ``accept`` refuses are not even read)."""
    mine = (key for key in reading.scan(client, pattern) if options.owns(key))
    for batch in reading.batched(mine, options.batch_size):
        progress(len(batch))
        wanted = batch if accept is None else [key for key in batch if accept(key)]
        if wanted:
            yield reading.read(client, wanted)


def _attempt(report: ImportReport, kind: str, key: str, build: Callable[[], T]) -> T | None:
    """``build()``, or None with its ``Skip`` / ``Invalid`` reported for ``key``."""
    try:
        return build()
    except Skip as skip:
        report.add(Outcome(kind, key, SKIPPED, skip.reason, skip.detail))
    except Invalid as invalid:
        report.add(Outcome(kind, key, INVALID, invalid.reason, invalid.detail))
    return None


def _store_positions(report: ImportReport, items: list[PositionInput], options: ImportOptions) -> None:
    for outcome, item in zip(store.store_positions(items, dry_run=options.dry_run), items, strict=True):
        report.add(outcome, item.value.warnings)


# -- HYPERRSI positions ----------------------------------------------------------------------------------


def _hyperrsi_positions(client: Redis, options: ImportOptions, report: ImportReport, progress: Progress) -> None:
    for records in _batches(client, keys.hyperrsi_position_pattern(options.user_id), options, progress):
        items = [_attempt(report, HYPERRSI, record.key, partial(_hyperrsi_input, record)) for record in records]
        _store_positions(report, [item for item in items if item is not None], options)


def _hyperrsi_input(record: reading.RawRecord) -> PositionInput:
    key = keys.parse_hyperrsi_position_key(record.key)
    if key is None or key.kind != "hyperrsi_position":
        raise Skip("not_a_position", "a sibling key under the position pattern")
    parsing.user(key.user_id)
    value = parsing.parse_hyperrsi_position(key, parsing.hyperrsi_fields(record.redis_type, record.value))
    return PositionInput(record.key, HYPERRSI, "hyperrsi", value)


# -- GRID ------------------------------------------------------------------------------------------------


def _grid(client: Redis, options: ImportOptions, report: ImportReport, progress: Progress) -> None:
    for records in _batches(client, keys.grid_level_pattern(options.user_id), options, progress):
        parsed = [(record, keys.parse_grid_level_key(record.key)) for record in records]
        leverages = _grid_leverages(client, [key for _, key in parsed if key is not None])
        items: list[PositionInput] = []
        for record, key in parsed:
            items += _grid_inputs(report, record, key, leverages)
        _store_positions(report, items, options)
    _grid_exchange_totals(client, options, report, progress)


def _grid_leverages(client: Redis, found: list[keys.LegacyKey]) -> dict[tuple[str, str], Any]:
    """Each user's leverage from GRID's user hash (the levels store none), one round trip."""
    pairs = sorted({(key.exchange, key.user_id) for key in found})
    values = reading.hget_many(client, [(keys.grid_user(exchange, user), "leverage") for exchange, user in pairs])
    return dict(zip(pairs, values, strict=True))


def _grid_inputs(
    report: ImportReport, record: reading.RawRecord, key: keys.LegacyKey | None, leverages: dict[tuple[str, str], Any]
) -> list[PositionInput]:
    if key is None:
        report.add(Outcome(GRID, record.key, SKIPPED, "not_a_level", "matches the GRID pattern, is not a level"))
        return []
    if record.redis_type != "hash":
        report.add(Outcome(GRID, record.key, INVALID, "wrong_type", record.redis_type))
        return []
    if key.level is not None:
        levels = {key.level: record.value}
    else:
        levels = parsing.split_grid_levels(record.value)
    leverage = leverages.get((key.exchange, key.user_id))
    items = []
    for level, fields in sorted(levels.items()):
        source_key = record.key if key.level is not None else f"{record.key}#{level}"
        item = _attempt(report, GRID, source_key, partial(_grid_input, source_key, key, level, fields, leverage))
        items += [item] if item is not None else []
    return items


def _grid_input(source_key: str, key: keys.LegacyKey, level: int, fields: Any, leverage: Any) -> PositionInput:
    parsing.user(key.user_id)
    return PositionInput(source_key, GRID, "grid", parsing.parse_grid_level(key, level, fields, leverage))


def _grid_exchange_totals(client: Redis, options: ImportOptions, report: ImportReport, progress: Progress) -> None:
    """The newest GRID layout's exchange-level hashes: reported, never imported."""
    detail = "GRID's exchange-level total of its levels: imported beside them, every grid position would count twice"
    for records in _batches(client, keys.grid_exchange_index_pattern(options.user_id), options, progress):
        for record in records:
            owner = keys.parse_index_key(record.key)
            if owner is None or record.redis_type != "set":
                continue
            for member in sorted(record.value):
                found = keys.parse_grid_exchange_member(member)
                if found is not None:
                    key = keys.grid_exchange_position(owner[0], owner[1], *found)
                    report.add(Outcome(EXCHANGE_TOTAL, key, SKIPPED, "exchange_totals", detail))


# -- HYPERRSI orders -------------------------------------------------------------------------------------


def _hyperrsi_orders(client: Redis, options: ImportOptions, report: ImportReport, progress: Progress) -> None:
    for records in _batches(client, keys.hyperrsi_open_orders_pattern(options.user_id), options, progress):
        items: list[store.OrderInput] = []
        for record in records:
            items += _order_inputs(report, record, options)
        for chunk in reading.batched(items, options.batch_size):
            for outcome in store.store_orders(chunk, dry_run=options.dry_run):
                report.add(outcome)


def _order_inputs(report: ImportReport, record: reading.RawRecord, options: ImportOptions) -> list[store.OrderInput]:
    user_id = keys.parse_user_key(record.key, ":open_orders")
    if user_id is None or record.redis_type != "list":
        report.add(Outcome(ORDER, record.key, INVALID, "wrong_type", record.redis_type))
        return []
    items = []
    for index, text in enumerate(record.value):
        source_key = f"{record.key}#{parsing.item_order_id(text) or index}"
        item = _attempt(report, ORDER, source_key, partial(_order_input, source_key, user_id, text, options))
        items += [item] if item is not None else []
    return items


def _order_input(source_key: str, user_id: str, text: str, options: ImportOptions) -> store.OrderInput:
    parsing.user(user_id)
    value = parsing.parse_hyperrsi_order(user_id, text, options.naive_zone)
    return store.OrderInput(source_key, value, parsing.json_object(text, "item"))


# -- credentials -----------------------------------------------------------------------------------------


def _credentials(client: Redis, options: ImportOptions, report: ImportReport, progress: Progress) -> None:
    decrypt = parsing.fernet_decryptor(options.legacy_key)
    hyperrsi = keys.hyperrsi_credentials_pattern(options.user_id)
    for records in _batches(client, hyperrsi, options, progress):
        for record in records:
            user_id = keys.parse_user_key(record.key, ":api:keys")
            _one_credentials(report, record, "hyperrsi", user_id, "okx", decrypt, options)
    grid = keys.grid_user_pattern(options.user_id)
    for records in _batches(client, grid, options, progress, accept=_is_grid_user_key):
        for record in records:
            parsed = keys.parse_grid_user_key(record.key)
            assert parsed is not None
            _one_credentials(report, record, "grid", parsed.user_id, parsed.exchange, decrypt, options)


def _is_grid_user_key(key: str) -> bool:
    return keys.parse_grid_user_key(key) is not None


def _one_credentials(
    report: ImportReport,
    record: reading.RawRecord,
    layout: str,
    user_id: str | None,
    exchange: str,
    decrypt: Callable[[str], str],
    options: ImportOptions,
) -> None:
    if user_id is None or record.redis_type != "hash":
        report.add(Outcome(CREDENTIALS, record.key, INVALID, "wrong_type", record.redis_type))
        return

    def build() -> parsing.LegacyCredentials:
        return parsing.parse_credentials(layout, parsing.user(user_id), exchange, record.value, decrypt)

    value = _attempt(report, CREDENTIALS, record.key, build)
    if value is not None:
        report.add(store.store_credentials(record.key, layout, value, dry_run=options.dry_run))
