"""What Redis should hold, computed from PostgreSQL: the shared core of projection, rebuild and verify.

A *plan* lists the desired full state of some keys (``HashState``, ``SetState``, ``ListState``:
empty means the key must not exist), membership changes of the two global sets
(``Membership``) and at most one stream event. ``position_plan`` / ``order_plan`` cover the keys
one change can affect; ``user_plan`` covers every key of one user (rebuild and verify), so the
incremental path and the rebuild produce the same bytes. Only reads the database; the writer is
``projector.apply_plan`` and the comparer is ``verify``.

Choices (SPEC 6.1, 6.2):

- A slot key (unified position hash, HYPERRSI position hash, GRID level) shows the open position
  that occupies it, whichever row triggered the projection; if several open rows map to one
  legacy slot (HYPERRSI keys have no exchange, GRID keys no side) the oldest one wins.
- Index sets (``positions:index``, ``orders:user``) and the lists are rewritten whole, in a fixed
  order; the global sets (``positions:active``, ``orders:open``) change by membership only.
- Terminal orders leave the live sets at once; their hash expires ``ORDER_RETENTION`` after the
  order's last change (EXPIREAT, so a rebuild sets the same deadline).
- HYPERRSI lists hold non-grid orders of every exchange of the user (``hyperrsi_listed`` says
  which), sized in contracts of the linked position, else of the instrument table, else of one
  base unit; ``closed_orders`` keeps the ``LEGACY_CLOSED_ORDERS_CAP`` most recently ended.
- A GRID level's ``pnl`` is the realized PnL accumulated by every position of that level (GRID's
  running total); ``grid_count`` is +1 / -1 for an open long / short level (the magnitude of an
  imported ``metadata["grid_count"]`` is kept), 0 for an emptied level.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import F, Max, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from tradingcore import dto
from tradingcore.decimals import ZERO
from tradingcore.enums import LIVE_ORDER_STATUSES, TERMINAL_ORDER_STATUSES, OrderStatus, OrderType, PositionStatus
from tradingcore.redis import codec, keys

if TYPE_CHECKING:
    from orders.models import Order as OrderRow
    from positions.models import Position as PositionRow

HISTORY_CAP = 100
LEGACY_CLOSED_ORDERS_CAP = 100
ORDER_RETENTION = timedelta(days=7)
STREAM_MAXLEN = 10_000

_LIVE = [status.value for status in LIVE_ORDER_STATUSES]
_TERMINAL = [status.value for status in TERMINAL_ORDER_STATUSES]

_POSITION_EVENTS = {"opened": "position.opened", "closed": "position.closed", "liquidated": "position.closed"}
_ORDER_EVENTS_BY_STATUS = {
    OrderStatus.PENDING: "order.created",
    OrderStatus.OPEN: "order.created",
    OrderStatus.PARTIALLY_FILLED: "order.partially_filled",
    OrderStatus.FILLED: "order.filled",
    OrderStatus.CANCELLED: "order.canceled",
    OrderStatus.EXPIRED: "order.canceled",
    OrderStatus.REJECTED: "order.failed",
}
_ORDER_EVENTS = {
    "created": "order.created",
    "partially_filled": "order.partially_filled",
    "filled": "order.filled",
    "cancelled": "order.canceled",
    "canceled": "order.canceled",
    "expired": "order.canceled",
    "rejected": "order.failed",
}
SEED_EVENTS = frozenset(
    {"position.opened", "position.updated", "position.closed"} | set(_ORDER_EVENTS_BY_STATUS.values())
)


@dataclass(frozen=True)
class HashState:
    """A hash with exactly these fields (None: the key must not exist), expiring at ``expire_at``."""

    key: str
    fields: dict[str, str] | None
    expire_at: datetime | None = None


@dataclass(frozen=True)
class SetState:
    """A set with exactly these members (empty: the key must not exist)."""

    key: str
    members: frozenset[str]


@dataclass(frozen=True)
class ListState:
    """A list with exactly these items in this order (empty: the key must not exist)."""

    key: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class Membership:
    """``member`` in (``present``) or out of the global set ``key``."""

    key: str
    member: str
    present: bool


@dataclass(frozen=True)
class StreamEvent:
    """One entry for the user's capped event stream."""

    key: str
    fields: dict[str, str]


