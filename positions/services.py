"""Position lifecycle: open, add, close (all or part), protective orders, marks and PnL.

Positions change only by applying fills (``apply_fill``, called by ``orders.services`` inside the
transaction that stores the fill). Opening and closing go through orders: the entry or closing
order is saved ``pending`` and committed, the exchange is called outside any transaction, and the
fills it reports are applied under row locks. Redis follows after commit through the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone

from orders import selectors as order_selectors
from orders import services as order_services
from orders import validation
from orders.models import Order, OrderFill
from positions import events, selectors
from positions.models import MAX_LEVERAGE, Position
from tradingcore import dto, locks, pnl
from tradingcore.decimals import ZERO, quantize, storable
from tradingcore.enums import (
    LIVE_ORDER_STATUSES,
    Exchange,
    MarginMode,
    OrderSide,
    OrderType,
    PositionSide,
    PositionStatus,
)
from tradingcore.exceptions import ExchangeError, InsufficientPosition, InvalidInput, NotFound
from tradingcore.exchange import get_gateway
from tradingcore.facades import pick, with_async_twins
from tradingcore.redis import outbox

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:position_manager"
UNSET: Any = object()
PROTECTIVE_ROLES = {"stop_loss": OrderType.STOP_LOSS, "take_profit": OrderType.TAKE_PROFIT}
_DEFAULT_REASONS = {"stop_loss": "stop loss", "take_profit": "take profit", "close": "closed"}


# --- opening -------------------------------------------------------------------------------


def open_position(
    *,
    user_id: str,
    exchange: Exchange | str,
    symbol: str,
    side: PositionSide | str,
    size: Any,
    leverage: Any = 1,
    entry_price: Any = None,
    stop_loss_price: Any = None,
    take_profit_price: Any = None,
    grid_level: Any = None,
    metadata: dict[str, Any] | None = None,
    margin_mode: MarginMode | str = MarginMode.CROSS,
    client_order_id: str | None = None,
    actor: str = SYSTEM_ACTOR,
) -> dto.Position:
    """Open a position, or add to the open one with the same key (entry becomes the weighted mean).

    A market entry without ``entry_price``; a limit entry with it. Optional stop-loss and
    take-profit become reduce-only trigger orders linked to the position. Returns the position;
    while a limit entry rests unfilled, the returned position has size 0 and
    ``metadata["pending_entry_order_id"]``, and the position appears when the order fills.
    Raises ``InvalidInput``, ``InvalidOrder``, ``OrderRejected`` and its kinds, and
    ``OrderOutcomeUnknown`` / ``ExchangeUnavailable`` (the entry stays pending and is resolved
    by the fill watcher).
    """
    side = PositionSide.parse(side, field="side")
    size = storable(size, field="size", positive=True)
    leverage = _leverage(leverage)
    margin_mode = MarginMode.parse(margin_mode, field="margin_mode")
    protection = {
        "stop_loss_price": validation.optional_price(stop_loss_price, "stop_loss_price"),
        "take_profit_price": validation.optional_price(take_profit_price, "take_profit_price"),
    }
    gateway = get_gateway(validation.user_id(user_id), exchange)
    market = gateway.market(validation.symbol(symbol))
    gateway.set_leverage(market.symbol, leverage, margin_mode=margin_mode, side=side)
    order = order_services.create_order(
        user_id=user_id,
        exchange=exchange,
        symbol=market.symbol,
        side=side.entry_order_side,
        order_type=OrderType.LIMIT if entry_price is not None else OrderType.MARKET,
        quantity=size,
        price=entry_price,
        grid_level=grid_level,
        client_order_id=client_order_id,
        position_side=side,
        metadata={
            "role": "entry",
            "leverage": leverage,
            "margin_mode": margin_mode.value,
            "position_metadata": dict(metadata or {}),
            **{key: value for key, value in protection.items() if value is not None},
        },
        actor=actor,
    )
    if order.position_id is not None:
        return dto.Position.from_row(Position.objects.get(pk=order.position_id))
    return _pending_entry(order, side=side, leverage=leverage, metadata=metadata, **protection)


def _pending_entry(
    order: Order, *, side: PositionSide, leverage: int, metadata: Any, **protection: Any
) -> dto.Position:
    return dto.Position(
        user_id=order.user_id,
        exchange=Exchange(order.exchange),
        symbol=order.symbol,
        side=side,
        size=ZERO,
        entry_price=order.price or ZERO,
        leverage=leverage,
        grid_level=order.grid_level,
        metadata={**(metadata or {}), "pending_entry_order_id": str(order.pk), "entry_order_status": order.status},
        **protection,
    )


def _leverage(value: Any) -> int:
    try:
        leverage = int(Decimal(str(value)))
    except Exception:
        raise InvalidInput("leverage: an integer 1..125 is required", details={"leverage": ["1..125"]}) from None
    if not 1 <= leverage <= MAX_LEVERAGE or Decimal(str(value)) != leverage:
        raise InvalidInput("leverage: an integer 1..125 is required", details={"leverage": ["1..125"]})
    return leverage


# --- closing -------------------------------------------------------------------------------


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

    Identified by id, or by user / exchange / symbol / side (/ grid_level). The quantity is
    reserved in the transaction that saves the closing order: the open size minus the remaining
    quantity of live closing orders must cover it, so concurrent closes never sell the same
    contracts twice; otherwise ``InsufficientPosition`` (a conflict). A partial close realizes PnL
    on the closed part; the full close sets exit price, closed time and reason.
    """
    position = _find_open_position(position_id, user_id, exchange, symbol, side, grid_level)
    gateway = get_gateway(position.user_id, position.exchange)
    market = gateway.market(position.symbol)
    requested = None if size is None else storable(size, field="size", positive=True)
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position.pk)
        if position.status != PositionStatus.OPEN:
            raise InsufficientPosition(
                f"position {position.pk} is {position.status}", details={"status": position.status}
            )
        available = position.size - reserved_quantity(position)
        quantity = available if requested is None else requested
        if available <= 0 or quantity > available:
            raise InsufficientPosition(
                f"cannot close {quantity}: {available} of {position.size} is open and not already being closed",
                details={"size": [f"at most {max(available, ZERO)}"], "open_size": position.size},
            )
        quantity = market.to_base(market.to_contracts(quantity))
        spec = validation.OrderSpec(
            user_id=position.user_id,
            exchange=Exchange(position.exchange),
            symbol=position.symbol,
            side=PositionSide(position.side).exit_order_side,
            order_type=OrderType.MARKET,
            quantity=quantity,
            reduce_only=True,
            grid_level=position.grid_level,
            client_order_id=validation.client_order_id(client_order_id),
            position_side=PositionSide(position.side),
            metadata={"role": "close", "reason": str(reason or "")[:255]},
        )
        order = order_services.save_pending_order(
            spec, symbol=position.symbol, quantity=quantity, position_id=position.pk, actor=actor
        )
    order_services.submit_order(order, gateway=gateway, actor=actor)
    return dto.Position.from_row(Position.objects.get(pk=position.pk))


