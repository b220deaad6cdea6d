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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import events as order_events
from orders import projection as order_projection
from orders.models import Order, OrderEvent
from positions import events
from positions.legacy.models import LegacyRecord
from positions.legacy.parsing import LegacyCredentials, LegacyOrder, LegacyPosition
from positions.models import Position, PositionEvent
from tradingcore import dto
from tradingcore.accounts import save_exchange_account
from tradingcore.db import insert_rows
from tradingcore.decimals import plain, quantize_precise
from tradingcore.enums import MarginMode, PositionStatus
from tradingcore.models import OutboxEntry
from tradingcore.redis import outbox, plan, projector

ACTOR = "system:import_legacy_redis"
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

    new: list[Any]
    records: list[LegacyRecord]
    changes: list[plan.Change]

    @classmethod
    def empty(cls) -> _Write:
        return cls([], [], [])


def _slot(value: LegacyPosition) -> tuple[str, str, str, str, int | None]:
    return (value.user_id, value.exchange, value.symbol, value.side, value.grid_level)


# -- positions -----------------------------------------------------------------------------------------


def store_positions(items: Sequence[PositionInput], *, dry_run: bool) -> list[Outcome]:
    """Decide and (unless ``dry_run``) write a batch of position records; one outcome each."""
    records = _records([item.source_key for item in items], "position")
    occupants = _open_positions(items)
    outcomes, chosen = _decide_positions(items, records, occupants)
    if dry_run or not chosen:
        return outcomes
    try:
        _write_in_one_go(lambda write: _write_positions(chosen, records, write))
    except IntegrityError:  # a position opened meanwhile through the service: one at a time
        outcomes = [_one_position(item, outcome, records) for item, outcome in zip(items, outcomes, strict=True)]
    return outcomes


def _records(source_keys: list[str], related: str) -> dict[str, LegacyRecord]:
    rows = LegacyRecord.objects.filter(source_key__in=source_keys).select_related(related)
    return {row.source_key: row for row in rows}


def _open_positions(items: Sequence[PositionInput]) -> dict[tuple[Any, ...], Position]:
    users = {item.value.user_id for item in items}
    rows = Position.objects.filter(status=PositionStatus.OPEN, user_id__in=users)
    return {(row.user_id, row.exchange, row.symbol, row.side, row.grid_level): row for row in rows}


def _decide_positions(
    items: Sequence[PositionInput], records: dict[str, LegacyRecord], occupants: dict[tuple[Any, ...], Position]
) -> tuple[list[Outcome], list[tuple[PositionInput, str]]]:
    outcomes: list[Outcome] = []
    chosen: list[tuple[PositionInput, str]] = []
    taken: dict[tuple[Any, ...], str] = {}
    for item in items:
        outcome = _decide_position(item, records.get(item.source_key), occupants, taken)
        outcomes.append(outcome)
        if outcome.result in (IMPORTED, UPDATED):
            chosen.append((item, outcome.result))
            taken[_slot(item.value)] = item.source_key
    return outcomes, chosen


def _decide_position(
    item: PositionInput,
    record: LegacyRecord | None,
    occupants: dict[tuple[Any, ...], Position],
    taken: dict[tuple[Any, ...], str],
) -> Outcome:
    found = _against_record(item, record)
    if found is not None:
        return found
    slot = _slot(item.value)
    if slot in taken:
        return Outcome(item.kind, item.source_key, SKIPPED, "same_slot", f"imported from {taken[slot]} in this run")
    occupant = occupants.get(slot)
    if occupant is None:
        return Outcome(item.kind, item.source_key, IMPORTED)
    other = (occupant.metadata or {}).get("legacy", {}).get("key")
    if other:
        return Outcome(item.kind, item.source_key, SKIPPED, "same_slot", f"position {occupant.pk} from {other}")
    detail = f"open position {occupant.pk} in this slot was not imported from this key"
    return Outcome(item.kind, item.source_key, INVALID, "slot_taken", detail, str(occupant.pk))


