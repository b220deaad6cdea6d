"""Placing and cancelling orders on the paper exchange.

Placement validates the request like a real exchange would, then, holding the market's lock,
stores the order and runs it against the current mark (``engine.accept``). A market order, the
common case, is filled in memory instead and stored in its final state with its fill (the same
outcome in fewer statements). Rejections raise and store nothing. A client order id is unique per
exchange: placing it again for the same order returns the existing order unchanged (idempotent
retries); for a different order it is refused. The unique constraint detects a taken id, so the
id is looked up only when a placement fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from tradingcore import db
from tradingcore.decimals import quantize, storable, to_decimal
from tradingcore.enums import MarginMode, OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import InvalidInput, InvalidOrder, OrderRejected
from tradingcore.exchange.base import MarketInfo, OrderRequest
from tradingcore.exchange.paper import engine
from tradingcore.exchange.paper.errors import OrderNotCancellable, PaperMarkMissing
from tradingcore.exchange.paper.positions import Positions, is_reducing, reduced_side
from tradingcore.models import PaperFill, PaperOrder

CLIENT_ORDER_ID_MAX_LENGTH = 64
_UP = PaperOrder.TriggerDirection.UP
_DOWN = PaperOrder.TriggerDirection.DOWN


def mark_missing(market: MarketInfo) -> PaperMarkMissing:
    """The error for a market that has no mark yet, telling how to set one."""
    exchange = market.exchange.value
    return PaperMarkMissing(
        f"the paper exchange has no mark price for {exchange} {market.symbol}; "
        f"set one with: manage.py set_paper_price {exchange} {market.symbol} PRICE",
        details={"symbol": market.symbol, "exchange": exchange},
    )


def _positive(value: Any, field: str) -> Decimal:
    """``value`` as a positive Decimal that fits numeric(20,8); ``InvalidOrder`` otherwise."""
    try:
        return storable(value, field=field, positive=True)
    except InvalidInput as error:
        raise InvalidOrder(error.message, details=error.details) from None


def _price(value: Any, field: str) -> Decimal | None:
    return None if value is None else _positive(value, field)


def _natural_direction(order_type: OrderType, side: OrderSide) -> str | None:
    """Which way the mark must move to fire a typed trigger order (``trigger`` has none)."""
    if order_type is OrderType.TRIGGER:
        return None
    rises = side is OrderSide.BUY  # a buy stop fires on a rise, a sell stop on a fall
    if order_type is OrderType.TAKE_PROFIT:
        rises = not rises
    return _UP if rises else _DOWN


def _contracts(market: MarketInfo, request: OrderRequest) -> Decimal:
    """The order's size in contracts: ``request.contracts`` as given when the caller computed it
    (``quantity`` is then not converted again), else ``quantity`` (base) converted once.

    Raises ``InvalidOrder`` like a real exchange for a size below the minimum, off the amount step
    or with more than 8 decimals.
    """
    if request.contracts is None:
        return market.to_contracts(to_decimal(request.quantity, field="quantity"))
    contracts = _positive(request.contracts, "contracts")
    if contracts < market.min_amount or contracts % market.amount_step != 0:
        raise InvalidOrder(
            f"{contracts} contracts is not a valid size on {market.exchange} {market.symbol}: at least "
            f"{market.min_amount}, in steps of {market.amount_step}",
            details={"contracts": [f"at least {market.min_amount}, in steps of {market.amount_step}"]},
        )
    return contracts


def build(user_id: str, market: MarketInfo, request: OrderRequest) -> PaperOrder:
    """An unsaved order for ``request``, sized in the instrument's contracts; ``InvalidOrder`` if
    its shape is wrong (quantity below the minimum, a missing price or trigger price, ...)."""
    order_type = OrderType.parse(request.order_type, field="order_type")
    side = OrderSide.parse(request.side, field="side")
    time_in_force = TimeInForce.parse(request.time_in_force, field="time_in_force")
    position_side = PositionSide.parse_optional(request.position_side, field="position_side")
    contracts = _contracts(market, request)
    if len(request.client_order_id) > CLIENT_ORDER_ID_MAX_LENGTH:
        raise InvalidOrder(
            f"client order id is longer than {CLIENT_ORDER_ID_MAX_LENGTH} characters",
            details={"client_order_id": [f"at most {CLIENT_ORDER_ID_MAX_LENGTH} characters"]},
        )
    takes_price = order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    price = _price(request.price, "price") if takes_price else None
    trigger_price = _price(request.trigger_price, "trigger_price") if order_type.is_triggered else None
    if takes_price and price is None:
        raise InvalidOrder(f"a {order_type.value} order needs a price", details={"price": ["required"]})
    if order_type.is_triggered and trigger_price is None:
        raise InvalidOrder(f"a {order_type.value} order needs a trigger_price", details={"trigger_price": ["required"]})
    if request.post_only and (order_type is not OrderType.LIMIT or time_in_force is not TimeInForce.GTC):
        raise InvalidOrder("post_only applies to GTC limit orders only", details={"post_only": ["limit GTC only"]})
    if request.reduce_only and position_side is not None and side is position_side.entry_order_side:
        raise InvalidOrder(
            f"a reduce-only {side.value} cannot reduce a {position_side.value} position",
            details={"reduce_only": ["side and position_side disagree"]},
        )
    return PaperOrder(
        user_id=user_id,
        exchange=market.exchange.value,
        symbol=market.symbol,
        client_order_id=request.client_order_id or uuid.uuid4().hex,
        side=side.value,
        order_type=order_type.value,
        time_in_force=time_in_force.value,
        quantity=quantize(market.to_base(contracts)),
        contracts=contracts,
        price=price,
        trigger_price=trigger_price,
        reduce_only=request.reduce_only,
        post_only=request.post_only,
        position_side=position_side.value if position_side else "",
        margin_mode=MarginMode.parse(request.margin_mode, field="margin_mode").value,
        status=OrderStatus.OPEN.value,
    )


def _check_against_book(order: PaperOrder, market: MarketInfo, mark: Decimal | None) -> None:
    """Refuse what the current mark makes impossible; set a trigger order's direction."""
    order_type = OrderType(order.order_type)
    if order_type is OrderType.MARKET and mark is None:
        raise mark_missing(market)
    if order.post_only and mark is not None and engine.marketable(order, mark):
        raise InvalidOrder(
            f"post-only {order.side} at {order.price} would take liquidity: the mark is {mark}",
            details={"post_only": ["the order would cross the book"]},
        )
    if order_type.is_triggered:
        order.trigger_direction = _trigger_direction(order, market, mark)