def reserved_quantity(position: Position) -> Decimal:
    """Quantity already being closed by live closing orders (protective orders do not reserve)."""
    live = Order.objects.filter(position=position, reduce_only=True, status__in=list(LIVE_ORDER_STATUSES))
    total = ZERO
    for order in live.only("quantity", "filled_qty", "metadata"):
        if order.metadata.get("role") == "close":
            total += order.quantity - order.filled_qty
    return total


def _find_open_position(
    position_id: Any, user_id: Any, exchange: Any, symbol: Any, side: Any, grid_level: Any
) -> Position:
    if position_id is not None:
        return selectors.position_row(position_id, user_id=user_id)
    if user_id is None or exchange is None or symbol is None or side is None:
        raise InvalidInput("identify the position by position_id, or by user_id, exchange, symbol and side")
    exchange = Exchange.parse(exchange, field="exchange")
    native = get_gateway(user_id, exchange).normalize_symbol(symbol)
    queryset = selectors.position_queryset(
        user_id=user_id, exchange=exchange, symbol=native, side=side, status=PositionStatus.OPEN
    ).filter(grid_level=validation.grid_level(grid_level))
    position = queryset.first()
    if position is None:
        raise NotFound(f"no open {side} position of {user_id} on {exchange.value} {native}")
    return position