def _against_record(item: PositionInput, record: LegacyRecord | None) -> Outcome | None:
    """The outcome the ledger decides alone (None: the slot decides)."""
    if record is None:
        return None
    position = record.position
    entity = str(record.position_id or "")
    if record.fingerprint == item.value.fingerprint():
        return Outcome(item.kind, item.source_key, UNCHANGED, entity=entity)
    if position is None or position.status != PositionStatus.OPEN:
        return None  # closed here since: the record now describes another position
    if position.version != record.entity_version:
        detail = "changed through the service since the import; the service's state stands"
        return Outcome(item.kind, item.source_key, SKIPPED, "changed_here", detail, entity)
    return Outcome(item.kind, item.source_key, UPDATED, entity=entity)


def _write_in_one_go(fill: Callable[[_Write], None]) -> None:
    write = _Write.empty()
    with transaction.atomic():
        fill(write)
    project_unified(write.changes, [row for row in write.new if isinstance(row, OutboxEntry)])


def _write_positions(chosen: list[tuple[PositionInput, str]], records: dict[str, LegacyRecord], write: _Write) -> None:
    for item, result in chosen:
        if result == IMPORTED:
            _add_new_position(item, records.get(item.source_key), write)
        else:
            _update_position(item, records[item.source_key], write)
    rows = [row for kind in (Position, PositionEvent, OutboxEntry) for row in write.new if type(row) is kind]
    insert_rows(rows)
    _save_records(write.records)


def _add_new_position(item: PositionInput, record: LegacyRecord | None, write: _Write) -> None:
    position = new_position(item)
    change = _position_change(position)
    write.new += [position, _imported_event(position, item), *outbox.entries([change])]
    write.changes.append(change)
    write.records.append(_record_for(item.source_key, item.kind, item.value, record, position=position))


def new_position(item: PositionInput) -> Position:
    """The unsaved row of an imported position (validated by the parser's rules and the database's)."""
    value, now = item.value, timezone.now()
    position = Position(
        user_id=value.user_id, exchange=value.exchange, symbol=value.symbol, side=value.side, size=value.size,
        entry_price=value.entry_price, entry_price_precise=quantize_precise(value.entry_price),
        leverage=value.leverage, margin_mode=MarginMode(value.margin_mode), grid_level=value.grid_level,
        created_at=value.opened_at or now, updated_at=now,
    )  # fmt: skip
    _apply_legacy_values(position, item)
    return position


def _apply_legacy_values(position: Position, item: PositionInput) -> None:
    """What a legacy record may set on a position, first import or update."""
    value = item.value
    position.size, position.entry_price = value.size, value.entry_price
    position.entry_price_precise = quantize_precise(value.entry_price)
    position.leverage, position.contract_size = value.leverage, value.contract_size
    position.current_price, position.liquidation_price = value.mark_price, value.liquidation_price
    position.unrealized_pnl, position.realized_pnl = value.unrealized_pnl, value.realized_pnl
    position.stop_loss_price = value.stop_loss_price
    position.take_profit_price = value.take_profit_levels[0] if value.take_profit_levels else None
    position.metadata = {**(position.metadata or {}), **_legacy_metadata(item)}


def _legacy_metadata(item: PositionInput) -> dict[str, Any]:
    value = item.value
    metadata: dict[str, Any] = {"legacy": {"source": item.source, "key": item.source_key}}
    if len(value.take_profit_levels) > 1:
        metadata["tp_prices"] = [plain(level) for level in value.take_profit_levels]
    if value.grid_count is not None:
        metadata["grid_count"] = value.grid_count
    return metadata


def _imported_event(position: Position, item: PositionInput) -> PositionEvent:
    value = item.value
    return events.position_imported(
        position, ACTOR, source_key=item.source_key, source=item.source, contracts=value.contracts,
        contract_size=value.contract_size, size=value.size, entry_price=value.entry_price, leverage=value.leverage,
        warnings=list(value.warnings),
    )  # fmt: skip


