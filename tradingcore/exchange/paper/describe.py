"""Paper exchange rows as the gateway DTOs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tradingcore.decimals import quantize
from tradingcore.enums import (
    Liquidity,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from tradingcore.exchange.base import ExchangeFill, ExchangeOrder, ExchangePosition, Fee, MarketInfo
from tradingcore.models import PaperFill, PaperLeverage, PaperOrder, PaperPosition


def _fees(amount: Decimal, currency: str) -> tuple[Fee, ...]:
    """The paper exchange charges one currency (the settlement one); a maker rebate is negative."""
    return (Fee(amount, currency),) if amount != 0 else ()


def describe_fill(fill: PaperFill, order: PaperOrder) -> ExchangeFill:
    """One fill of ``order`` as the gateway reports trades: whose order, which side, and whether the
    exchange placed it to liquidate a position. ``order`` is the fill's order (passed so that no
    query is needed for it)."""
    return ExchangeFill(
        trade_id=fill.trade_id,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        liquidity=Liquidity(fill.liquidity),
        timestamp=fill.created_at,
        fees=_fees(fill.fee, fill.fee_currency),
        exchange_order_id=order.exchange_order_id,
        client_order_id=order.client_order_id,
        side=OrderSide(order.side),
        position_side=PositionSide.parse_optional(order.position_side),
        liquidation=order.category == PaperOrder.Category.LIQUIDATION,
    )


def describe_order(order: PaperOrder, fills: Sequence[PaperFill] | None = None) -> ExchangeOrder:
    """The order's current state with every fill, oldest first.

    ``fills``: all the order's fills when the caller holds them (an order placed by this call);
    None reads them from the database (one query).
    """
    if fills is None:
        fills = list(PaperFill.objects.filter(order=order).order_by("id"))
    filled = order.filled_qty
    return ExchangeOrder(
        exchange_order_id=order.exchange_order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=OrderSide(order.side),
        order_type=OrderType(order.order_type),
        status=OrderStatus(order.status),
        quantity=order.quantity,
        filled_qty=filled,
        avg_fill_price=quantize(order.filled_notional / filled) if filled > 0 else None,
        price=order.price,
        trigger_price=order.trigger_price,
        reduce_only=order.reduce_only,
        fee=order.fee,
        fee_currency=order.fee_currency,
        fills=tuple(describe_fill(fill, order) for fill in fills),
        timestamp=order.created_at,
        reject_reason=order.reject_reason,
        post_only=order.post_only,
        time_in_force=TimeInForce(order.time_in_force),
        position_side=PositionSide.parse_optional(order.position_side),
        fees=_fees(order.fee, order.fee_currency),
    )


def describe_position(
    position: PaperPosition, market: MarketInfo, mark: Decimal | None, leverage: PaperLeverage | None
) -> ExchangePosition:
    """A paper position valued at ``mark`` (unrealized PnL is None without a mark)."""
    side = PositionSide(position.side)
    entry = quantize(position.entry_price)
    return ExchangePosition(
        symbol=position.symbol,
        side=side,
        size=position.size,
        contracts=position.size / market.contract_size,
        entry_price=entry,
        mark_price=mark,
        leverage=leverage.leverage if leverage else None,
        unrealized_pnl=quantize(side.direction * position.size * (mark - position.entry_price)) if mark else None,
        margin_mode=MarginMode(leverage.margin_mode) if leverage else MarginMode.CROSS,
    )