State = HashState | SetState | ListState


@dataclass
class Plan:
    """Everything one projection writes, applied in one MULTI/EXEC."""

    states: list[State] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    event: StreamEvent | None = None

    def extend(self, other: Plan) -> None:
        """Append the states and memberships of ``other`` (its event is not taken)."""
        self.states.extend(other.states)
        self.memberships.extend(other.memberships)


@dataclass(frozen=True)
class Layouts:
    """Which layouts are written, read from the settings at call time."""

    unified: bool
    hyperrsi: bool
    grid: bool

    @classmethod
    def from_settings(cls) -> Layouts:
        """The three ``TRADING_*_WRITE`` settings as they are now (tests may override them)."""
        return cls(
            unified=bool(settings.TRADING_UNIFIED_WRITE),
            hyperrsi=bool(settings.TRADING_LEGACY_HYPERRSI_WRITE),
            grid=bool(settings.TRADING_LEGACY_GRID_WRITE),
        )


# -- event names --------------------------------------------------------------------------------


def position_event_name(event: str | None, status: str) -> str:
    """The seed's event name for a position change: a seed name passes, a PositionEvent type maps."""
    if event in SEED_EVENTS:
        return str(event)
    if event in _POSITION_EVENTS:
        return _POSITION_EVENTS[str(event)]
    return "position.updated" if status == PositionStatus.OPEN else "position.closed"


def order_event_name(event: str | None, status: str) -> str:
    """The seed's event name for an order change; an unknown or missing event follows the status."""
    if event in SEED_EVENTS:
        return str(event)
    if event in _ORDER_EVENTS:
        return _ORDER_EVENTS[str(event)]
    return _ORDER_EVENTS_BY_STATUS[OrderStatus.parse(status)]


# -- small pieces -------------------------------------------------------------------------------


def _models() -> tuple[type[PositionRow], type[OrderRow]]:
    from orders.models import Order as OrderRow
    from positions.models import Position as PositionRow

    return PositionRow, OrderRow


def _oldest(rows: Iterable[PositionRow]) -> PositionRow | None:
    return min(rows, key=lambda row: (row.created_at, str(row.pk)), default=None)


def _unified_slot(row: PositionRow, open_rows: Sequence[PositionRow]) -> HashState:
    occupant = _oldest(
        r
        for r in open_rows
        if (r.exchange, r.symbol, r.side, r.grid_level) == (row.exchange, row.symbol, row.side, row.grid_level)
    )
    key = keys.position(row.user_id, row.exchange, row.symbol, row.side, row.grid_level)
    return HashState(key, codec.encode_position(dto.Position.from_row(occupant)) if occupant else None)


def _position_index(user_id: str, exchange: str, open_rows: Sequence[PositionRow]) -> SetState:
    members = frozenset(str(r.pk) for r in open_rows if r.exchange == exchange)
    return SetState(keys.position_index(user_id, exchange), members)


def _history(user_id: str, exchange: str, closed_rows: Iterable[PositionRow]) -> ListState:
    items = tuple(codec.position_history_item(dto.Position.from_row(r)) for r in closed_rows)
    return ListState(keys.position_history(user_id, exchange), items)


def _closed_newest_first() -> list[Any]:
    return [F("closed_at").desc(nulls_last=True), F("updated_at").desc(), F("id").desc()]


def _history_rows(user_id: str, exchange: str) -> list[PositionRow]:
    position_model, _ = _models()
    closed = position_model.objects.filter(user_id=user_id, exchange=exchange).exclude(status=PositionStatus.OPEN)
    return list(closed.order_by(*_closed_newest_first())[:HISTORY_CAP])