# --- fills ---------------------------------------------------------------------------------


def apply_fill(*, order: Order, fill: OrderFill, actor: str) -> Position | None:
    """Apply one stored fill to the position it opens, adds to or reduces. Joins the caller's
    transaction (the one that stored the fill); returns the position, or None when a reducing
    fill finds no open position (logged; reconciliation reports it)."""
    side = PositionSide(order.metadata.get("position_side") or validation.position_side_for(
        OrderSide(order.side), order.reduce_only
    ))  # fmt: skip
    if OrderSide(order.side) == side.entry_order_side:
        return _apply_entry_fill(order, fill, side, actor)
    return _apply_exit_fill(order, fill, side, actor)


def _apply_entry_fill(order: Order, fill: OrderFill, side: PositionSide, actor: str) -> Position:
    position = _locked_open_position(order, side)
    if position is None:
        try:
            with transaction.atomic():
                return _create_position(order, fill, side, actor)
        except IntegrityError:
            # A concurrent entry created it first; it is committed now, so lock and add to it.
            position = _locked_open_position(order, side)
            if position is None:
                raise
    effect = pnl.apply_fill(_state(position), side=order.side, qty=fill.quantity, price=fill.price, fee=fill.fee)
    _store(position, effect.state)
    _take_entry_parameters(position, order)
    position.save()
    events.position_increased(position, actor, order_id=order.pk, qty=fill.quantity, price=fill.price)
    outbox.record_position_change(position, "position.updated")
    return position


def _create_position(order: Order, fill: OrderFill, side: PositionSide, actor: str) -> Position:
    position = Position(
        user_id=order.user_id,
        exchange=order.exchange,
        symbol=order.symbol,
        side=side,
        size=fill.quantity,
        entry_price=quantize(fill.price),
        entry_price_precise=fill.price,
        current_price=fill.price,
        fees=fill.fee,
        grid_level=order.grid_level,
        contract_size=_decimal_or_none(order.metadata.get("contract_size")),
        created_at=fill.filled_at,
    )
    _take_entry_parameters(position, order)
    position.save(force_insert=True)
    events.position_opened(position, actor, order_id=order.pk, qty=fill.quantity, price=fill.price)
    outbox.record_position_change(position, "position.opened")
    return position


def _take_entry_parameters(position: Position, order: Order) -> None:
    meta = order.metadata
    position.leverage = int(meta.get("leverage") or position.leverage or 1)
    position.margin_mode = meta.get("margin_mode") or position.margin_mode
    position.metadata = {**position.metadata, **meta.get("position_metadata", {}), "entry_order_id": str(order.pk)}
    for name in ("stop_loss_price", "take_profit_price"):
        if meta.get(name) is not None:
            setattr(position, name, Decimal(str(meta[name])))
    mark = position.current_price or position.entry_price
    position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)


def _apply_exit_fill(order: Order, fill: OrderFill, side: PositionSide, actor: str) -> Position | None:
    position = _locked_open_position(order, side)
    if position is None:
        logger.warning("order %s: reducing fill %s found no open %s position", order.pk, fill.trade_id, side.value)
        return None
    qty = min(fill.quantity, position.size)
    effect = pnl.apply_fill(_state(position), side=order.side, qty=qty, price=fill.price, fee=fill.fee)
    fill.realized_pnl = effect.realized_delta
    fill.save(update_fields=["realized_pnl"])
    Order.objects.filter(pk=order.pk, position__isnull=True).update(position=position)
    if effect.state.size > 0:
        _store(position, effect.state)
    else:
        _close(position, effect.state, order, fill)
    position.exit_price = _exit_price(position)
    position.save()
    events.position_reduced(
        position, actor, order_id=order.pk, qty=qty, price=fill.price, realized=effect.realized_delta
    )
    outbox.record_position_change(position, "position.closed" if position.status != "open" else "position.updated")
    return position


