"""Keeping a position's stop-loss and take-profit orders in line with the position.

Protective orders are reduce-only trigger orders (``stop_loss`` / ``take_profit``) linked to the
position and carrying its side and margin mode. ``sync_protective_orders`` runs outside any
transaction, under the position's advisory lock (it calls the exchange): an open position gets
one order per protective price, sized to the position; others are cancelled, replacements placed
before what they replace is cancelled, so the position is never unprotected on the way; a closed
position loses all of them. It runs after every fill that changed a protected position
(``after_fills``, registered with ``orders.hooks``) and after every stop-loss / take-profit change.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from orders import cancellation, placement
from orders import selectors as order_selectors
from orders.models import Order
from orders.requests import OrderSpec
from positions.models import Position
from tradingcore import locks
from tradingcore.enums import Exchange, MarginMode, OrderRole, OrderType, PositionSide, PositionStatus
from tradingcore.exceptions import ExchangeError
from tradingcore.exchange import get_gateway

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "system:position_manager"
PROTECTIVE_ORDER_TYPES = {OrderRole.STOP_LOSS: OrderType.STOP_LOSS, OrderRole.TAKE_PROFIT: OrderType.TAKE_PROFIT}


def after_fills(order: Order, actor: str) -> None:
    """After the commit of fills: re-sync the touched position's protection when it has any."""
    if not Order.position.is_cached(order) or order.position is None:  # type: ignore[attr-defined]
        return
    position: Position = order.position
    protected = position.stop_loss_price is not None or position.take_profit_price is not None
    if protected or OrderRole(order.role).is_protective:
        sync_protective_orders(position.pk, actor=actor)


def sync_protective_orders(position_id: Any, *, actor: str = SYSTEM_ACTOR) -> None:
    """Make the live stop-loss / take-profit orders match the position (outside any transaction).

    Exchange failures are logged and left for the next sync (the watcher re-runs it on every fill).
    """
    with locks.position_lock(position_id):
        _sync(Position.objects.get(pk=position_id), actor)


def _sync(position: Position, actor: str) -> None:
    live = order_selectors.live_orders_of_position(position.pk, roles=PROTECTIVE_ORDER_TYPES)
    desired = desired_protection(position)
    keep: set[OrderRole] = set()
    stale = []
    for order in live:
        role = OrderRole(order.role)
        matches = role in desired and order.trigger_price == desired[role] and order.quantity == position.size
        if matches and role not in keep:
            keep.add(role)
        else:
            stale.append(order)
    # Place the replacements before cancelling what they replace: never a moment unprotected.
    for role, trigger in desired.items():
        if role not in keep:
            _quietly(place_protective_order, position, role, trigger, actor)
    for order in stale:
        _quietly(cancellation.cancel_order, order_id=order.pk, actor=actor)


def desired_protection(position: Position) -> dict[OrderRole, Decimal]:
    """The protective orders an open position should have: role -> trigger price."""
    if position.status != PositionStatus.OPEN:
        return {}
    prices = {OrderRole.STOP_LOSS: position.stop_loss_price, OrderRole.TAKE_PROFIT: position.take_profit_price}
    return {role: price for role, price in prices.items() if price is not None}


def place_protective_order(position: Position, role: OrderRole, trigger: Decimal, actor: str) -> Order:
    """Place one reduce-only trigger order for the whole position, with its side and margin mode."""
    side = PositionSide(position.side)
    spec = OrderSpec(
        user_id=position.user_id, exchange=Exchange(position.exchange), symbol=position.symbol,
        side=side.exit_order_side, order_type=PROTECTIVE_ORDER_TYPES[role], quantity=position.size,
        trigger_price=trigger, reduce_only=True, grid_level=position.grid_level, role=role,
        position_side=side, margin_mode=MarginMode(position.margin_mode), position_id=position.pk,
    )  # fmt: skip
    gateway = get_gateway(position.user_id, position.exchange)
    return placement.place(spec, market=gateway.market(position.symbol), gateway=gateway, actor=actor)


def _quietly(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except ExchangeError as exc:
        logger.warning("protective order sync: %s", exc)
        return None