def _hyperrsi_slot(user_id: str, symbol: str, side: str, open_rows: Sequence[PositionRow]) -> HashState:
    occupant = _oldest(r for r in open_rows if r.grid_level is None and (r.symbol, r.side) == (symbol, side))
    fields = codec.encode_hyperrsi_position(dto.Position.from_row(occupant)) if occupant else None
    return HashState(keys.hyperrsi_position(user_id, symbol, side), fields)


def _grid_count(row: PositionRow) -> int:
    direction = 1 if row.side == "long" else -1
    try:
        magnitude = abs(int(row.metadata.get("grid_count") or 1))
    except (TypeError, ValueError, AttributeError):
        magnitude = 1
    return direction * max(magnitude, 1)


def _grid_slot(
    exchange: str,
    user_id: str,
    symbol: str,
    level: int,
    open_rows: Sequence[PositionRow],
    level_pnl: Decimal,
    last_closed_at: datetime | None,
) -> HashState:
    key = keys.grid_level(exchange, user_id, symbol, level)
    occupant = _oldest(r for r in open_rows if (r.exchange, r.symbol, r.grid_level) == (exchange, symbol, level))
    if occupant is None:
        return HashState(key, codec.encode_grid_reset(pnl=level_pnl, execution_time=last_closed_at))
    fields = codec.encode_grid_level(
        entry_price=occupant.entry_price,
        position_size=codec.contracts(occupant.size, occupant.contract_size),
        grid_count=_grid_count(occupant),
        pnl=level_pnl,
        execution_time=occupant.created_at,
    )
    return HashState(key, fields)


def _grid_aggregate(user_id: str, exchange: str, symbol: str, level: int) -> tuple[Decimal, datetime | None]:
    position_model, _ = _models()
    totals = position_model.objects.filter(
        user_id=user_id, exchange=exchange, symbol=symbol, grid_level=level
    ).aggregate(pnl=Sum("realized_pnl"), last_closed=Max("closed_at"))
    return totals["pnl"] or ZERO, totals["last_closed"]


def _order_last_change(row: OrderRow) -> datetime:
    return max(moment for moment in (row.created_at, row.updated_at, row.filled_at) if moment is not None)


def _order_hash(row: OrderRow, now: datetime) -> HashState:
    key = keys.order(row.pk)
    fields = codec.encode_order(dto.Order.from_row(row))
    if row.status in _LIVE:
        return HashState(key, fields)
    expire_at = _order_last_change(row) + ORDER_RETENTION
    return HashState(key, fields if expire_at > now else None, expire_at if expire_at > now else None)


def hyperrsi_listed() -> Q:
    """Which orders HYPERRSI's lists show: non-grid ``limit`` and ``take_profit`` orders, and
    reduce-only ``trigger`` orders marked ``metadata.role = "take_profit"`` (how the service tags
    the protective orders it places). Stops, stop-losses and market orders never; grid orders
    belong to GRID. Every criterion is a fixed attribute of the order, so a position change never
    changes the lists."""
    take_profit_trigger = Q(order_type=OrderType.TRIGGER, reduce_only=True, metadata__role="take_profit")
    plain = Q(order_type__in=[OrderType.LIMIT, OrderType.TAKE_PROFIT])
    return Q(grid_level__isnull=True) & (plain | take_profit_trigger)


def _hyperrsi_order_lists(user_id: str) -> list[State]:
    """Both HYPERRSI order lists of a user, rewritten from the database (values rows, no models)."""
    _, order_model = _models()
    base = (
        order_model.objects.filter(Q(user_id=user_id) & hyperrsi_listed())
        .annotate(position_side=F("position__side"), position_contract_size=F("position__contract_size"))
        .values(*codec.HYPERRSI_ORDER_VALUES, "exchange", "position_side", "position_contract_size")
    )
    live = base.filter(status__in=_LIVE).order_by("-created_at", "-id")
    ended = base.filter(status__in=_TERMINAL).order_by("-updated_at", "-id")[:LEGACY_CLOSED_ORDERS_CAP]
    return [
        ListState(keys.hyperrsi_open_orders(user_id), tuple(_hyperrsi_item(row) for row in live)),
        ListState(keys.hyperrsi_closed_orders(user_id), tuple(_hyperrsi_item(row) for row in ended)),
    ]


