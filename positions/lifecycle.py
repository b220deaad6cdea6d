"""Opening, adding to, closing and updating positions: each through an order placed by ``orders.placement``.

A position never changes here directly: the entry, add or closing order is placed, and its fills
change the position in ``positions.ledger``. Opening validates once (``tradingcore.validation``),
resolves the market once, and sets leverage only when it changes. Closing reserves quantity in
the transaction that saves the closing order, so two concurrent closes never sell the same
contracts twice.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from orders import placement
from orders.models import Order
from orders.requests import OrderSpec
from positions import adjustments, events, projection, protection, selectors
from positions.books import books_of
from positions.models import Position
from tradingcore import db, dto, locks, validation
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import ZERO, plain
from tradingcore.enums import (
    LIVE_ORDER_STATUSES,
    Exchange,
    MarginMode,
    OrderRole,
    OrderType,
    PositionSide,
    PositionStatus,
)
from tradingcore.exceptions import (
    Conflict,
    ExchangeError,
    InsufficientPosition,
    InvalidInput,
    ObjectNotFound,
    OrderRejected,
    ProtectionRefused,
)
from tradingcore.exchange import ExchangeGateway, MarketInfo, get_gateway
from tradingcore.redis import outbox

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:position_manager"
UNSET: Any = object()


# -- opening -------------------------------------------------------------------------------------


def entry_spec(
    *,
    user_id: Any,
    exchange: Any,
    symbol: Any,
    side: Any,
    size: Any,
    leverage: Any = None,
    entry_price: Any = None,
    stop_loss_price: Any = None,
    take_profit_price: Any = None,
    grid_level: Any = None,
    metadata: Any = None,
    margin_mode: Any = None,
    client_order_id: Any = None,
    rounding: Any = None,
    price_rounding: Any = None,
) -> OrderSpec:
    """Validate the ``open_position`` keywords into the entry order's spec (every rule once).

    ``leverage`` and ``margin_mode`` left out mean: the open position's (an add), else 1x cross.
    """
    position_side = validation.position_side(side)
    return OrderSpec(
        user_id=validation.user_id(user_id),
        exchange=validation.exchange(exchange),
        symbol=validation.symbol(symbol),
        side=position_side.entry_order_side,
        order_type=OrderType.MARKET if entry_price is None else OrderType.LIMIT,
        quantity=validation.size(size),
        price=validation.optional_price(entry_price, "entry_price"),
        grid_level=validation.grid_level(grid_level),
        client_order_id=validation.client_order_id(client_order_id),
        metadata=validation.metadata(metadata),
        role=OrderRole.ENTRY,
        position_side=position_side,
        margin_mode=None if margin_mode in (None, "") else validation.margin_mode(margin_mode),  # type: ignore[arg-type]
        leverage=None if leverage in (None, "") else validation.leverage(leverage),
        attached_stop_loss_price=validation.optional_price(stop_loss_price, "stop_loss_price"),
        attached_take_profit_price=validation.optional_price(take_profit_price, "take_profit_price"),
        rounding=validation.rounding(rounding),
        price_rounding=validation.rounding(price_rounding, "price_rounding"),
        size_field="size",
    )


def open_position(*, actor: str = SYSTEM_ACTOR, **raw: Any) -> dto.Position:
    """Open a position, or add to the open one with the same key (entry becomes the weighted mean).

    A market entry without ``entry_price``; a limit entry with it. Sizes are in base currency and
    must be whole lots, prices whole ticks, unless ``rounding`` / ``price_rounding`` ("down",
    "up", "nearest") asks to round (``InvalidOrder`` naming the nearest valid values otherwise).
    An add keeps the position's margin mode (another one is ``InvalidInput``) and, unless
    ``leverage`` is given, its leverage; a new leverage applies to the whole position on the
    exchange, so it is recorded at once (``leverage_changed`` event, and ``metadata["notice"]``
    in the answer) and restored when the add is refused. Optional stop-loss and take-profit
    become reduce-only trigger orders linked to the position; one already through the market
    (against the limit price, else the mark) is refused with ``InvalidOrder`` before anything is
    sent. Returns the position; while a limit entry rests
    unfilled, the returned position is the one being added to, or a size-0 preview carrying the
    id the new position will get, with ``metadata["pending_entry_order_id"]``. Raises
    ``InvalidInput``, ``InvalidOrder``, ``OrderRejected`` and its kinds, and
    ``OrderOutcomeUnknown`` / ``ExchangeUnavailable`` (the entry stays pending and is resolved by
    the fill watcher). When the entry filled but the exchange refused its stop-loss or
    take-profit, raises ``ProtectionRefused`` carrying the open position (``error.position``).
    """
    spec = entry_spec(**raw)
    gateway = get_gateway(spec.user_id, spec.exchange)
    market = gateway.market(spec.symbol)
    spec = _protection_on_grid(spec, market)
    _check_attached_protection(spec, gateway, market)
    key = (spec.user_id, spec.exchange, market.symbol, spec.effective_position_side, spec.grid_level)
    current = selectors.open_position_row(*key)
    if current is not None and spec.leverage in (None, current.leverage):
        order, spec, previous = _place_entry(spec, market, gateway, current, actor)
    else:
        # A new position, or a new leverage: the leverage set on the exchange and the entry go
        # together, one caller of the key at a time, so the position records the leverage the
        # exchange holds whatever order concurrent callers' requests reach it in.
        with locks.position_lock("leverage:" + ":".join(str(part) for part in key)):
            current = selectors.open_position_row(*key)
            order, spec, previous = _place_entry(spec, market, gateway, current, actor)
    opened = _opened(order, spec, current)
    if spec.attached_stop_loss_price is not None or spec.attached_take_profit_price is not None:
        opened = _require_attached_protection(opened, spec)
    if previous is not None and current is not None:
        opened.metadata = {**opened.metadata, "notice": _leverage_notice(previous, spec)}
    return opened


def _protection_on_grid(spec: OrderSpec, market: MarketInfo) -> OrderSpec:
    """The attached stop-loss / take-profit on the market's tick (``InvalidOrder`` off it, unless
    the spec asks to round them), checked before anything is sent."""

    def on_grid(price: Decimal | None, field: str) -> Decimal | None:
        return None if price is None else market.price_on_grid(price, rounding=spec.price_rounding, field=field)

    return replace(
        spec,
        attached_stop_loss_price=on_grid(spec.attached_stop_loss_price, "stop_loss_price"),
        attached_take_profit_price=on_grid(spec.attached_take_profit_price, "take_profit_price"),
    )


def _check_attached_protection(spec: OrderSpec, gateway: ExchangeGateway, market: MarketInfo) -> None:
    prices = {"stop_loss_price": spec.attached_stop_loss_price, "take_profit_price": spec.attached_take_profit_price}
    if not any(price is not None for price in prices.values()):
        return
    if spec.price is not None:
        protection.check_prices(spec.effective_position_side, prices, spec.price, basis="the entry price")
    else:
        mark = protection.mark_of(gateway, market.symbol)
        protection.check_prices(spec.effective_position_side, prices, mark, basis="the mark")


def _require_attached_protection(opened: dto.Position, spec: OrderSpec) -> dto.Position:
    """The position as it stands after its protective orders were placed; ``ProtectionRefused``
    when the entry filled but a stop-loss / take-profit it asked for does not stand (the exchange
    refused it after the fill)."""
    if opened.size <= 0:
        return opened  # the entry rests: its protection is placed when it fills
    opened = selectors.get_position(opened.id)
    wanted = {"stop_loss_price": spec.attached_stop_loss_price, "take_profit_price": spec.attached_take_profit_price}
    missing = [field for field, price in wanted.items() if price is not None and getattr(opened, field) != price]
    if not missing:
        return opened
    refusal = selectors.latest_event(opened.id, "protection_refused")
    reason = (refusal or {}).get("reason", "refused by the exchange")
    error = ProtectionRefused(
        f"the position is open but its {' and '.join(missing)} was refused: {reason}",
        details={"position_id": str(opened.id), "fields": missing, "reason": reason},
    )
    error.position = opened
    raise error


def _place_entry(
    spec: OrderSpec, market: MarketInfo, gateway: ExchangeGateway, current: Position | None, actor: str
) -> tuple[Order, OrderSpec, int | None]:
    """Set the leverage when it changes and place the entry (or add); restores the leverage when
    the exchange refuses the add. Returns the order, the spec as placed and the previous leverage
    of an open position whose leverage changed (None otherwise)."""
    spec = _bind_to_position(spec, market, current)
    previous = _set_leverage(gateway, spec, current, actor)
    try:
        order = placement.place(spec, market=market, gateway=gateway, actor=actor)
    except OrderRejected:
        if previous is not None and current is not None:
            _restore_leverage(gateway, spec, current, previous, actor)
        raise
    return order, spec, previous


def _bind_to_position(spec: OrderSpec, market: MarketInfo, current: Position | None) -> OrderSpec:
    """The entry of a new position (1x cross unless given), or an add carrying the position's
    margin mode (kind 7: every order of a position carries it) and, unless given, its leverage."""
    if current is None:
        return replace(
            spec, symbol=market.symbol, opens_position_id=uuid.uuid4(), leverage=spec.leverage or 1,
            margin_mode=spec.margin_mode or MarginMode.CROSS,
        )  # fmt: skip
    if spec.margin_mode is not None and spec.margin_mode != current.margin_mode:
        raise InvalidInput(
            f"margin_mode: the open position is {current.margin_mode}; an add cannot change it",
            details={"margin_mode": [f"the open position is {current.margin_mode}"]},
        )
    return replace(
        spec, symbol=market.symbol, role=OrderRole.ADD, position_id=current.pk,
        margin_mode=MarginMode(current.margin_mode), leverage=spec.leverage or current.leverage,
    )  # fmt: skip


def _set_leverage(gateway: ExchangeGateway, spec: OrderSpec, current: Position | None, actor: str) -> int | None:
    """Tell the exchange the leverage only when it changes (OKX refuses a set-leverage call while
    the position has live stop orders, 59000, even to the same value).

    A new leverage on an open position applies to the whole position at once, so it is recorded
    on the position right away; returns the previous leverage then, None otherwise.
    """
    assert spec.leverage is not None
    if current is not None and current.leverage == spec.leverage:
        return None
    gateway.set_leverage(spec.symbol, spec.leverage, margin_mode=spec.margin_mode, side=spec.effective_position_side)
    if current is None:
        return None
    _record_leverage(current, spec.leverage, actor, reason="add")
    return current.leverage


def _restore_leverage(gateway: ExchangeGateway, spec: OrderSpec, current: Position, previous: int, actor: str) -> None:
    """The add that needed a new leverage was refused: put the exchange back at ``previous`` and
    record it; if the exchange refuses that too, the position keeps recording what it holds."""
    try:
        gateway.set_leverage(spec.symbol, previous, margin_mode=spec.margin_mode, side=spec.effective_position_side)
    except ExchangeError as exc:
        logger.error("position %s: leverage %s not restored after a refused add: %s", current.pk, previous, exc)
        return
    _record_leverage(current, previous, actor, reason="restored after a refused add")


def _record_leverage(position: Position, leverage: int, actor: str, *, reason: str) -> None:
    with transaction.atomic():
        row = Position.objects.select_for_update().get(pk=position.pk)
        if row.leverage == leverage:
            return
        previous, row.leverage = row.leverage, leverage
        event = events.position_leverage_changed(row, actor, order_id=None, previous=previous, reason=reason)
        save_with_events(row, [event], "position.updated")


def _leverage_notice(previous: int, spec: OrderSpec) -> str:
    return f"the whole position's leverage changed from {previous}x to {spec.leverage}x"


def _opened(order: Order, spec: OrderSpec, current: Position | None) -> dto.Position:
    if Order.position.is_cached(order) and order.position is not None:  # type: ignore[attr-defined]
        return dto.Position.from_row(order.position)
    if order.position_id is not None and current is None:
        return selectors.get_position(order.position_id)
    pending = {"pending_entry_order_id": str(order.pk), "entry_order_status": order.status}
    if current is not None:
        preview = dto.Position.from_row(current)
        preview.metadata = {**preview.metadata, **pending}
        return preview
    return dto.Position(
        id=spec.opens_position_id or uuid.uuid4(), user_id=order.user_id, exchange=Exchange(order.exchange),
        symbol=order.symbol, side=spec.effective_position_side, size=ZERO, entry_price=order.price or ZERO,
        leverage=spec.leverage or 1, grid_level=order.grid_level, metadata={**spec.metadata, **pending},
        stop_loss_price=spec.attached_stop_loss_price, take_profit_price=spec.attached_take_profit_price,
    )  # fmt: skip


# -- closing -------------------------------------------------------------------------------------


def close_position(
    position_id: Any = None,
    *,
    user_id: str | None = None,
    exchange: Exchange | str | None = None,
    symbol: str | None = None,
    side: PositionSide | str | None = None,
    grid_level: Any = None,
    size: Any = None,
    reason: str = "",
    client_order_id: str | None = None,
    actor: str = SYSTEM_ACTOR,
) -> dto.Position:
    """Close all (``size=None``) or part of an open position at market, with a stored reason.

    Identified by id, or by user / exchange / symbol / side (/ grid_level). The open size minus
    the remaining quantity of live closing orders must cover the request, otherwise
    ``InsufficientPosition`` (a conflict); ``ObjectNotFound`` when there is no such open position.
    A partial close realizes PnL on the closed part; the full close sets exit price, closed time
    and reason. A full close sends what the exchange holds: when the exchange holds less than we
    do (a sale made on the exchange itself, a liquidation), the symbol is reconciled first
    (``positions.adjustments``: the exchange's trades, else an estimate at the mark) and what
    remains is closed; a position that nothing remains of is returned as reconciliation left it.
    A ``client_order_id`` already used by a close of this position (a retry whose first answer was
    lost) returns the position as that close left it and never sells twice (``_retried_close``).
    Raises the exchange errors of ``placement.place``.
    """
    requested = None if size is None else validation.size(size)
    key, gateway, market = _position_key(position_id, user_id, exchange, symbol, side, grid_level)
    client_order_id = validation.client_order_id(client_order_id)
    earlier = placement.existing_for_client_id(client_order_id, key["user_id"])
    if earlier is not None:
        return _retried_close(earlier, position_id, key, gateway=gateway, actor=actor)
    held = None
    if requested is None:
        settled, held = _settle_with_exchange(position_id, key, gateway, actor)
        if settled is not None:
            return settled
    with outbox.deferred():
        try:
            with transaction.atomic():
                position = _lock_open(position_id, key)
                quantity = _closable(position, requested, held)
                spec = _close_spec(position, quantity, reason, client_order_id)
                order = placement.save_pending_order(spec, market=market, actor=actor)
        except IntegrityError:
            # A concurrent retry with the same client order id saved its closing order first.
            earlier = placement.existing_for_client_id(client_order_id, key["user_id"])
            if earlier is None:
                raise
            return _retried_close(earlier, position_id, key, gateway=gateway, actor=actor)
        order = placement.submit_order(order, gateway=gateway, actor=actor)
    if Order.position.is_cached(order) and order.position is not None:  # type: ignore[attr-defined]
        return dto.Position.from_row(order.position)
    return selectors.get_position(position.pk)


def _retried_close(
    earlier: Order, position_id: Any, key: dict[str, Any], *, gateway: ExchangeGateway, actor: str
) -> dto.Position:
    """The answer to a close retried with the client order id of its first attempt (whose answer
    was lost): the position as that close left it. A closing order the first attempt saved but
    may not have sent is looked up on the exchange, and sent only if the exchange never got it
    (``placement.resume``; ``OrderOutcomeUnknown`` while too late to send it and not yet settled).
    ``OrderRejected`` when the exchange refused it; ``Conflict`` when the id belongs to another order."""
    closes_this = earlier.role == OrderRole.CLOSE and (
        str(earlier.position_id) == str(position_id) if position_id is not None else _order_of_key(earlier, key)
    )
    if not closes_this or earlier.position_id is None:
        details = {"client_order_id": ["already used"]}
        raise Conflict("client_order_id is already used by another order", details=details)
    earlier = placement.resume(earlier, gateway=gateway, actor=actor)  # raises a rejection again
    assert earlier.position_id is not None
    return selectors.get_position(earlier.position_id)


def _order_of_key(order: Order, key: dict[str, Any]) -> bool:
    return (order.exchange, order.symbol, order.position_side, order.grid_level) == (
        key["exchange"], key["symbol"], key["side"], key["grid_level"]
    )  # fmt: skip


def _position_key(
    position_id: Any, user_id: Any, exchange: Any, symbol: Any, side: Any, grid_level: Any
) -> tuple[dict[str, Any], ExchangeGateway, MarketInfo]:
    """The position's (user, exchange, symbol, side, grid level), from its row or the caller, with
    the gateway and the market (resolved once)."""
    if position_id is not None:
        row = selectors.position_row(position_id, user_id=user_id)
        user_id, exchange, symbol, side, grid_level = row.user_id, row.exchange, row.symbol, row.side, row.grid_level
    elif user_id is None or exchange is None or symbol is None or side is None:
        raise InvalidInput("identify the position by position_id, or by user_id, exchange, symbol and side")
    gateway = get_gateway(validation.user_id(user_id), validation.exchange(exchange))
    market = gateway.market(validation.symbol(symbol))
    key = {"user_id": validation.user_id(user_id), "exchange": validation.exchange(exchange), "symbol": market.symbol,
           "side": validation.position_side(side), "grid_level": validation.grid_level(grid_level)}  # fmt: skip
    return key, gateway, market


def _lock_open(position_id: Any, key: dict[str, Any]) -> Position:
    """The open position, locked for the close."""
    where = {"pk": position_id} if position_id is not None else {**key, "status": PositionStatus.OPEN}
    found = db.select(Position, where=where, lock=True, limit=1)
    if not found and position_id is not None:
        raise ObjectNotFound(f"position {position_id} not found")
    if not found:
        raise ObjectNotFound(f"no open {key['side']} position of {key['user_id']} on {key['exchange']} {key['symbol']}")
    require_open(found[0])
    return found[0]


def require_open(position: Position) -> None:
    """``InsufficientPosition`` (a conflict) unless the position is open."""
    if position.status != PositionStatus.OPEN:
        raise InsufficientPosition(f"position {position.pk} is {position.status}", details={"status": position.status})


def _settle_with_exchange(
    position_id: Any, key: dict[str, Any], gateway: ExchangeGateway, actor: str
) -> tuple[dto.Position | None, Decimal | None]:
    """Before a full close: reconcile the symbol when the exchange holds less than we do on this
    side. Returns the position when nothing of it is left open, and what the exchange holds on
    the side (None when it holds at least our size)."""
    user_id, exchange, symbol = key["user_id"], key["exchange"], key["symbol"]
    ours = list(Position.objects.filter(user_id=user_id, exchange=exchange, symbol=symbol, status=PositionStatus.OPEN))
    target = position_id
    if target is None:
        keyed = [row for row in ours if row.side == key["side"] and row.grid_level == key["grid_level"]]
        if not keyed:
            return None, None  # _lock_open says so
        target = keyed[0].pk
    books = books_of(symbol, ours, gateway.fetch_positions([symbol]), gateway.position_mode)
    if not adjustments.exchange_holds_less(books):
        return None, None
    aligned = adjustments.align_symbol(
        user_id=user_id, exchange=exchange, gateway=gateway, symbol=symbol, apply=True, actor=actor
    )
    position = Position.objects.get(pk=target)
    if position.status != PositionStatus.OPEN:
        if not any(a.applied and any(p.pk == target for p in a.book.positions) for a in aligned):
            require_open(position)  # closed meanwhile by another close of ours: a conflict, as after it
        return dto.Position.from_row(position), None
    return None, _held_on_side(gateway, position)


def _held_on_side(gateway: ExchangeGateway, position: Position) -> Decimal:
    """What the exchange holds on the position's side now (in a one-way account, the net position
    when it is on that side)."""
    side = PositionSide(position.side)
    held = [p for p in gateway.fetch_positions([position.symbol]) if p.side == side]
    return sum((p.size for p in held), ZERO)


def _closable(position: Position, requested: Decimal | None, held: Decimal | None = None) -> Decimal:
    """The quantity to close: ``requested``, or all that is open and not being closed already
    (never more than ``held``, what the exchange holds on the side, when known)."""
    # Read after the lock, in a statement of its own: a statement's snapshot is taken when it
    # starts, so a subquery of the locking statement would miss the closing order a concurrent
    # close committed while this one waited for the lock.
    reserved = reserved_quantity(position)
    available = position.size - reserved
    if held is not None:
        available = min(available, held - reserved)
    quantity = available if requested is None else requested
    if available <= 0 or quantity > available:
        raise InsufficientPosition(
            f"cannot close {quantity}: {available} of {position.size} is open and not already being closed",
            details={"size": [f"at most {max(available, ZERO)}"], "open_size": plain(position.size)},
        )
    return quantity


def reserved_quantity(position: Position) -> Decimal:
    """Quantity already being closed by live closing orders (protective orders do not reserve)."""
    live = db.select(
        Order,
        where={"position_id": position.pk, "role": OrderRole.CLOSE, "status__in": sorted(LIVE_ORDER_STATUSES)},
    )
    return sum((order.quantity - order.filled_qty for order in live if order.reduce_only), ZERO)


def _close_spec(position: Position, quantity: Decimal, reason: str, client_order_id: Any) -> OrderSpec:
    side = PositionSide(position.side)
    return OrderSpec(
        user_id=position.user_id, exchange=Exchange(position.exchange), symbol=position.symbol,
        side=side.exit_order_side, order_type=OrderType.MARKET, quantity=quantity, reduce_only=True,
        grid_level=position.grid_level, client_order_id=validation.client_order_id(client_order_id),
        role=OrderRole.CLOSE, position_side=side, margin_mode=MarginMode(position.margin_mode),
        reason=validation.reason(reason), position_id=position.pk, size_field="size",
    )  # fmt: skip


# -- updating ------------------------------------------------------------------------------------


def update_position(
    position_id: Any,
    *,
    user_id: str | None = None,
    stop_loss_price: Any = UNSET,
    take_profit_price: Any = UNSET,
    metadata: dict[str, Any] | None = None,
    exit_if_triggered: bool = False,
    price_rounding: Any = None,
    actor: str = SYSTEM_ACTOR,
) -> dto.Position:
    """Change stop-loss / take-profit (None removes one) or merge metadata.

    Prices must be whole ticks of the market unless ``price_rounding`` ("down", "up",
    "nearest") asks to round them (``InvalidOrder`` naming the tick otherwise, nothing sent).
    A new protective order is placed first; the old one is cancelled, and the new price stored,
    only once the new one stands (``positions.protection``). A price already through the mark
    is refused with ``InvalidOrder`` before anything is sent, unless ``exit_if_triggered``: then
    the position is closed at market (reason "stop loss" / "take profit") and returned closed.
    Raises ``ProtectionRefused`` when the exchange refuses the new order (the old one and its
    price are kept), ``ObjectNotFound``, and ``InsufficientPosition`` for a position that is not
    open.
    """
    changes = _protection_changes(stop_loss_price, take_profit_price)
    rounding = validation.rounding(price_rounding, "price_rounding")
    extra = validation.metadata(metadata)
    row = selectors.position_row(position_id, user_id=user_id)
    if changes:
        with locks.position_lock(row.pk):
            position = Position.objects.get(pk=row.pk)
            require_open(position)
            gateway = get_gateway(position.user_id, position.exchange)
            market = gateway.market(position.symbol)
            changes = {
                field: None if price is None else market.price_on_grid(price, rounding=rounding, field=field)
                for field, price in changes.items()
            }
            side = PositionSide(position.side)
            mark = protection.mark_of(gateway, position.symbol)
            triggered = protection.triggered_fields(side, changes, mark)
            if triggered and exit_if_triggered:
                reason = " and ".join(field.removesuffix("_price").replace("_", " ") for field in triggered)
                return close_position(position.pk, reason=reason, actor=actor)
            protection.check_prices(side, changes, mark, basis="the mark")
            protection.replace_protection(position, changes, actor)
    if extra:
        with transaction.atomic():
            position = Position.objects.select_for_update().get(pk=row.pk)
            require_open(position)
            # the merged whole keeps the limits too: repeated merges of new keys must not grow it
            position.metadata = validation.metadata({**position.metadata, **extra})
            save_with_events(position, [events.position_updated(position, actor, metadata=extra)], "position.updated")
    return selectors.get_position(row.pk)


def _protection_changes(stop_loss_price: Any, take_profit_price: Any) -> dict[str, Decimal | None]:
    changes: dict[str, Decimal | None] = {}
    if stop_loss_price is not UNSET:
        changes["stop_loss_price"] = validation.optional_price(stop_loss_price, "stop_loss_price")
    if take_profit_price is not UNSET:
        changes["take_profit_price"] = validation.optional_price(take_profit_price, "take_profit_price")
    return changes


def save_with_events(position: Position, event_rows: list[Any], projection_event: str) -> None:
    """Save a locked, changed position with its event rows and outbox row, inside the caller's
    transaction (one statement); Redis follows after commit."""
    changeset = ChangeSet()
    changeset.update(position)
    changeset.insert(*event_rows)
    changeset.project(projection.change(position, projection_event))
    changeset.save()