def _position_change(position: Position) -> plan.PositionChange:
    # The unified layout needs nothing but the row (no successor, no GRID totals: the import
    # never writes the legacy layouts).
    return plan.PositionChange(position=dto.Position.from_row(position), version=position.version, event="imported")


def _update_position(item: PositionInput, record: LegacyRecord, write: _Write) -> None:
    assert record.position_id is not None  # an update is decided only for a record with its position
    position = Position.objects.select_for_update().get(pk=record.position_id)
    if position.version != record.entity_version:
        return  # changed through the service meanwhile
    _apply_legacy_values(position, item)
    position.version += 1
    position.updated_at = timezone.now()
    position.save()
    change = _position_change(position)
    write.new += [_imported_event(position, item), *outbox.entries([change])]
    write.changes.append(change)
    write.records.append(_record_for(item.source_key, item.kind, item.value, record, position=position))


def _record_for(
    source_key: str,
    kind: str,
    value: LegacyPosition | LegacyOrder,
    record: LegacyRecord | None,
    *,
    position: Position | None = None,
    order: Order | None = None,
) -> LegacyRecord:
    record = record or LegacyRecord(source_key=source_key, kind=kind, user_id=value.user_id, exchange=value.exchange)
    record.position, record.order = position, order
    record.fingerprint = value.fingerprint()
    record.entity_version = position.version if position is not None else (order.version if order else 1)
    record.updated_at = timezone.now()
    return record


def _save_records(records: list[LegacyRecord]) -> None:
    existing = [record for record in records if record.pk is not None]
    insert_rows([record for record in records if record.pk is None])
    for record in existing:
        record.save()


def _one_position(item: PositionInput, outcome: Outcome, records: dict[str, LegacyRecord]) -> Outcome:
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
    records = _records([item.source_key for item in items], "order")
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
        _write_in_one_go(lambda write: _write_orders(chosen, records, write))
    return outcomes


def _known_orders(items: Sequence[OrderInput]) -> dict[tuple[str, str], str]:
    ids = [item.value.exchange_order_id for item in items]
    rows = Order.objects.filter(exchange_order_id__in=ids).values_list("exchange", "exchange_order_id", "pk")
    return {(exchange, order_id or ""): f"order {pk}" for exchange, order_id, pk in rows}


def _decide_order(item: OrderInput, record: LegacyRecord | None, known: dict[tuple[str, str], str]) -> Outcome:
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


def _write_orders(chosen: list[OrderInput], records: dict[str, LegacyRecord], write: _Write) -> None:
    for item in chosen:
        order = new_order(item)
        change = order_projection.change(order, "imported")
        event = order_events.order_reconciled(order, ACTOR, action="imported", source_key=item.source_key)
        write.new += [order, event, *outbox.entries([change])]
        write.changes.append(change)
        kind = LegacyRecord.Kind.HYPERRSI_ORDER.value
        write.records.append(_record_for(item.source_key, kind, item.value, records.get(item.source_key), order=order))
    rows = [row for kind in (Order, OrderEvent, OutboxEntry) for row in write.new if type(row) is kind]
    insert_rows(rows)
    _save_records(write.records)


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


def project_unified(changes: Iterable[plan.Change], entries: Sequence[OutboxEntry]) -> None:
    """Project committed import changes to the unified keys only (one MULTI/EXEC), then delete their
    outbox rows. Raises ``RedisError`` (the rows stay for the drain)."""
    layouts = plan.Layouts(unified=bool(settings.TRADING_UNIFIED_WRITE), hyperrsi=False, grid=False)
    now = timezone.now()
    blocks = [
        plan.position_block(change, layouts=layouts)
        if isinstance(change, plan.PositionChange)
        else plan.order_block(change, layouts=layouts, now=now)
        for change in changes
    ]
    projector.apply_blocks([block for block in blocks if block.ops])
    outbox.delete_entries([entry.pk for entry in entries])