def _hyperrsi_item(row: dict[str, Any]) -> str:
    contract_size = row["position_contract_size"] or _listed_contract_size(row["exchange"], row["symbol"])
    return codec.encode_hyperrsi_order(row, contract_size=contract_size, position_side=row["position_side"])


def _listed_contract_size(exchange: str, symbol: str) -> Decimal | None:
    """The instrument table's contract size; None (counted in base units) for an unlisted symbol."""
    from tradingcore.exceptions import TradingError
    from tradingcore.exchange import instruments

    try:
        return instruments.contract_size(exchange, symbol)
    except TradingError:
        return None


def _open_positions(user_id: str) -> list[PositionRow]:
    position_model, _ = _models()
    return list(position_model.objects.filter(user_id=user_id, status=PositionStatus.OPEN))


def _stream_event(kind: str, user_id: str, name: str, fields: dict[str, str], outbox_id: int | None) -> StreamEvent:
    return StreamEvent(
        keys.events(user_id), codec.stream_fields(event=name, kind=kind, fields=fields, outbox_id=outbox_id)
    )


# -- plans --------------------------------------------------------------------------------------


def position_plan(row: PositionRow, *, event: str | None, outbox_id: int | None, layouts: Layouts) -> Plan:
    """Keys one change of position ``row`` can affect, from the current database state."""
    plan = Plan()
    open_rows = _open_positions(row.user_id)
    is_open = row.status == PositionStatus.OPEN
    if layouts.unified:
        plan.states.append(_unified_slot(row, open_rows))
        plan.states.append(_position_index(row.user_id, row.exchange, open_rows))
        plan.memberships.append(Membership(keys.positions_active(), str(row.pk), is_open))
        if not is_open:
            plan.states.append(_history(row.user_id, row.exchange, _history_rows(row.user_id, row.exchange)))
        name = position_event_name(event, row.status)
        fields = codec.encode_position(dto.Position.from_row(row))
        plan.event = _stream_event("position", row.user_id, name, fields, outbox_id)
    if layouts.hyperrsi and row.grid_level is None:
        plan.states.append(_hyperrsi_slot(row.user_id, row.symbol, row.side, open_rows))
    if layouts.grid and row.grid_level is not None:
        pnl, last_closed = _grid_aggregate(row.user_id, row.exchange, row.symbol, row.grid_level)
        plan.states.append(
            _grid_slot(row.exchange, row.user_id, row.symbol, row.grid_level, open_rows, pnl, last_closed)
        )
    return plan


def order_plan(row: OrderRow, *, event: str | None, outbox_id: int | None, layouts: Layouts) -> Plan:
    """Keys one change of order ``row`` can affect, from the current database state."""
    _, order_model = _models()
    plan = Plan()
    is_live = row.status in _LIVE
    if layouts.unified:
        order_hash = _order_hash(row, timezone.now())
        plan.states.append(order_hash)
        live_ids = order_model.objects.filter(user_id=row.user_id, exchange=row.exchange, status__in=_LIVE)
        members = frozenset(str(pk) for pk in live_ids.values_list("id", flat=True))
        plan.states.append(SetState(keys.order_user_index(row.user_id, row.exchange), members))
        plan.memberships.append(Membership(keys.open_orders(row.exchange, row.symbol), str(row.pk), is_live))
        fields = order_hash.fields or codec.encode_order(dto.Order.from_row(row))
        plan.event = _stream_event("order", row.user_id, order_event_name(event, row.status), fields, outbox_id)
    if layouts.hyperrsi and row.grid_level is None:
        plan.states.extend(_hyperrsi_order_lists(row.user_id))
    return plan


