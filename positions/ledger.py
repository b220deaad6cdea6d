"""The fill ledger: the only place a position changes size, entry, realized PnL, fees and exit.

``apply_fill`` is registered with ``orders.hooks`` and runs inside the transaction that records a
fill, under the order's row lock and then the position's. Entry-side fills open a position or add
to it (the entry becomes the quantity-weighted mean, carried at 20 places); exit-side fills
reduce it and realize gross PnL on the part closed. Which side a fill is on comes from the order's
``position_side`` column (OKX ``posSide``); an order without one belongs to a one-way (net)
account, and its fill first reduces the opposite position and opens its own side with the rest,
exactly as the exchange nets it (SPEC 4, "Position modes").

Fees (SPEC 4, "Fees"): every fee goes to ``fees`` in the settlement currency, a rebate as a
negative fee; a fee charged in the base coin is converted at the fill price; any other currency
is kept apart in ``other_fees``. A closed position keeps its last size; its exit price is the
weighted mean of its exit fills.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orders.models import Order, OrderFill
from positions import events, projection
from positions.models import Position
from tradingcore import db, pnl
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import ZERO, plain, quantize, quantize_precise
from tradingcore.enums import OrderRole, OrderSide, PositionSide, PositionStatus
from tradingcore.exchange import instruments

logger = logging.getLogger(__name__)

DEFAULT_CLOSE_REASONS = {
    OrderRole.STOP_LOSS: "stop loss",
    OrderRole.TAKE_PROFIT: "take profit",
    OrderRole.CLOSE: "closed",
    OrderRole.LIQUIDATION: "liquidated",
}


@dataclass(frozen=True)
class Portion:
    """The part of a fill applied to one position (base quantity, price, fees in the settlement
    currency and apart); a one-way fill may reduce one side and open the other."""

    quantity: Decimal
    price: Decimal
    fee: Decimal
    other_fees: dict[str, Decimal]
    filled_at: datetime

    def share(self, quantity: Decimal, fee: Decimal) -> Portion:
        other = {currency: quantize(amount * quantity / self.quantity) for currency, amount in self.other_fees.items()}
        return replace(self, quantity=quantity, fee=fee, other_fees=other)


def apply_fill(order: Order, fill: OrderFill, changeset: ChangeSet, actor: str) -> Position | None:
    """Apply one fill (not inserted yet) to the position(s) it opens, adds to or reduces.

    Adds each position (changed or new), its event row and its projection change to
    ``changeset``; sets ``fill.realized_pnl`` and ``order.position``. Returns the position the
    order now belongs to, or None when a reducing fill finds no open position (logged;
    reconciliation reports it).
    """
    portion = _portion(order, fill)
    if not order.position_side:
        return _apply_net(order, fill, portion, changeset, actor)
    side = PositionSide(order.position_side)
    if OrderSide(order.side) == side.entry_order_side:
        return _increase(order, side, portion, changeset, actor)
    return _reduce(order, fill, side, portion, changeset, actor)


def _portion(order: Order, fill: OrderFill) -> Portion:
    base, settle = instruments.currencies(order.exchange, order.symbol) or ("", "")
    split = pnl.split_fees(fill_fees(fill), base=base, settle=settle, price=fill.price)
    return Portion(fill.quantity, fill.price, quantize(split.settled), split.other, fill.filled_at)


def fill_fees(fill: OrderFill) -> list[tuple[Decimal, str]]:
    """Every fee of a fill as (amount, currency): its ``fees`` list, or its one fee."""
    if fill.fees:
        return [(Decimal(str(item["amount"])), str(item["currency"])) for item in fill.fees]
    return [(fill.fee, fill.fee_currency)]


def _apply_net(order: Order, fill: OrderFill, portion: Portion, changeset: ChangeSet, actor: str) -> Position | None:
    """A one-way account's fill: reduce the opposite position first, open this side with the rest."""
    opened_side = PositionSide.LONG if OrderSide(order.side) == OrderSide.BUY else PositionSide.SHORT
    reduced_side = PositionSide.SHORT if opened_side == PositionSide.LONG else PositionSide.LONG
    opposite = _locked_open_position(order, reduced_side, by_key=True)
    reduce_qty = min(portion.quantity, opposite.size) if opposite is not None else ZERO
    rest = ZERO if order.reduce_only else portion.quantity - reduce_qty
    reduce_fee = quantize(portion.fee * reduce_qty / portion.quantity)
    touched = None
    if reduce_qty > 0:
        touched = _reduce(order, fill, reduced_side, portion.share(reduce_qty, reduce_fee), changeset, actor)
    if rest > 0:
        touched = _increase(order, opened_side, portion.share(rest, portion.fee - reduce_fee), changeset, actor)
    if touched is None:
        logger.warning("order %s: fill %s changed no position", order.pk, fill.trade_id)
    return touched


def _increase(order: Order, side: PositionSide, portion: Portion, changeset: ChangeSet, actor: str) -> Position:
    # A first attempt inserts a new position without looking for one: the unique index of open
    # positions settles a race, and the retry (not optimistic) looks it up and adds to it.
    by_key = not (changeset.optimistic and order.role == OrderRole.ENTRY)
    position = _locked_open_position(order, side, by_key=by_key)
    if position is None:
        position = _new_position(order, portion, side)
        changeset.insert(position, events.position_opened(position, actor, order_id=order.pk, **_event_values(portion)))
        return _touched(order, position, "position.opened", changeset)
    effect = pnl.apply_fill(
        _state(position), side=order.side, qty=portion.quantity, price=portion.price, fee=portion.fee
    )
    _store(position, effect.state, portion)
    _take_entry_parameters(position, order, adding=True)
    changeset.update(position)
    changeset.insert(events.position_increased(position, actor, order_id=order.pk, **_event_values(portion)))
    return _touched(order, position, "position.updated", changeset)