def _close(position: Position, state: pnl.PositionState, order: Order, fill: OrderFill) -> None:
    # A closed position keeps its last size (never 0); the fills hold the history.
    _store(position, replace(state, size=position.size))
    position.status = PositionStatus.CLOSED
    position.closed_at = fill.filled_at
    position.unrealized_pnl = ZERO
    role = order.metadata.get("role", "close")
    position.close_reason = (order.metadata.get("reason") or _DEFAULT_REASONS.get(role, role))[:255]


def _exit_price(position: Position) -> Decimal | None:
    exit_side = PositionSide(position.side).exit_order_side
    totals = OrderFill.objects.filter(order__position=position, order__side=exit_side).aggregate(
        qty=Sum("quantity"),
        notional=Sum(
            ExpressionWrapper(F("quantity") * F("price"), output_field=DecimalField(max_digits=40, decimal_places=16))
        ),
    )
    if not totals["qty"]:
        return None
    return quantize(totals["notional"] / totals["qty"])


def _state(position: Position) -> pnl.PositionState:
    return pnl.PositionState(
        side=PositionSide(position.side),
        size=position.size,
        entry_price=position.entry_price_precise,
        realized_pnl=position.realized_pnl,
        fees=position.fees,
    )


def _store(position: Position, state: pnl.PositionState) -> None:
    position.size = state.size
    position.entry_price_precise = state.entry_price
    position.entry_price = pnl.quantize_entry(state.entry_price)
    position.realized_pnl = state.realized_pnl
    position.fees = quantize(state.fees)
    mark = position.current_price or position.entry_price
    position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)
    position.updated_at = timezone.now()


def _locked_open_position(order: Order, side: PositionSide) -> Position | None:
    if order.position_id is not None:
        linked = Position.objects.select_for_update().filter(pk=order.position_id, status=PositionStatus.OPEN).first()
        if linked is not None:
            return linked
    return (
        Position.objects.select_for_update()
        .filter(
            user_id=order.user_id,
            exchange=order.exchange,
            symbol=order.symbol,
            side=side,
            grid_level=order.grid_level,
            status=PositionStatus.OPEN,
        )
        .first()
    )


