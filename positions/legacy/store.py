"""Turning parsed legacy records into rows: the one place the importer writes PostgreSQL and Redis.

A batch of records is decided first (``imported``, ``updated``, ``unchanged``, ``skipped``,
``invalid``) against the ``LegacyRecord`` ledger and the open positions of their slots, then, unless
it is a dry run, written in one transaction with the same invariants as the services: each new or
changed position gets an ``imported`` event, each new order a ``reconciled`` event (action
``imported``), each of them an outbox row and a version; ``LegacyRecord`` remembers what the record
became. After commit the batch is projected in one MULTI/EXEC to the unified keys only, and the
outbox rows deleted: the legacy keys stay the legacy bots' until a change through the services
claims them. Should that projection fail, the outbox rows stay and the drain projects them later
(every layout then, like any change).

A re-run finds each record in the ledger: the same fingerprint is ``unchanged``; a changed record
updates the position only while the service has not changed it since the import
(``entity_version``); a record whose position has closed here since, and which now describes
another position, is imported anew.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.fields.json import KT
from django.utils import timezone

from orders import events as order_events
from orders import projection as order_projection
from orders.models import Order, OrderEvent
from positions.legacy.models import LegacyRecord
from positions.legacy.parsing import LegacyCredentials, LegacyOrder, LegacyPosition
from positions.legacy.rows import RowWriter
from positions.models import Position, PositionEvent
from tradingcore import dto
from tradingcore.accounts import save_exchange_account
from tradingcore.decimals import plain, quantize, quantize_precise
from tradingcore.enums import PositionStatus
from tradingcore.models import OutboxEntry
from tradingcore.redis import plan, projector

ACTOR = "system:import_legacy_redis"
IMPORT_EVENT = "imported"  # the event of the import's outbox rows (deleted once projected)
IMPORTED, UPDATED, UNCHANGED, SKIPPED, INVALID = "imported", "updated", "unchanged", "skipped", "invalid"


@dataclass(frozen=True)
class Outcome:
    """What became of one legacy record."""

    kind: str
    key: str
    result: str
    reason: str = ""
    detail: str = ""
    entity: str = ""

    def as_json(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


@dataclass(frozen=True)
class PositionInput:
    """A parsed position record and where it came from (``source``: hyperrsi or grid)."""

    source_key: str
    kind: str
    source: str
    value: LegacyPosition


@dataclass(frozen=True)
class OrderInput:
    source_key: str
    value: LegacyOrder
    item: dict[str, Any]


@dataclass
class _Write:
    """The rows and projection changes of one batch, written together."""

    rows: RowWriter = field(default_factory=RowWriter)
    changed_records: dict[int, dict[str, Any]] = field(default_factory=dict)  # ledger row id -> new values
    changes: list[plan.Change] = field(default_factory=list)

    def commit(self) -> None:
        """Write the collected rows (inside the caller's transaction)."""
        self.rows.write()
        for record_id, values in self.changed_records.items():
            LegacyRecord.objects.filter(pk=record_id).update(**values)


class Ledger(NamedTuple):
    """What deciding needs of a record's ``LegacyRecord`` row and its entity (their state, not their data)."""

    id: int
    fingerprint: str
    entity_version: int
    position_id: uuid.UUID | None
    order_id: uuid.UUID | None
    position_status: str | None
    position_version: int | None


def _slot(value: LegacyPosition) -> tuple[str, str, str, str, int | None]:
    return (value.user_id, value.exchange, value.symbol, value.side, value.grid_level)


# -- positions -----------------------------------------------------------------------------------------


def store_positions(items: Sequence[PositionInput], *, dry_run: bool) -> list[Outcome]:
    """Decide and (unless ``dry_run``) write a batch of position records; one outcome each."""
    records = _records([item.source_key for item in items])
    outcomes, chosen = _decide_positions(items, records)
    if dry_run or not chosen:
        return outcomes
    try:
        _write_in_one_go(lambda write: _write_positions(chosen, records, write))
    except IntegrityError:  # a position opened meanwhile through the service: one at a time
        outcomes = [_one_position(item, outcome, records) for item, outcome in zip(items, outcomes, strict=True)]
    return outcomes


def _records(source_keys: list[str]) -> dict[str, Ledger]:
    """The ledger rows of these keys (plain values: no model instance is built to compare a fingerprint)."""
    rows = LegacyRecord.objects.filter(source_key__in=source_keys).values_list("source_key", *_LEDGER_COLUMNS)
    return {row[0]: Ledger._make(row[1:]) for row in rows}


_LEDGER_COLUMNS = (
    "pk", "fingerprint", "entity_version", "position_id", "order_id", "position__status", "position__version"
)  # fmt: skip


# (user, exchange, symbol, side, grid level) -> (id, the legacy key it was imported from, if any)
Occupants = dict[tuple[Any, ...], tuple[Any, str]]


def _open_positions(items: Iterable[PositionInput]) -> Occupants:
    """The open positions in these records' slots (the legacy key read in SQL, not the metadata)."""
    slots = list({_slot(item.value) for item in items})
    if not slots:
        return {}
    if connection.vendor != "postgresql":
        rows = (
            Position.objects.filter(status=PositionStatus.OPEN, user_id__in={slot[0] for slot in slots})
            .annotate(legacy_key=KT("metadata__legacy__key"))
            .values_list("user_id", "exchange", "symbol", "side", "grid_level", "pk", "legacy_key")
        )
    else:  # one probe of the one-open-position-per-slot index per slot
        with connection.cursor() as cursor:
            cursor.execute(_OCCUPANTS_SQL, [list(column) for column in zip(*slots, strict=True)])
            rows = cursor.fetchall()
    return {tuple(row[:5]): (row[5], row[6] or "") for row in rows}


_OCCUPANTS_SQL = f"""
    SELECT p.*
    FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[], %s::int[])
        AS slot (user_id, exchange, symbol, side, grid_level)
    CROSS JOIN LATERAL (
        SELECT user_id, exchange, symbol, side, grid_level, id, metadata -> 'legacy' ->> 'key'
        FROM {Position._meta.db_table}
        WHERE user_id = slot.user_id AND exchange = slot.exchange AND symbol = slot.symbol AND side = slot.side
            AND COALESCE(grid_level, -1) = COALESCE(slot.grid_level, -1) AND status = '{PositionStatus.OPEN.value}'
        LIMIT 1
    ) p
"""  # LIMIT 1 (a slot holds one open position at most) keeps the subquery a probe of positions_one_open_per_key per
#   slot: flattened into a join, the planner hashes the whole table instead, which grows with every batch.


def _decide_positions(
    items: Sequence[PositionInput], records: dict[str, Ledger]
) -> tuple[list[Outcome], list[tuple[PositionInput, str]]]:
    """Each record's outcome, in order; the open positions are read only when the ledger leaves a
    record undecided (never on a re-run that finds everything unchanged)."""
    by_ledger = [_against_record(item, records.get(item.source_key)) for item in items]
    undecided = [item for item, found in zip(items, by_ledger, strict=True) if found is None]
    occupants = _open_positions(undecided)
    outcomes: list[Outcome] = []
    chosen: list[tuple[PositionInput, str]] = []
    taken: dict[tuple[Any, ...], str] = {}
    for item, found in zip(items, by_ledger, strict=True):
        outcome = found or _decide_by_slot(item, occupants, taken)
        outcomes.append(outcome)
        if outcome.result in (IMPORTED, UPDATED):
            chosen.append((item, outcome.result))
            taken[_slot(item.value)] = item.source_key
    return outcomes, chosen


def _decide_by_slot(item: PositionInput, occupants: Occupants, taken: dict[tuple[Any, ...], str]) -> Outcome:
    slot = _slot(item.value)
    if slot in taken:
        return Outcome(item.kind, item.source_key, SKIPPED, "same_slot", f"imported from {taken[slot]} in this run")
    occupant = occupants.get(slot)
    if occupant is None:
        return Outcome(item.kind, item.source_key, IMPORTED)
    occupant_id, other_key = occupant
    if other_key:
        return Outcome(item.kind, item.source_key, SKIPPED, "same_slot", f"position {occupant_id} from {other_key}")
    detail = f"open position {occupant_id} in this slot was not imported from this key"
    return Outcome(item.kind, item.source_key, INVALID, "slot_taken", detail, str(occupant_id))


def _against_record(item: PositionInput, record: Ledger | None) -> Outcome | None:
    """The outcome the ledger decides alone (None: the slot decides)."""
    if record is None:
        return None
    entity = str(record.position_id or "")
    if record.fingerprint == item.value.fingerprint():
        return Outcome(item.kind, item.source_key, UNCHANGED, entity=entity)
    if record.position_status != PositionStatus.OPEN:
        return None  # closed here since (or gone): the record now describes another position
    if record.position_version != record.entity_version:
        detail = "changed through the service since the import; the service's state stands"
        return Outcome(item.kind, item.source_key, SKIPPED, "changed_here", detail, entity)
    return Outcome(item.kind, item.source_key, UPDATED, entity=entity)


def _write_in_one_go(fill: Callable[[_Write], None]) -> None:
    write = _Write()
    with transaction.atomic():
        fill(write)
        write.commit()
    project_unified(write.changes)


def _write_positions(chosen: list[tuple[PositionInput, str]], records: dict[str, Ledger], write: _Write) -> None:
    now = timezone.now()
    for item, result in chosen:
        if result == IMPORTED:
            _add_new_position(item, records.get(item.source_key), write, now)
        else:
            _update_position(item, records[item.source_key], write, now)


def _add_new_position(item: PositionInput, record: Ledger | None, write: _Write, now: datetime) -> None:
    value = position_value(item, uuid.uuid4(), created_at=item.value.opened_at or now, updated_at=now)
    row = value.row_fields() | {"entry_price_precise": quantize_precise(value.entry_price), "version": 1}
    row["unrealized_pnl"] = quantize(value.pnl_info.unrealized_pnl)
    write.rows.add(Position, row)
    _add_change(write, item, value, now, "position.opened")
    if record is None:
        write.rows.add(LegacyRecord, _new_record_row(item.source_key, item.kind, item.value, now, position_id=value.id))
    else:  # the record's earlier position closed here: the record now stands for this one
        _repoint(write, record, item.value, now, position_id=value.id, version=1)


def position_value(
    item: PositionInput, position_id: uuid.UUID, *, created_at: datetime, updated_at: datetime
) -> dto.Position:
    """The imported position as the services' DTO: what its row holds and what is projected."""
    value = item.value
    return dto.Position(
        id=position_id, user_id=value.user_id, exchange=value.exchange, symbol=value.symbol, side=value.side,
        size=value.size, entry_price=value.entry_price, current_price=value.mark_price, leverage=value.leverage,
        stop_loss_price=value.stop_loss_price, liquidation_price=value.liquidation_price,
        take_profit_price=value.take_profit_levels[0] if value.take_profit_levels else None,
        margin_mode=value.margin_mode, contract_size=value.contract_size, grid_level=value.grid_level,
        metadata=legacy_metadata(item), created_at=created_at, updated_at=updated_at,
        pnl_info=dto.pnl_info_for(
            side=value.side, size=value.size, entry_price=value.entry_price, leverage=value.leverage,
            mark=value.mark_price, realized_pnl=value.realized_pnl, unrealized_pnl=value.unrealized_pnl,
        ),
    )  # fmt: skip


def legacy_metadata(item: PositionInput) -> dict[str, Any]:
    """What the position's metadata keeps of its legacy record: where it came from (which marks it
    imported: ``plan.is_imported``), every take-profit level, GRID's running count."""
    value = item.value
    metadata: dict[str, Any] = {"legacy": {"source": item.source, "key": item.source_key}}
    if len(value.take_profit_levels) > 1:
        metadata["tp_prices"] = [plain(level) for level in value.take_profit_levels]
    if value.grid_count is not None:
        metadata["grid_count"] = value.grid_count
    return metadata


def _add_change(write: _Write, item: PositionInput, value: dto.Position, now: datetime, event: str) -> None:
    """The imported event, the outbox row and the projection change of a new or updated position."""
    legacy = item.value
    parameters = {"source_key": item.source_key, "source": item.source, "contracts": plain(legacy.contracts),
                  "contract_size": plain(legacy.contract_size), "size": plain(legacy.size),
                  "entry_price": plain(legacy.entry_price), "leverage": legacy.leverage,
                  "warnings": list(legacy.warnings)}  # fmt: skip
    write.rows.add(PositionEvent, {"position_id": value.id, "type": PositionEvent.Type.IMPORTED, "actor": ACTOR,
                                   "parameters": parameters, "created_at": now})  # fmt: skip
    write.rows.add(OutboxEntry, _outbox_row("position", value.id, value.user_id, now))
    write.changes.append(plan.PositionChange(position=value, version=1, event=event))


def _outbox_row(kind: str, object_id: Any, user_id: str, now: datetime) -> dict[str, Any]:
    return {"kind": kind, "object_id": object_id, "user_id": user_id, "event": IMPORT_EVENT, "payload": {},
            "attempts": 0, "last_error": "", "created_at": now}  # fmt: skip


def _update_position(item: PositionInput, record: Ledger, write: _Write, now: datetime) -> None:
    assert record.position_id is not None  # an update is decided only for a record with its position
    position = Position.objects.select_for_update().get(pk=record.position_id)
    if position.version != record.entity_version:
        return  # changed through the service meanwhile
    value = position_value(item, position.pk, created_at=position.created_at, updated_at=now)
    for name, column_value in value.row_fields().items():
        setattr(position, name, column_value)
    position.metadata = {**(position.metadata or {}), **value.metadata}
    position.entry_price_precise = quantize_precise(value.entry_price)
    position.unrealized_pnl = quantize(value.pnl_info.unrealized_pnl)
    position.version += 1
    position.save()
    _add_change(write, item, dto.Position.from_row(position), now, "position.updated")
    write.changes[-1] = replace_version(write.changes[-1], position.version)
    _repoint(write, record, item.value, now, position_id=position.pk, version=position.version)


def replace_version(change: plan.Change, version: int) -> plan.Change:
    assert isinstance(change, plan.PositionChange)
    return plan.PositionChange(position=change.position, version=version, event=change.event)


def _new_record_row(
    source_key: str, kind: str, value: LegacyPosition | LegacyOrder, now: datetime, **entity: Any
) -> dict[str, Any]:
    return {"source_key": source_key, "kind": kind, "user_id": value.user_id, "exchange": value.exchange,
            "fingerprint": value.fingerprint(), "entity_version": 1, "seen_fingerprint": "", "imported_at": now,
            "updated_at": now, "position_id": None, "order_id": None, **entity}  # fmt: skip


def _repoint(
    write: _Write, record: Ledger, value: LegacyPosition, now: datetime, *, position_id: Any, version: int
) -> None:
    """The record's ledger row now stands for ``position_id`` at ``version`` (written by ``commit``)."""
    write.changed_records[record.id] = {
        "position_id": position_id, "fingerprint": value.fingerprint(), "entity_version": version, "updated_at": now
    }  # fmt: skip


def _one_position(item: PositionInput, outcome: Outcome, records: dict[str, Ledger]) -> Outcome:
    """Write one record in its own transaction (after a batch conflict); a conflict is invalid."""
    if outcome.result not in (IMPORTED, UPDATED):
        return outcome
    try:
        _write_in_one_go(lambda write: _write_positions([(item, outcome.result)], records, write))
    except IntegrityError:
        return Outcome(item.kind, item.source_key, INVALID, "slot_taken", "a position opened in this slot meanwhile")
    return outcome


# -- orders --------------------------------------------------------------------------------------------


def store_orders(items: Sequence[OrderInput], *, dry_run: bool) -> list[Outcome]:
    """Decide and (unless ``dry_run``) write a batch of HYPERRSI list items; one outcome each."""
    records = _records([item.source_key for item in items])
    known = _known_orders(items)
    outcomes: list[Outcome] = []
    chosen: list[OrderInput] = []
    for item in items:
        outcome = _decide_order(item, records.get(item.source_key), known)
        outcomes.append(outcome)
        if outcome.result == IMPORTED:
            chosen.append(item)
            known[(item.value.exchange, item.value.exchange_order_id)] = item.source_key
    if chosen and not dry_run:
        _write_in_one_go(lambda write: _write_orders(chosen, write))
    return outcomes


def _known_orders(items: Sequence[OrderInput]) -> dict[tuple[str, str], str]:
    ids = [item.value.exchange_order_id for item in items]
    rows = Order.objects.filter(exchange_order_id__in=ids).values_list("exchange", "exchange_order_id", "pk")
    return {(exchange, order_id or ""): f"order {pk}" for exchange, order_id, pk in rows}


def _decide_order(item: OrderInput, record: Ledger | None, known: dict[tuple[str, str], str]) -> Outcome:
    kind, key = LegacyRecord.Kind.HYPERRSI_ORDER.value, item.source_key
    if record is not None:
        if record.fingerprint == item.value.fingerprint():
            return Outcome(kind, key, UNCHANGED, entity=str(record.order_id or ""))
        detail = "the fill watcher follows the order on the exchange since the import"
        return Outcome(kind, key, SKIPPED, "changed_in_list", detail, str(record.order_id or ""))
    seen = known.get((item.value.exchange, item.value.exchange_order_id))
    if seen is not None:
        return Outcome(kind, key, SKIPPED, "known_order", f"exchange order id already held by {seen}")
    return Outcome(kind, key, IMPORTED)


def _write_orders(chosen: list[OrderInput], write: _Write) -> None:
    now = timezone.now()
    for item in chosen:
        order = new_order(item)
        event = order_events.order_reconciled(order, ACTOR, action="imported", source_key=item.source_key)
        write.rows.add(Order, _instance_values(order))
        write.rows.add(OrderEvent, _instance_values(event))
        write.rows.add(OutboxEntry, _outbox_row("order", order.pk, order.user_id, now))
        write.changes.append(order_projection.change(order, "order.created"))
        kind = LegacyRecord.Kind.HYPERRSI_ORDER.value
        write.rows.add(LegacyRecord, _new_record_row(item.source_key, kind, item.value, now, order_id=order.pk))


def new_order(item: OrderInput) -> Order:
    """The unsaved row of an imported order (the exchange's id; a client order id of our own)."""
    value, now = item.value, timezone.now()
    created = value.created_at or now
    updated = max(value.updated_at or created, created)
    return Order(
        user_id=value.user_id, exchange=value.exchange, symbol=value.symbol, side=value.side,
        order_type=value.order_type, role=value.role, reduce_only=value.reduce_only, quantity=value.quantity,
        filled_qty=value.filled_qty, avg_fill_price=value.avg_fill_price, status=value.status,
        exchange_order_id=value.exchange_order_id, position_side=value.position_side,
        contract_size=value.contract_size, created_at=created, updated_at=updated,
        filled_at=updated if value.status == "filled" else None,
        metadata={"legacy": {"source": "hyperrsi", "key": item.source_key}, "legacy_item": item.item},
    )  # fmt: skip


def _instance_values(instance: Any) -> dict[str, Any]:
    """The column values of an unsaved model instance (its auto-incremented key left to the database)."""
    fields = [field for field in instance._meta.concrete_fields if not (field.primary_key and field.db_returning)]
    return {field.attname: getattr(instance, field.attname) for field in fields}


# -- credentials ---------------------------------------------------------------------------------------


def credentials_fingerprint(value: LegacyCredentials) -> str:
    """An HMAC of the credentials keyed by the service's secret key: tells a change, reveals nothing."""
    message = "\x00".join((value.user_id, value.exchange, value.api_key, value.api_secret, value.passphrase))
    return hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def store_credentials(source_key: str, layout: str, value: LegacyCredentials, *, dry_run: bool) -> Outcome:
    """Save one layout's credentials as the encrypted account labelled ``legacy-{layout}``."""
    kind = LegacyRecord.Kind.CREDENTIALS.value
    record = LegacyRecord.objects.filter(source_key=source_key).select_related("account").first()
    signature = credentials_fingerprint(value)
    if record is not None and record.fingerprint == signature and record.account is not None:
        return Outcome(kind, source_key, UNCHANGED, entity=str(record.account_id))
    result = UPDATED if record is not None else IMPORTED
    if dry_run:
        return Outcome(kind, source_key, result)
    with transaction.atomic():
        account, _ = save_exchange_account(
            user_id=value.user_id, exchange=value.exchange, api_key=value.api_key, api_secret=value.api_secret,
            passphrase=value.passphrase, label=f"legacy-{layout}",
        )  # fmt: skip
        record = record or LegacyRecord(source_key=source_key, kind=kind, user_id=value.user_id)
        record.exchange, record.account, record.fingerprint = value.exchange, account, signature
        record.updated_at = timezone.now()
        record.save()
    return Outcome(kind, source_key, result, entity=str(account.pk))


# -- projection ----------------------------------------------------------------------------------------


def project_unified(changes: Iterable[plan.Change]) -> None:
    """Project committed import changes to the unified keys only (one MULTI/EXEC), then delete their
    outbox rows. Raises ``RedisError`` (the rows stay for the drain)."""
    changes = list(changes)
    layouts = plan.Layouts(unified=bool(settings.TRADING_UNIFIED_WRITE), hyperrsi=False, grid=False)
    now = timezone.now()
    blocks = [
        plan.position_block(change, layouts=layouts)
        if isinstance(change, plan.PositionChange)
        else plan.order_block(change, layouts=layouts, now=now)
        for change in changes
    ]
    projector.apply_blocks([block for block in blocks if block.ops])
    ids = [change.position.id if isinstance(change, plan.PositionChange) else change.order.id for change in changes]
    OutboxEntry.objects.filter(event=IMPORT_EVENT, object_id__in=ids).delete()