def _event_values(portion: Portion) -> dict[str, Any]:
    return {"qty": portion.quantity, "price": portion.price}


def _touched(order: Order, position: Position, event: str, changeset: ChangeSet) -> Position:
    order.position = position
    changeset.project(projection.change(position, event))
    return position


def _new_position(order: Order, portion: Portion, side: PositionSide) -> Position:
    position = Position(
        id=order.opens_position_id or uuid.uuid4(),
        user_id=order.user_id,
        exchange=order.exchange,
        symbol=order.symbol,
        side=side,
        size=portion.quantity,
        entry_price=quantize(portion.price),
        entry_price_precise=portion.price,
        current_price=portion.price,
        fees=portion.fee,
        other_fees={currency: plain(amount) for currency, amount in portion.other_fees.items()},
        grid_level=order.grid_level,
        contract_size=order.contract_size,
        created_at=portion.filled_at,
        updated_at=timezone.now(),
    )
    _take_entry_parameters(position, order)
    return position


def _take_entry_parameters(position: Position, order: Order, *, adding: bool = False) -> None:
    """The entry's parameters onto the position (``metadata["entry_order_id"]`` names the order
    that opened it, also after adds). An add leaves the leverage alone: an open
    position's leverage changes only once the exchange accepted it (``positions.lifecycle``
    records it then), never from an order's, which may be older than the exchange's setting."""
    if not adding:
        position.leverage = order.leverage or position.leverage or 1
    position.margin_mode = order.margin_mode or position.margin_mode
    first_entry = (position.metadata or {}).get("entry_order_id") if adding else None
    position.metadata = {**(position.metadata or {}), **order.metadata, "entry_order_id": first_entry or str(order.pk)}
    if order.attached_stop_loss_price is not None:
        position.stop_loss_price = order.attached_stop_loss_price
    if order.attached_take_profit_price is not None:
        position.take_profit_price = order.attached_take_profit_price
    mark = position.current_price or position.entry_price
    position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)


def _reduce(
    order: Order, fill: OrderFill, side: PositionSide, portion: Portion, changeset: ChangeSet, actor: str
) -> Position | None:
    position = _locked_open_position(order, side, by_key=True)
    if position is None:
        logger.warning("order %s: reducing fill %s found no open %s position", order.pk, fill.trade_id, side.value)
        return None
    qty = min(portion.quantity, position.size)
    effect = pnl.apply_fill(_state(position), side=order.side, qty=qty, price=portion.price, fee=portion.fee)
    fill.realized_pnl += effect.realized_delta
    if effect.state.size > 0:
        _store(position, effect.state, portion)
    else:
        _close(position, effect.state, order, portion)
    changeset.update(position)
    realized = effect.realized_delta
    changeset.insert(
        events.position_reduced(position, actor, order_id=order.pk, qty=qty, price=portion.price, realized=realized)
    )
    return _touched(
        order, position, "position.updated" if position.status == PositionStatus.OPEN else "position.closed", changeset
    )


def _close(position: Position, state: pnl.PositionState, order: Order, portion: Portion) -> None:
    # A closed position keeps its last size (never 0); the fills hold the history.
    _store(position, replace(state, size=position.size), portion)
    role = OrderRole(order.role)
    position.status = PositionStatus.LIQUIDATED if role == OrderRole.LIQUIDATION else PositionStatus.CLOSED
    position.closed_at = portion.filled_at
    position.unrealized_pnl = ZERO
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


def _store(position: Position, state: pnl.PositionState, portion: Portion) -> None:
    position.size = state.size
    position.entry_price_precise = state.entry_price
    position.entry_price = pnl.quantize_entry(state.entry_price)
    position.realized_pnl = state.realized_pnl
    position.fees = quantize(state.fees)
    if portion.other_fees:
        kept = {currency: Decimal(str(amount)) for currency, amount in (position.other_fees or {}).items()}
        merged = pnl.merge_fees(kept, portion.other_fees)
        position.other_fees = {currency: plain(amount) for currency, amount in merged.items()}
    position.exit_qty = state.exit_qty
    if state.exit_qty > 0:
        position.exit_price_precise = quantize_precise(state.exit_notional / state.exit_qty)
        position.exit_price = state.exit_price
    mark = position.current_price or position.entry_price
    position.unrealized_pnl = pnl.unrealized(position.side, position.size, position.entry_price, mark)


def _locked_open_position(order: Order, side: PositionSide, *, by_key: bool) -> Position | None:
    """The open position of ``side`` the order's fill applies to, locked for this transaction.

    The order's position when it is in hand (locked with the order, or touched by an earlier fill
    of the same report); else the order's linked position; else, with ``by_key``, the open one of
    the order's key.
    """
    cached = order.position if Order.position.is_cached(order) else None  # type: ignore[attr-defined]
    if cached is not None and cached.status == PositionStatus.OPEN and cached.side == side:
        return cached
    if cached is None and order.position_id is not None:
        where = {"pk": order.position_id, "status": PositionStatus.OPEN, "side": side}
        linked = db.select(Position, where=where, lock=True)
        if linked:
            return linked[0]
    if not by_key:
        return None
    key = {"user_id": order.user_id, "exchange": order.exchange, "symbol": order.symbol, "side": side,
           "grid_level": order.grid_level, "status": PositionStatus.OPEN}  # fmt: skip
    found = db.select(Position, where=key, lock=True, limit=1)
    return found[0] if found else None