def _decimal_or_none(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


# --- after a fill: protective orders -------------------------------------------------------


def after_fills(order: Order, *, actor: str) -> None:
    """Run after commit when an order's fills changed a position: keep its protective orders in line."""
    position_id = order.position_id or Order.objects.filter(pk=order.pk).values_list("position_id", flat=True).first()
    if position_id is not None:
        sync_protective_orders(position_id, actor=actor)


def sync_protective_orders(position_id: Any, *, actor: str = SYSTEM_ACTOR) -> None:
    """Make the live stop-loss / take-profit orders match the position (outside any transaction).

    Open position: one reduce-only trigger order per protective price, sized to the position;
    others are cancelled and replaced. Closed position: all are cancelled. Exchange failures are
    logged and left for the next sync (the watcher re-runs it on every fill).
    """
    with locks.position_lock(position_id):
        _sync_protective_orders(Position.objects.get(pk=position_id), actor)


def _sync_protective_orders(position: Position, actor: str) -> None:
    live = order_selectors.live_orders_of_position(position.pk, roles=set(PROTECTIVE_ROLES))
    desired = _desired_protection(position)
    keep: set[str] = set()
    stale = []
    for order in live:
        role = order.metadata["role"]
        matches = role in desired and order.trigger_price == desired[role] and order.quantity == position.size
        if matches and role not in keep:
            keep.add(role)
        else:
            stale.append(order)
    # Place the replacements before cancelling what they replace: never a moment unprotected.
    for role, trigger in desired.items():
        if role not in keep:
            _quietly(_place_protective_order, position, role, trigger, actor)
    for order in stale:
        _quietly(order_services.cancel_order, order_id=order.pk, actor=actor)


def _desired_protection(position: Position) -> dict[str, Decimal]:
    if position.status != PositionStatus.OPEN:
        return {}
    prices = {"stop_loss": position.stop_loss_price, "take_profit": position.take_profit_price}
    return {role: price for role, price in prices.items() if price is not None}


def _place_protective_order(position: Position, role: str, trigger: Decimal, actor: str) -> Order:
    side = PositionSide(position.side)
    return order_services.create_order(
        user_id=position.user_id,
        exchange=position.exchange,
        symbol=position.symbol,
        side=side.exit_order_side,
        order_type=PROTECTIVE_ROLES[role],
        quantity=position.size,
        trigger_price=trigger,
        reduce_only=True,
        grid_level=position.grid_level,
        position_side=side,
        position_id=position.pk,
        metadata={"role": role},
        actor=actor,
    )


def _quietly(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except ExchangeError as exc:
        logger.warning("protective order sync: %s", exc)
        return None


# --- updates, marks and PnL ----------------------------------------------------------------


def update_position(
    position_id: Any,
    *,
    user_id: str | None = None,
    stop_loss_price: Any = UNSET,
    take_profit_price: Any = UNSET,
    metadata: dict[str, Any] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> dto.Position:
    """Change stop-loss / take-profit (None removes one) or merge metadata; stop-loss and
    take-profit changes replace the protective orders on the exchange."""
    changes: dict[str, Any] = {}
    if stop_loss_price is not UNSET:
        changes["stop_loss_price"] = validation.optional_price(stop_loss_price, "stop_loss_price")
    if take_profit_price is not UNSET:
        changes["take_profit_price"] = validation.optional_price(take_profit_price, "take_profit_price")
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=selectors.position_row(position_id, user_id=user_id).pk)
        if position.status != PositionStatus.OPEN:
            raise InsufficientPosition(
                f"position {position.pk} is {position.status}", details={"status": position.status}
            )
        for name, value in changes.items():
            setattr(position, name, value)
        if metadata:
            position.metadata = {**position.metadata, **metadata}
        position.updated_at = timezone.now()
        position.save()
        if changes:
            events.position_protection_changed(position, actor, **changes)
        if metadata:
            events.position_updated(position, actor, metadata=metadata)
        outbox.record_position_change(position, "position.updated")
    if changes:
        sync_protective_orders(position.pk, actor=actor)
    return dto.Position.from_row(Position.objects.get(pk=position.pk))


def calculate_pnl(position: Any, current_price: Any = None) -> dto.PnLInfo:
    """PnL of a position (DTO, row or id) at ``current_price`` (default: its stored mark)."""
    if isinstance(position, Position):
        position = dto.Position.from_row(position)
    elif not isinstance(position, dto.Position):
        position = selectors.get_position(position)
    mark = None if current_price is None else storable(current_price, field="current_price", positive=True)
    return dto.pnl_info_for(
        side=position.side,
        size=position.size,
        entry_price=position.entry_price,
        leverage=position.leverage,
        mark=mark if mark is not None else position.current_price,
        realized_pnl=position.pnl_info.realized_pnl,
        unrealized_pnl=position.pnl_info.unrealized_pnl,
        fees=position.pnl_info.fees,
    )


def refresh_marks(
    *, positions: list[Position] | None = None, actor: str = SYSTEM_ACTOR, record_event: bool = False
) -> int:
    """Fetch marks for open positions (all, or the given ones) and store mark and unrealized PnL.

    One mark request per (user, exchange, symbol); an unreachable exchange skips its positions.
    Returns how many positions changed.
    """
    rows = positions if positions is not None else list(Position.objects.filter(status=PositionStatus.OPEN))
    marks: dict[tuple[str, str, str], Decimal | None] = {}
    changed = 0
    for row in rows:
        key = (row.user_id, row.exchange, row.symbol)
        if key not in marks:
            marks[key] = _mark_or_none(*key)
        mark = marks[key]
        if mark is not None and _store_mark(row.pk, mark, actor, record_event):
            changed += 1
    return changed


def _mark_or_none(user_id: str, exchange: str, symbol: str) -> Decimal | None:
    try:
        return get_gateway(user_id, exchange).fetch_mark_price(symbol)
    except ExchangeError as exc:
        logger.warning("mark of %s %s unavailable: %s", exchange, symbol, exc)
        return None


def _store_mark(position_id: Any, mark: Decimal, actor: str, record_event: bool) -> bool:
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position_id)
        if position.status != PositionStatus.OPEN or (position.current_price == mark and not record_event):
            return False
        position.current_price = quantize(mark)
        position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)
        position.updated_at = timezone.now()
        position.save(update_fields=["current_price", "unrealized_pnl", "updated_at"])
        if record_event:
            events.position_mark_refreshed(position, actor, mark=mark)
        outbox.record_position_change(position, "position.updated")
    return True


