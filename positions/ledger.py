"""The fill ledger: the only place a position changes size, entry, realized PnL, fees and exit.

``apply_fill`` is registered with ``orders.hooks`` and runs inside the transaction that records a
fill, under the order's row lock and then the position's. Entry-side fills open a position or add
to it (the entry becomes the quantity-weighted mean, carried at 20 places); exit-side fills
reduce it and realize gross PnL on the part closed; every fee goes to ``fees``. Which side a fill
is on comes from the order's ``position_side`` column (OKX ``posSide``). A closed position keeps its
last size; its exit price is the weighted mean of its exit fills.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from django.utils import timezone

from orders.models import Order, OrderFill
from orders.requests import position_side_for
from positions import events, projection
from positions.models import Position
from tradingcore import db, pnl
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import ZERO, quantize, quantize_precise
from tradingcore.enums import OrderRole, OrderSide, PositionSide, PositionStatus

logger = logging.getLogger(__name__)

DEFAULT_CLOSE_REASONS = {
    OrderRole.STOP_LOSS: "stop loss",
    OrderRole.TAKE_PROFIT: "take profit",
    OrderRole.CLOSE: "closed",
}


def apply_fill(order: Order, fill: OrderFill, changeset: ChangeSet, actor: str) -> Position | None:
    """Apply one fill (not inserted yet) to the position it opens, adds to or reduces.

    Adds the position (changed or new), its event row and its projection change to ``changeset``;
    sets ``fill.realized_pnl`` and ``order.position``. Returns the position, or None when a
    reducing fill finds no open position (logged; reconciliation reports it).
    """
    side = PositionSide(order.position_side) if order.position_side else position_side_for(
        OrderSide(order.side), order.reduce_only
    )  # fmt: skip
    applied: tuple[Position | None, str]
    if OrderSide(order.side) == side.entry_order_side:
        applied = _apply_entry(order, fill, side, changeset, actor)
    else:
        applied = _apply_exit(order, fill, side, changeset, actor)
    position, event = applied
    if position is not None:
        order.position = position
        changeset.project(projection.change(position, event))
    return position


def _apply_entry(
    order: Order, fill: OrderFill, side: PositionSide, changeset: ChangeSet, actor: str
) -> tuple[Position, str]:
    # A first attempt inserts a new position without looking for one: the unique index of open
    # positions settles a race, and the retry (not optimistic) looks it up and adds to it.
    by_key = not (changeset.optimistic and order.role == OrderRole.ENTRY)
    position = _locked_open_position(order, side, by_key=by_key)
    if position is None:
        position = _new_position(order, fill, side)
        opened = events.position_opened(position, actor, order_id=order.pk, qty=fill.quantity, price=fill.price)
        changeset.insert(position, opened)
        return position, "position.opened"
    effect = pnl.apply_fill(_state(position), side=order.side, qty=fill.quantity, price=fill.price, fee=fill.fee)
    _store(position, effect.state)
    _take_entry_parameters(position, order)
    changeset.update(position)
    changeset.insert(events.position_increased(position, actor, order_id=order.pk, qty=fill.quantity, price=fill.price))
    return position, "position.updated"


def _new_position(order: Order, fill: OrderFill, side: PositionSide) -> Position:
    position = Position(
        id=order.opens_position_id or uuid.uuid4(),
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
        contract_size=order.contract_size,
        created_at=fill.filled_at,
        updated_at=timezone.now(),
    )
    _take_entry_parameters(position, order)
    return position


def _take_entry_parameters(position: Position, order: Order) -> None:
    position.leverage = order.leverage or position.leverage or 1
    position.margin_mode = order.margin_mode or position.margin_mode
    position.metadata = {**(position.metadata or {}), **order.metadata, "entry_order_id": str(order.pk)}
    if order.attached_stop_loss_price is not None:
        position.stop_loss_price = order.attached_stop_loss_price
    if order.attached_take_profit_price is not None:
        position.take_profit_price = order.attached_take_profit_price
    mark = position.current_price or position.entry_price
    position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)


def _apply_exit(
    order: Order, fill: OrderFill, side: PositionSide, changeset: ChangeSet, actor: str
) -> tuple[Position | None, str]:
    position = _locked_open_position(order, side, by_key=True)
    if position is None:
        logger.warning("order %s: reducing fill %s found no open %s position", order.pk, fill.trade_id, side.value)
        return None, ""
    qty = min(fill.quantity, position.size)
    effect = pnl.apply_fill(_state(position), side=order.side, qty=qty, price=fill.price, fee=fill.fee)
    fill.realized_pnl = effect.realized_delta
    if effect.state.size > 0:
        _store(position, effect.state)
    else:
        _close(position, effect.state, order, fill)
    changeset.update(position)
    changeset.insert(
        events.position_reduced(
            position, actor, order_id=order.pk, qty=qty, price=fill.price, realized=effect.realized_delta
        )
    )
    return position, "position.updated" if position.status == PositionStatus.OPEN else "position.closed"


def _close(position: Position, state: pnl.PositionState, order: Order, fill: OrderFill) -> None:
    # A closed position keeps its last size (never 0); the fills hold the history.
    _store(position, replace(state, size=position.size))
    position.status = PositionStatus.CLOSED
    position.closed_at = fill.filled_at
    position.unrealized_pnl = ZERO
    role = OrderRole(order.role)
    position.close_reason = (order.reason or DEFAULT_CLOSE_REASONS.get(role, "closed"))[:255]


def _state(position: Position) -> pnl.PositionState:
    exit_price = position.exit_price_precise if position.exit_price_precise is not None else position.exit_price
    return pnl.PositionState(
        side=PositionSide(position.side),
        size=position.size,
        entry_price=position.entry_precise,
        realized_pnl=position.realized_pnl,
        fees=position.fees,
        exit_qty=position.exit_qty,
        exit_notional=(exit_price or ZERO) * position.exit_qty,
    )


def _store(position: Position, state: pnl.PositionState) -> None:
    position.size = state.size
    position.entry_price_precise = state.entry_price
    position.entry_price = pnl.quantize_entry(state.entry_price)
    position.realized_pnl = state.realized_pnl
    position.fees = quantize(state.fees)
    position.exit_qty = state.exit_qty
    if state.exit_qty > 0:
        position.exit_price_precise = quantize_precise(state.exit_notional / state.exit_qty)
        position.exit_price = state.exit_price
    mark = position.current_price or position.entry_price
    position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)


def _locked_open_position(order: Order, side: PositionSide, *, by_key: bool) -> Position | None:
    """The open position the order's fill applies to, locked for this transaction.

    The order's position when it is in hand (locked with the order, or touched by an earlier fill
    of the same report); else the order's linked position; else, with ``by_key``, the open one of
    the order's key.
    """
    cached = order.position if Order.position.is_cached(order) else None  # type: ignore[attr-defined]
    if cached is not None and cached.status == PositionStatus.OPEN:
        return cached
    if cached is None and order.position_id is not None:
        linked = db.select(Position, where={"pk": order.position_id, "status": PositionStatus.OPEN}, lock=True)
        if linked:
            return linked[0]
    if not by_key:
        return None
    key = {"user_id": order.user_id, "exchange": order.exchange, "symbol": order.symbol, "side": side,
           "grid_level": order.grid_level, "status": PositionStatus.OPEN}  # fmt: skip
    found = db.select(Position, where=key, lock=True, limit=1)
    return found[0] if found else None