def _trigger_direction(order: PaperOrder, market: MarketInfo, mark: Decimal | None) -> str:
    trigger = order.trigger_price
    assert trigger is not None
    natural = _natural_direction(OrderType(order.order_type), OrderSide(order.side))
    if natural is None:  # a plain trigger fires when the mark reaches it from where it is now
        if mark is None:
            raise mark_missing(market)
        if trigger == mark:
            return _UP if order.side == OrderSide.BUY else _DOWN
        return _UP if trigger > mark else _DOWN
    if mark is not None and (mark >= trigger if natural == _UP else mark <= trigger):
        raise InvalidOrder(
            f"{order.side} {order.order_type} with trigger {trigger} would fire at once: the mark is {mark}",
            details={"trigger_price": ["on the wrong side of the mark"]},
        )
    return natural


def _check_reducible(order: PaperOrder, size_of: Callable[[PositionSide], Decimal]) -> None:
    """A reducing order that executes at placement may not exceed the position it reduces.

    ``size_of`` gives a position side's locked size (base); it is asked only for a reducing order.
    Trigger orders are checked when they fire (a stop-loss may be placed with its entry). Raises
    ``InvalidOrder``.
    """
    if OrderType(order.order_type).is_triggered or not is_reducing(order):
        return
    side = reduced_side(order)
    size = size_of(side)
    if size < order.quantity:
        raise InvalidOrder(
            f"reduce-only {order.side} of {order.quantity} would increase the position: "
            f"the {side.value} position on {order.symbol} is {size}",
            details={"reduce_only": [f"{side.value} position is {size}"]},
        )


