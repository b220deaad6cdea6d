"""What one change writes to Redis, and what Redis should hold for a user: built from DTOs only.

The apps turn their rows into ``PositionChange`` / ``OrderChange`` (``positions.projection``,
``orders.projection``); nothing here reads the database. Two products:

- ``Block``: the operations of one change of one entity, applied incrementally by
  ``projector.publish`` (``apply.lua``), guarded by the entity's version so an older change never
  overwrites a newer one. Its cost does not depend on how many positions or orders the user has:
  index sets change by membership, list items by their own id.
- ``State``: the full desired content of a key (``user_states``), compared by ``verify`` and
  written by ``rebuild``.

Ownership rules (SPEC 6.1, 6.2, and the coexistence with the running legacy bots):

- A slot hash (unified position, HYPERRSI position, GRID level) is claimed by the first open
  position that maps to it and released when that position closes; the app names the successor
  (the oldest other open position of the slot) with the closing change. The owner is the ``id``
  field of a unified hash and a field of our own in the legacy hashes (``OWNER_FIELD``).
- In a HYPERRSI position hash only our own fields are written, and only the fields we wrote
  ourselves are removed (their names are kept in ``NAMES_FIELD``); the bots' fields (take-profit
  and stop-loss order ids, ``dca_count``, ...) stay. The hash is deleted only when the position
  closes.
- In the HYPERRSI order lists only our own items are written, found by their ``clientOrderId``;
  the bots' items are left alone. Our items carry ``OWN_ITEM_MARKER``.
- A GRID symbol gets all 21 levels when it first appears (GRID's reader returns nothing without
  level 0), every level we write gets GRID's 7-day expiry again, and a running ``grid_count`` of
  the right sign is never overwritten.
- Positions and orders imported from the legacy keys (``is_imported``) leave the bots' records as
  they are until a change through the services claims them; the rebuild never claims them.
- Terminal orders leave the live sets at once; their hash expires ``ORDER_RETENTION`` after the
  order's last change.
- HYPERRSI lists show what ``hyperrsi_listed`` says: what the legacy order monitor can follow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from tradingcore import dto
from tradingcore.decimals import ZERO
from tradingcore.enums import OrderStatus, OrderType, PositionStatus
from tradingcore.redis import codec, keys

HISTORY_CAP = 100
LEGACY_CLOSED_ORDERS_CAP = 100
ORDER_RETENTION = timedelta(days=7)
STREAM_MAXLEN = 10_000
VERSION_TTL_SECONDS = 30 * 24 * 3600

OWNER_FIELD = "tradingcore_position_id"
NAMES_FIELD = "tradingcore_fields"
OWN_ITEM_MARKER = codec.HYPERRSI_OWN_ITEM_MARKER
GRID_TTL = codec.GRID_LEVEL_TTL_SECONDS

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


# -- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionChange:
    """One committed change of a position, as the positions app hands it over.

    ``hyperrsi_successor`` / ``grid_successor``: the open position that takes over the legacy slot
    when this one closes (None when there is none). ``grid_pnl``: realized PnL of every position of
    this grid level (GRID keeps a running total); ``grid_last_closed``: when the level last emptied.
    """

    position: dto.Position
    version: int
    event: str | None = None
    hyperrsi_successor: dto.Position | None = None
    grid_successor: dto.Position | None = None
    grid_pnl: Decimal = ZERO
    grid_last_closed: datetime | None = None


@dataclass(frozen=True)
class OrderChange:
    """One committed change of an order, as the orders app hands it over."""

    order: dto.Order
    version: int
    event: str | None = None


Change = PositionChange | OrderChange


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


@dataclass
class Block:
    """The operations of one change of one entity (see ``apply.lua`` for the vocabulary)."""

    vkey: str
    version: int
    ops: list[list[Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"vkey": self.vkey, "version": self.version, "ops": self.ops}


# -- event names ---------------------------------------------------------------------------------


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


# -- small pieces --------------------------------------------------------------------------------


def _flat(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


def _grid_owner(position_id: Any) -> str:
    # GRID's reader json-decodes every field of a level, so our owner mark is a JSON string.
    return json.dumps(str(position_id))


def _slot_key(position: dto.Position) -> str:
    return keys.position(position.user_id, position.exchange, position.symbol, position.side, position.grid_level)


def _history_match(position: dto.Position) -> str:
    return f'"id":"{position.id}"'


def _order_match(order: dto.Order) -> str:
    return codec.hyperrsi_item_match(order.client_order_id)


def _stream_op(kind: str, user_id: str, name: str, fields: dict[str, str], outbox_id: int | None) -> list[Any]:
    entry = codec.stream_fields(event=name, kind=kind, fields=fields, outbox_id=outbox_id)
    return ["xadd", keys.events(user_id), STREAM_MAXLEN, _flat(entry)]


def is_open(position: dto.Position) -> bool:
    return position.status == PositionStatus.OPEN


def is_imported(entity: dto.Position | dto.Order) -> bool:
    """Whether the entity came from the legacy keys (``import_legacy_redis`` marks its metadata)."""
    return isinstance(entity.metadata, dict) and "legacy" in entity.metadata


def hyperrsi_listed(order: dto.Order) -> bool:
    """Whether HYPERRSI's order lists show the order (fixed attributes: never changes with state).

    Every non-grid order a bot sent, market and stop-loss included, except what HYPERRSI's order
    monitor (OrderManager.monitor_orders) would misread: it looks up every item but a ``stop_loss``
    one as a plain order, so a triggered (algo) order of any other kind (our take-profits are algo
    orders) would be "not found" and moved to ``closed_orders`` while live. Those are not listed;
    the position hash's ``tp_prices`` still shows every take-profit level. Orders imported from the
    lists are not listed again (the bot's own item stays).
    """
    if order.grid_level is not None or is_imported(order):
        return False
    if not OrderType(order.order_type).is_triggered:
        return True
    return codec.hyperrsi_order_type(order) == "stop_loss"


def hyperrsi_shown(order: dto.Order) -> bool:
    """A listed order is shown in ``open_orders`` once the exchange knows it (its id is what the
    monitor looks up); ended, it is shown in ``closed_orders`` whatever it reached."""
    return OrderStatus(order.status).is_terminal or bool(order.exchange_order_id)


def last_change(created_at: datetime, updated_at: datetime | None, filled_at: datetime | None) -> datetime:
    """An order's last change: its retention in Redis counts from there."""
    return max(moment for moment in (created_at, updated_at, filled_at) if moment is not None)


def order_expiry(order: dto.Order) -> datetime | None:
    """When a terminal order's hash leaves Redis; None for a live order."""
    if OrderStatus(order.status).is_live:
        return None
    return last_change(order.created_at, order.updated_at, order.filled_at) + ORDER_RETENTION


# -- blocks of one change ------------------------------------------------------------------------


def position_block(change: PositionChange, *, layouts: Layouts, outbox_id: int | None = None) -> Block:
    """Every operation one change of a position needs, in every enabled layout."""
    position = change.position
    block = Block(keys.projection_version("position", position.id), change.version)
    if layouts.unified:
        fields = codec.encode_position(position)  # once: the hash and the stream entry carry the same fields
        block.ops += _unified_position_ops(position, fields)
        name = position_event_name(change.event, position.status)
        block.ops.append(_stream_op("position", position.user_id, name, fields, outbox_id))
    if layouts.hyperrsi and position.grid_level is None:
        block.ops += _hyperrsi_position_ops(position, change.hyperrsi_successor)
    if layouts.grid and position.grid_level is not None:
        block.ops += _grid_level_ops(change)
    return block


def _unified_position_ops(position: dto.Position, fields: dict[str, str]) -> list[list[Any]]:
    pid, user_id, exchange = str(position.id), position.user_id, position.exchange
    slot = _slot_key(position)
    index, slots = keys.position_index(user_id, exchange), keys.position_slots(user_id, exchange)
    version = ["incr", keys.positions_version(user_id, exchange)]
    if is_open(position):
        return [
            ["hclaim", slot, "id", pid, _flat(fields), []],
            ["sadd", index, pid],
            ["sadd", keys.positions_active(), pid],
            ["hsetfield", slots, pid, slot],
            version,
        ]
    history = keys.position_history(user_id, exchange)
    item = codec.position_history_item(position)
    return [
        ["hrelease", slot, "id", pid],
        ["srem", index, pid],
        ["srem", keys.positions_active(), pid],
        ["hdelfield", slots, pid],
        ["lupsert", history, _history_match(position), item, HISTORY_CAP, ""],
        version,
    ]


def _hyperrsi_claim(position: dto.Position, mode: str = "") -> list[Any]:
    key = keys.hyperrsi_position(position.user_id, position.symbol, position.side)
    fields = codec.encode_hyperrsi_position(position)
    return ["hown", key, OWNER_FIELD, str(position.id), NAMES_FIELD, _names(fields), _flat(fields), mode]


def _names(fields: Mapping[str, str]) -> str:
    return ",".join(sorted(fields))


def _hyperrsi_position_ops(position: dto.Position, successor: dto.Position | None) -> list[list[Any]]:
    if is_open(position):
        return [_hyperrsi_claim(position)]
    key = keys.hyperrsi_position(position.user_id, position.symbol, position.side)
    ops: list[list[Any]] = [["hrelease", key, OWNER_FIELD, str(position.id)]]
    if successor is not None:
        ops.append(_hyperrsi_claim(successor))
    return ops


def grid_level_fields(position: dto.Position, level_pnl: Decimal) -> dict[str, str]:
    """The GRID level hash of an open grid position (sizes in contracts, direction in the count)."""
    return codec.encode_grid_level(
        entry_price=position.entry_price,
        position_size=codec.contracts(position.size, position.contract_size),
        grid_count=grid_count(position),
        pnl=level_pnl,
        execution_time=position.created_at,
    )


def grid_count(position: dto.Position) -> int:
    """+1 / -1 for an open long / short level; the magnitude of an imported ``grid_count`` is kept."""
    direction = 1 if position.side == "long" else -1
    try:
        magnitude = abs(int(position.metadata.get("grid_count") or 1))
    except (TypeError, ValueError, AttributeError):
        magnitude = 1
    return direction * max(magnitude, 1)


def _grid_key(position: dto.Position) -> str:
    assert position.grid_level is not None
    return keys.grid_level(position.exchange, position.user_id, position.symbol, position.grid_level)


def _grid_init(position: dto.Position) -> list[Any]:
    """All 21 levels of the symbol, created empty when its level 0 is missing (first appearance)."""
    level_keys = keys.grid_levels(position.exchange, position.user_id, position.symbol)
    return ["hinit", level_keys, _flat(codec.encode_grid_empty()), GRID_TTL]


def _grid_claim(position: dto.Position, level_pnl: Decimal, mode: str = "") -> list[list[Any]]:
    key, owner = _grid_key(position), _grid_owner(position.id)
    fields = grid_level_fields(position, level_pnl)
    count = fields.pop("grid_count")
    return [
        ["hclaim", key, OWNER_FIELD, owner, _flat(fields), [], mode],
        ["hcount", key, OWNER_FIELD, owner, "grid_count", count],
        ["expire", key, GRID_TTL],
    ]


def _grid_level_ops(change: PositionChange) -> list[list[Any]]:
    position = change.position
    ops: list[list[Any]] = [_grid_init(position)]
    if is_open(position):
        return ops + _grid_claim(position, change.grid_pnl)
    reset = codec.encode_grid_reset(pnl=change.grid_pnl, execution_time=change.grid_last_closed)
    ops.append(["hreset", _grid_key(position), OWNER_FIELD, _grid_owner(position.id), _flat(reset)])
    ops.append(["expire", _grid_key(position), GRID_TTL])
    if change.grid_successor is not None:
        ops += _grid_claim(change.grid_successor, change.grid_pnl)
    return ops


def order_block(change: OrderChange, *, layouts: Layouts, now: datetime, outbox_id: int | None = None) -> Block:
    """Every operation one change of an order needs, in every enabled layout."""
    order = change.order
    block = Block(keys.projection_version("order", order.id), change.version)
    if layouts.unified:
        fields = codec.encode_order(order)
        block.ops += _unified_order_ops(order, fields, now)
        name = order_event_name(change.event, order.status)
        block.ops.append(_stream_op("order", order.user_id, name, fields, outbox_id))
    if layouts.hyperrsi and hyperrsi_listed(order) and hyperrsi_shown(order):
        block.ops += _hyperrsi_order_ops(order)
    return block


def _unified_order_ops(order: dto.Order, fields: dict[str, str], now: datetime) -> list[list[Any]]:
    oid, key = str(order.id), keys.order(order.id)
    user_set, market_set = (
        keys.order_user_index(order.user_id, order.exchange),
        keys.open_orders(order.exchange, order.symbol),
    )
    expire_at = order_expiry(order)
    if expire_at is None:
        return [["hreplace", key, _flat(fields)], ["persist", key], ["sadd", user_set, oid], ["sadd", market_set, oid]]
    hash_ops: list[list[Any]] = [["del", key]]
    if expire_at > now:
        hash_ops = [["hreplace", key, _flat(fields)], ["pexpireat", key, int(expire_at.timestamp() * 1000)]]
    return [*hash_ops, ["srem", user_set, oid], ["srem", market_set, oid]]


def _hyperrsi_order_ops(order: dto.Order) -> list[list[Any]]:
    item, match = codec.encode_hyperrsi_order(order), _order_match(order)
    open_list, closed_list = keys.hyperrsi_open_orders(order.user_id), keys.hyperrsi_closed_orders(order.user_id)
    if OrderStatus(order.status).is_live:
        return [["lremove", closed_list, match], ["lupsert", open_list, match, item, 0, ""]]
    return [
        ["lremove", open_list, match],
        ["lupsert", closed_list, match, item, LEGACY_CLOSED_ORDERS_CAP, OWN_ITEM_MARKER],
    ]


# -- the full state of a user (rebuild and verify) -----------------------------------------------


@dataclass(frozen=True)
class HashState:
    """A hash holding ``fields`` (None: absent).

    With ``owner_field`` the hash is shared with a legacy bot: only these fields are ours (and
    ``owner`` is the value of ``owner_field``), the others are left alone. ``names_field`` keeps
    the names of the fields we wrote (HYPERRSI); ``counts`` are running counts the bot keeps too,
    right when of the same sign (GRID's ``grid_count``); ``foreign_field``: a hash holding it is
    another program's (the newest GRID code's, under one of our unified keys) and is left alone;
    ``adoptable``: the bot's own record of
    an imported entity, written only once we own it; ``ttl`` seconds of expiry refreshed on each
    write, ``siblings`` created empty with it when the first of them is missing (GRID's levels).
    """

    key: str
    fields: dict[str, str] | None
    owner_field: str = ""
    owner: str = ""
    expire_at: datetime | None = None
    foreign_field: str = ""
    names_field: str = ""
    counts: frozenset[str] = frozenset()
    adoptable: bool = False
    ttl: int = 0
    siblings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetState:
    """A set with exactly these members among our ids (empty: none of ours); members that are not
    ids of ours (the newest GRID code's ``{symbol}:{side}``) are left alone."""

    key: str
    members: frozenset[str]


@dataclass(frozen=True)
class ListState:
    """A list holding these items. With ``own`` set, only items containing ``own`` are ours and
    compared (in any order); without it the list is ours alone and compared in order."""

    key: str
    items: tuple[str, ...]
    own: str = ""


@dataclass(frozen=True)
class Membership:
    """``member`` in (``present``) or out of the global set ``key``."""

    key: str
    member: str
    present: bool


State = HashState | SetState | ListState


@dataclass(frozen=True)
class GridLevel:
    """One grid level the user has ever traded: its occupant (oldest open position) and totals."""

    exchange: str
    symbol: str
    level: int
    occupant: dto.Position | None
    pnl: Decimal
    last_closed: datetime | None


@dataclass(frozen=True)
class PositionFacts:
    """What the positions app holds for one user that Redis projects."""

    open_positions: Sequence[dto.Position] = ()
    history: Mapping[str, Sequence[dto.Position]] = field(default_factory=dict)  # exchange -> newest first, capped
    exchanges: frozenset[str] = frozenset()  # every exchange the user has positions on
    hyperrsi_slots: frozenset[tuple[str, str]] = frozenset()  # every (symbol, side) of a non-grid position
    grid_levels: Sequence[GridLevel] = ()
    versions: dict[str, int] = field(default_factory=dict)  # version key -> version of each open position


@dataclass(frozen=True)
class OrderFacts:
    """What the orders app holds for one user that Redis projects."""

    orders: Sequence[dto.Order] = ()  # live orders, and ended ones within ORDER_RETENTION
    hyperrsi_ended: Sequence[dto.Order] = ()  # listed ended orders, newest first, capped
    exchanges: frozenset[str] = frozenset()  # every exchange the user has orders on
    versions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class UserSnapshot:
    """Everything one user's keys should reflect (from ``sources``)."""

    user_id: str
    positions: PositionFacts
    orders: OrderFacts

    @property
    def exchanges(self) -> list[str]:
        return sorted(self.positions.exchanges | self.orders.exchanges)

    @property
    def versions(self) -> dict[str, int]:
        return {**self.positions.versions, **self.orders.versions}


@dataclass
class UserStates:
    """The desired content of every key of one user, plus global-set memberships and the position
    counters (``keys.positions_version``) that writing them must raise."""

    states: list[State] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    counters: list[str] = field(default_factory=list)


def oldest(positions: Iterable[dto.Position]) -> dto.Position | None:
    """The slot occupant among several open positions: the oldest (then the smallest id)."""
    return min(positions, key=lambda p: (p.created_at, str(p.id)), default=None)


def user_states(snapshot: UserSnapshot, *, layouts: Layouts, now: datetime) -> UserStates:
    """What Redis should hold for ``snapshot``'s user in every enabled layout."""
    result = UserStates()
    if layouts.unified:
        _unified_position_states(snapshot, result)
        _unified_order_states(snapshot, result, now)
    if layouts.hyperrsi:
        result.states += _hyperrsi_states(snapshot)
    if layouts.grid:
        result.states += [_grid_state(snapshot.user_id, level) for level in snapshot.positions.grid_levels]
    return result


def _unified_position_states(snapshot: UserSnapshot, result: UserStates) -> None:
    facts = snapshot.positions
    for position in sorted(facts.open_positions, key=lambda p: (p.created_at, str(p.id))):
        fields = codec.encode_position(position)
        result.states.append(HashState(_slot_key(position), fields, foreign_field=keys.GRID_EXCHANGE_FIELD))
        result.memberships.append(Membership(keys.positions_active(), str(position.id), True))
    for exchange in snapshot.exchanges:
        result.counters.append(keys.positions_version(snapshot.user_id, exchange))
        mine = [p for p in facts.open_positions if p.exchange == exchange]
        index = keys.position_index(snapshot.user_id, exchange)
        result.states.append(SetState(index, frozenset(str(p.id) for p in mine)))
        slots = {str(p.id): _slot_key(p) for p in mine}
        result.states.append(HashState(keys.position_slots(snapshot.user_id, exchange), slots or None))
        items = tuple(codec.position_history_item(p) for p in facts.history.get(exchange, ()))
        result.states.append(ListState(keys.position_history(snapshot.user_id, exchange), items))


def _unified_order_states(snapshot: UserSnapshot, result: UserStates, now: datetime) -> None:
    live: dict[str, set[str]] = {exchange: set() for exchange in snapshot.exchanges}
    for order in sorted(snapshot.orders.orders, key=lambda o: (o.created_at, str(o.id))):
        expire_at = order_expiry(order)
        if expire_at is None or expire_at > now:
            result.states.append(HashState(keys.order(order.id), codec.encode_order(order), expire_at=expire_at))
        if expire_at is None:
            live.setdefault(order.exchange, set()).add(str(order.id))
            result.memberships.append(Membership(keys.open_orders(order.exchange, order.symbol), str(order.id), True))
    for exchange, members in sorted(live.items()):
        result.states.append(SetState(keys.order_user_index(snapshot.user_id, exchange), frozenset(members)))


def _hyperrsi_states(snapshot: UserSnapshot) -> list[State]:
    states: list[State] = []
    positions, orders = snapshot.positions, snapshot.orders
    open_plain = [p for p in positions.open_positions if p.grid_level is None]
    for symbol, side in sorted(positions.hyperrsi_slots):
        key = keys.hyperrsi_position(snapshot.user_id, symbol, side)
        occupant = oldest(p for p in open_plain if (p.symbol, p.side) == (symbol, side))
        if occupant is None:
            states.append(HashState(key, None, OWNER_FIELD))
            continue
        states.append(
            HashState(key, codec.encode_hyperrsi_position(occupant), OWNER_FIELD, str(occupant.id),
                      names_field=NAMES_FIELD, adoptable=is_imported(occupant))
        )  # fmt: skip
    listed = [o for o in orders.orders if hyperrsi_listed(o) and OrderStatus(o.status).is_live and hyperrsi_shown(o)]
    newest_first = sorted(listed, key=lambda o: (o.created_at, str(o.id)), reverse=True)
    live_items = tuple(codec.encode_hyperrsi_order(o) for o in newest_first)
    ended_items = tuple(codec.encode_hyperrsi_order(o) for o in orders.hyperrsi_ended)
    if listed or orders.hyperrsi_ended or orders.exchanges:
        states.append(ListState(keys.hyperrsi_open_orders(snapshot.user_id), live_items, OWN_ITEM_MARKER))
        states.append(ListState(keys.hyperrsi_closed_orders(snapshot.user_id), ended_items, OWN_ITEM_MARKER))
    return states


def _grid_state(user_id: str, level: GridLevel) -> HashState:
    key = keys.grid_level(level.exchange, user_id, level.symbol, level.level)
    occupant = level.occupant
    if occupant is None:
        fields = codec.encode_grid_reset(pnl=level.pnl, execution_time=level.last_closed)
    else:
        fields = grid_level_fields(occupant, level.pnl)
    return HashState(
        key,
        fields,
        OWNER_FIELD,
        owner=_grid_owner(occupant.id) if occupant else "",
        adoptable=occupant is not None and is_imported(occupant),
        counts=frozenset({"grid_count"}),
        ttl=GRID_TTL,
        siblings=tuple(keys.grid_levels(level.exchange, user_id, level.symbol)),
    )


def state_ops(state: State) -> list[list[Any]]:
    """Operations that make Redis hold ``state`` (rebuild), leaving legacy bots' data alone."""
    if isinstance(state, SetState):
        return [["sreplace", state.key, sorted(state.members)]]
    if isinstance(state, ListState):
        return _list_state_ops(state)
    if state.owner_field:
        return _shared_hash_ops(state)
    if not state.fields:
        return [["del", state.key]]
    expiry = (
        ["pexpireat", state.key, int(state.expire_at.timestamp() * 1000)] if state.expire_at else ["persist", state.key]
    )
    return [["hreplace", state.key, _flat(state.fields), state.foreign_field], expiry]


def _shared_hash_ops(state: HashState) -> list[list[Any]]:
    """A legacy hash we share with a bot. The desired occupant takes the slot over from a stale
    owner (a rebuild knows better), except the bot's record of an imported entity, never claimed
    here; an emptied slot gets our reset fields without an owner mark; a slot nobody holds loses
    the hash we wrote."""
    if not state.owner and not state.fields:
        return [["hdropifowned", state.key, state.owner_field]]
    ops: list[list[Any]] = []
    if state.siblings:
        ops.append(["hinit", list(state.siblings), _flat(codec.encode_grid_empty()), state.ttl])
    if state.owner:
        ops += _owned_hash_ops(state)
    else:  # an emptied GRID level: reset our fields, drop our owner mark
        ops.append(["hmerge", state.key, _flat(state.fields or {}), [state.owner_field]])
    return ops + ([["expire", state.key, state.ttl]] if state.ttl else [])


def _owned_hash_ops(state: HashState) -> list[list[Any]]:
    mode = "own" if state.adoptable else "force"
    fields = dict(state.fields or {})
    counts = {name: fields.pop(name) for name in sorted(state.counts) if name in fields}
    key, owner_field, owner = state.key, state.owner_field, state.owner
    if state.names_field:
        claim = ["hown", key, owner_field, owner, state.names_field, _names(state.fields or {}), _flat(fields), mode]
    else:
        claim = ["hclaim", key, owner_field, owner, _flat(fields), [], mode]
    return [claim] + [["hcount", key, owner_field, owner, name, count] for name, count in counts.items()]


def _list_state_ops(state: ListState) -> list[list[Any]]:
    if not state.own:
        return [["del", state.key]] + [["lupsert", state.key, "\x00", item, 0, ""] for item in reversed(state.items)]
    ops: list[list[Any]] = [["lremove", state.key, state.own]]
    ops += [["lupsert", state.key, "\x00", item, 0, ""] for item in reversed(state.items)]
    return ops