def user_plan(user_id: str, *, layouts: Layouts, now: datetime | None = None) -> Plan:
    """Every key of one user (rebuild and verify), global-set memberships of its live entities included."""
    position_model, order_model = _models()
    now = now or timezone.now()
    plan = Plan()
    open_rows = _open_positions(user_id)
    positions = position_model.objects.filter(user_id=user_id)
    if layouts.unified:
        plan.extend(_user_unified_positions(user_id, open_rows))
        plan.extend(_user_unified_orders(user_id, now))
    if layouts.hyperrsi:
        slots = positions.filter(grid_level__isnull=True).order_by().values_list("symbol", "side").distinct()
        plan.states.extend(_hyperrsi_slot(user_id, symbol, side, open_rows) for symbol, side in sorted(set(slots)))
        if order_model.objects.filter(user_id=user_id).exists():
            plan.states.extend(_hyperrsi_order_lists(user_id))
    if layouts.grid:
        levels = (
            positions.filter(grid_level__isnull=False)
            .values("exchange", "symbol", "grid_level")
            .annotate(pnl=Sum("realized_pnl"), last_closed=Max("closed_at"))
            .order_by("exchange", "symbol", "grid_level")
        )
        for level in levels:
            exchange, symbol, number = level["exchange"], level["symbol"], level["grid_level"]
            if number is None:  # excluded by the filter; narrows the type
                continue
            pnl = level["pnl"] or ZERO
            plan.states.append(_grid_slot(exchange, user_id, symbol, number, open_rows, pnl, level["last_closed"]))
    return plan


def _user_unified_positions(user_id: str, open_rows: Sequence[PositionRow]) -> Plan:
    position_model, _ = _models()
    plan = Plan()
    for row in sorted(open_rows, key=lambda r: (r.created_at, str(r.pk))):
        plan.states.append(_unified_slot(row, open_rows))
        plan.memberships.append(Membership(keys.positions_active(), str(row.pk), True))
    exchanges = sorted(
        set(position_model.objects.filter(user_id=user_id).order_by().values_list("exchange", flat=True).distinct())
    )
    for exchange in exchanges:
        plan.states.append(_position_index(user_id, exchange, open_rows))
    ranked = (
        position_model.objects.filter(user_id=user_id)
        .exclude(status=PositionStatus.OPEN)
        .annotate(rank=Window(RowNumber(), partition_by=[F("exchange")], order_by=_closed_newest_first()))
        .filter(rank__lte=HISTORY_CAP)
        .order_by("exchange", *_closed_newest_first())
    )
    for exchange, rows in itertools.groupby(ranked, key=lambda r: r.exchange):
        plan.states.append(_history(user_id, exchange, rows))
    return plan


def _user_unified_orders(user_id: str, now: datetime) -> Plan:
    _, order_model = _models()
    plan = Plan()
    cutoff = now - ORDER_RETENTION
    recent = Q(status__in=_LIVE) | Q(updated_at__gt=cutoff) | Q(filled_at__gt=cutoff) | Q(created_at__gt=cutoff)
    rows = order_model.objects.filter(Q(user_id=user_id) & recent).order_by("created_at", "id")
    live_by_exchange: dict[str, set[str]] = {}
    for row in rows:
        plan.states.append(_order_hash(row, now))
        if row.status in _LIVE:
            live_by_exchange.setdefault(row.exchange, set()).add(str(row.pk))
            plan.memberships.append(Membership(keys.open_orders(row.exchange, row.symbol), str(row.pk), True))
    exchanges = sorted(
        set(order_model.objects.filter(user_id=user_id).order_by().values_list("exchange", flat=True).distinct())
    )
    for exchange in exchanges:
        members = frozenset(live_by_exchange.get(exchange, set()))
        plan.states.append(SetState(keys.order_user_index(user_id, exchange), members))
    return plan


def _distinct_exchanges(rows: QuerySet[Any]) -> list[str]:
    return sorted(set(rows.order_by().values_list("exchange", flat=True).distinct()))


def all_user_ids() -> list[str]:
    """Every user with a position or an order, sorted."""
    position_model, order_model = _models()
    users = set(position_model.objects.order_by().values_list("user_id", flat=True).distinct())
    users |= set(order_model.objects.order_by().values_list("user_id", flat=True).distinct())
    return sorted(users)