def _same_order(existing: PaperOrder, candidate: PaperOrder) -> PaperOrder:
    same = (
        existing.user_id == candidate.user_id
        and existing.symbol == candidate.symbol
        and existing.side == candidate.side
        and existing.order_type == candidate.order_type
        and existing.contracts == candidate.contracts
    )
    if not same:
        raise InvalidOrder(
            f"client order id {candidate.client_order_id!r} is already used by another order on {candidate.exchange}",
            details={"client_order_id": ["already used"]},
        )
    return existing


def _existing(order: PaperOrder) -> PaperOrder | None:
    return PaperOrder.objects.filter(exchange=order.exchange, client_order_id=order.client_order_id).first()


@dataclass(frozen=True)
class Placed:
    """What ``place`` returns: the stored order and, when this call stored it, all its fills (None
    when the order comes from an earlier placement of the same client order id)."""

    order: PaperOrder
    fills: list[PaperFill] | None


def place(user_id: str, market: MarketInfo, request: OrderRequest) -> Placed:
    """Place ``request`` for ``user_id``: store it and execute what the mark allows at once.

    Returns the stored order (the existing one when the client order id was placed before for the
    same order). Raises ``InvalidOrder`` for what a real exchange would refuse and
    ``PaperMarkMissing`` when the order needs a mark that was never set.
    """
    order = build(user_id, market, request)
    try:
        with transaction.atomic():
            book = engine.lock_book(market.exchange, market.symbol)
            _check_against_book(order, market, book.price)
            fills = _store_and_execute(order, market, book.price)
    except (IntegrityError, OrderRejected):
        # The client order id is looked up only now, to keep the common placement lean: the insert
        # hit the unique constraint (a retry, possibly concurrent from another market), or a retry
        # was refused because its first placement changed the state (a reduce-only close whose
        # position it closed). A retry of the same order returns it; another order is refused.
        existing = _existing(order)
        if existing is None:
            raise
        return Placed(_same_order(existing, order), None)
    return Placed(order, fills)


def _store_and_execute(order: PaperOrder, market: MarketInfo, mark: Decimal | None) -> list[PaperFill]:
    """Store the order and run it against ``mark``; the caller holds the market's lock. Returns its
    fills. ``IntegrityError`` when its client order id is taken (nothing else was written)."""
    if mark is not None and engine.fills_in_full_at_once(order, market):
        return _fill_at_once(order, market, mark)
    _check_reducible(order, lambda side: engine.position_size(order.user_id, order.exchange, order.symbol, side))
    order.save()
    return engine.accept(order, market, mark)


def _fill_at_once(order: PaperOrder, market: MarketInfo, mark: Decimal) -> list[PaperFill]:
    """The common market order: computed in memory and stored in its final state. Four statements:
    read the positions, insert the order, insert its fill, upsert the positions (two statements
    when one position row is new and another one changes). ``InvalidOrder`` for a reduce-only
    order larger than its position."""
    positions = Positions.lock(order)
    _check_reducible(order, positions.size)
    fill = engine.fill_in_full(order, market, mark, positions)
    db.insert_rows([order])  # first: a taken client order id fails here, before anything else is written
    db.insert_rows([fill])
    positions.save()
    return [fill]


def cancel(order: PaperOrder) -> None:
    """Cancel a live, locked order; ``OrderNotCancellable`` if it already ended."""
    if not order.is_live:
        raise OrderNotCancellable(
            f"order {order.exchange_order_id} is already {order.status} and cannot be cancelled",
            details={"exchange_order_id": order.exchange_order_id, "status": order.status},
        )
    engine.end(order, OrderStatus.CANCELLED)