# --- the public facade ---------------------------------------------------------------------


@with_async_twins
class PositionManager:
    """The in-process API of positions, with the seeds' method and keyword names.

    ``stop_loss`` / ``stop_loss_price`` and ``take_profit`` / ``take_profit_price`` are both
    accepted. Every method has an ``a``-prefixed async twin (``aopen_position``). Constructor
    arguments of the seeds (an exchange store, a Redis client) are accepted and ignored: exchange
    access and Redis come from the service's own configuration. ``actor`` names who acts
    (``api:<key>``, ``admin:<user>``, ``system:<component>``) in the event log.
    """

    def __init__(self, *args: Any, actor: str = SYSTEM_ACTOR, **kwargs: Any) -> None:
        self.actor = actor

    def open_position(self, **kwargs: Any) -> dto.Position:
        kwargs["stop_loss_price"] = pick(kwargs, "stop_loss_price", "stop_loss")
        kwargs["take_profit_price"] = pick(kwargs, "take_profit_price", "take_profit")
        kwargs.setdefault("actor", self.actor)
        return open_position(**kwargs)

    def close_position(self, position_id: Any = None, **kwargs: Any) -> dto.Position:
        kwargs.setdefault("actor", self.actor)
        return close_position(position_id, **kwargs)

    def get_positions(self, **filters: Any) -> list[dto.Position]:
        return selectors.get_positions(**filters)

    def get_position(self, position_id: Any, *, user_id: str | None = None) -> dto.Position:
        return selectors.get_position(position_id, user_id=user_id)

    def update_position(self, position_id: Any, **kwargs: Any) -> dto.Position:
        for canonical, alias in (("stop_loss_price", "stop_loss"), ("take_profit_price", "take_profit")):
            value = pick(kwargs, canonical, alias, default=UNSET)
            if value is not UNSET:
                kwargs[canonical] = value
        kwargs.setdefault("actor", self.actor)
        return update_position(position_id, **kwargs)

    def calculate_pnl(self, position: Any, current_price: Any = None) -> dto.PnLInfo:
        return calculate_pnl(position, current_price)

    def refresh_marks(self, **kwargs: Any) -> int:
        kwargs.setdefault("actor", self.actor)
        return refresh_marks(**kwargs)

    def sync_positions_from_exchange(self, *, user_id: str, exchange: Exchange | str, apply: bool = False) -> Any:
        from positions.reconciliation import reconcile_account

        return reconcile_account(user_id=user_id, exchange=exchange, apply=apply, actor=self.actor)
