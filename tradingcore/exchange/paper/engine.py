"""The matching core of the paper exchange: runs orders against the mark, records fills, keeps
paper positions.

Every function here expects to run inside one ``transaction.atomic()`` block whose caller holds
the market's lock (``lock_book``) and has locked the orders it passes in (``select_for_update``),
so one resting order is never matched by two processes. Prices and quantities are Decimals in base
currency; fills are whole multiples of the instrument's amount step.

Execution rules:

- a taker fill happens at the mark, moved against the taker by ``TRADING_PAPER_SLIPPAGE_BPS`` and
  never beyond the order's limit price; it pays ``TRADING_PAPER_TAKER_FEE``;
- a resting limit that the mark crosses fills at its own limit price as maker
  (``TRADING_PAPER_MAKER_FEE``);
- a reducing order (``reduce_only``, or a hedge-mode order closing its ``position_side``) never
  fills more than the position it reduces; once that position is flat the rest is cancelled;
- IOC and FOK apply when the order first reaches the book (placement, or the trigger for a
  stop-limit): IOC expires what did not fill at once, FOK fills entirely or expires untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from tradingcore import db
from tradingcore.decimals import ZERO, quantize, quantize_precise, to_decimal
from tradingcore.enums import Exchange, Liquidity, OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from tradingcore.exchange.base import MarketInfo
from tradingcore.exchange.paper.positions import Positions, is_reducing, reduced_side
from tradingcore.models import PaperFill, PaperMark, PaperOrder, PaperPosition

_BPS = Decimal(10_000)
LIVE_STATUSES = (OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value)
# Trigger-style orders that execute at market once triggered (stop_limit becomes a limit instead).
MARKET_EXECUTION_TYPES = frozenset(
    {OrderType.MARKET, OrderType.STOP_MARKET, OrderType.TRIGGER, OrderType.TAKE_PROFIT, OrderType.STOP_LOSS}
)


def _setting(name: str, default: str) -> Decimal:
    return to_decimal(getattr(settings, name, default), field=name)


def maker_fee_rate() -> Decimal:
    """``TRADING_PAPER_MAKER_FEE``: fee rate on maker fills (default 0.0002, 2 bp); a negative rate is
    a rebate, and the fill's fee is then negative."""
    return _setting("TRADING_PAPER_MAKER_FEE", "0.0002")


def taker_fee_rate() -> Decimal:
    """``TRADING_PAPER_TAKER_FEE``: fee rate on taker fills (default 0.0005, 5 bp)."""
    return _setting("TRADING_PAPER_TAKER_FEE", "0.0005")


def slippage_bps() -> Decimal:
    """``TRADING_PAPER_SLIPPAGE_BPS``: how far a taker fill lands from the mark (default 0)."""
    return _setting("TRADING_PAPER_SLIPPAGE_BPS", "0")


@dataclass
class Budget:
    """How much base quantity may still trade during one mark move; ``None`` means unlimited."""

    remaining: Decimal | None = None

    def cap(self, quantity: Decimal) -> Decimal:
        """``quantity`` limited to what the budget still allows."""
        return quantity if self.remaining is None else min(quantity, self.remaining)

    def spend(self, quantity: Decimal) -> None:
        """Count a fill of ``quantity`` against the budget."""
        if self.remaining is not None:
            self.remaining -= quantity


def lock_book(exchange: Exchange, symbol: str) -> PaperMark:
    """Lock the mark row of one market (creating it without a price if needed).

    Holding it serialises placement and matching on that market across processes. One statement
    when the row exists (the common case); a missing row is inserted (a concurrent insert of the
    same market is ignored, not an error) and then locked.
    """
    key = {"exchange": exchange.value, "symbol": symbol}
    books = db.select(PaperMark, where=key, lock=True)
    if not books:
        PaperMark.objects.bulk_create([PaperMark(exchange=exchange.value, symbol=symbol)], ignore_conflicts=True)
        books = db.select(PaperMark, where=key, lock=True)
    return books[0]


# ---------------------------------------------------------------------------------------------
# Order classification


def waits_for_trigger(order: PaperOrder) -> bool:
    """A trigger-style order whose trigger has not fired yet."""
    return OrderType(order.order_type).is_triggered and order.triggered_at is None


def executes_at_market(order: PaperOrder) -> bool:
    """Market orders and the trigger types that execute at market once triggered."""
    return OrderType(order.order_type) in MARKET_EXECUTION_TYPES


def rests_as_limit(order: PaperOrder) -> bool:
    """A limit order, or a stop-limit whose trigger already fired: it waits on the book at its price."""
    return not executes_at_market(order) and not waits_for_trigger(order)


def trigger_crossed(order: PaperOrder, mark: Decimal | None) -> bool:
    """Whether ``mark`` reached the trigger price from the side the order was placed on."""
    if mark is None or order.trigger_price is None:
        return False
    if order.trigger_direction == PaperOrder.TriggerDirection.UP:
        return mark >= order.trigger_price
    return mark <= order.trigger_price


def marketable(order: PaperOrder, mark: Decimal) -> bool:
    """Whether the order would trade against the mark as a taker right now."""
    if executes_at_market(order):
        return True
    assert order.price is not None  # limit and stop-limit orders are validated to carry a price
    return order.price >= mark if order.side == OrderSide.BUY else order.price <= mark


def crossed_by(order: PaperOrder, mark: Decimal) -> bool:
    """Whether a resting limit order is reached by the mark (it then fills as maker)."""
    assert order.price is not None
    return mark <= order.price if order.side == OrderSide.BUY else mark >= order.price


# ---------------------------------------------------------------------------------------------
# Positions


def position_size(user_id: str, exchange: str, symbol: str, side: PositionSide) -> Decimal:
    """The locked current size of one paper position in base currency (0 when there is none)."""
    position = (
        PaperPosition.objects.select_for_update()
        .filter(user_id=user_id, exchange=exchange, symbol=symbol, side=side.value)
        .first()
    )
    return position.size if position is not None else ZERO


def _apply_to_positions(order: PaperOrder, quantity: Decimal, price: Decimal) -> None:
    positions = Positions.lock(order)
    positions.apply(quantity, price)
    positions.save()


# ---------------------------------------------------------------------------------------------
# Execution


def _to_step(quantity: Decimal, market: MarketInfo) -> Decimal:
    step = market.contract_size * market.amount_step
    return (quantity / step).to_integral_value(ROUND_DOWN) * step


def fillable_qty(order: PaperOrder, market: MarketInfo, budget: Budget) -> Decimal:
    """What could fill now: the remainder, capped by the budget and (reducing) by the position."""
    quantity = budget.cap(order.remaining_qty)
    if is_reducing(order):
        quantity = min(quantity, position_size(order.user_id, order.exchange, order.symbol, reduced_side(order)))
    return max(_to_step(quantity, market), ZERO)


def end(order: PaperOrder, status: OrderStatus, reason: str = "") -> None:
    """Move a live order to a terminal status and save it."""
    order.status = status.value
    order.reject_reason = reason
    order.updated_at = timezone.now()
    order.save()


def new_fill(
    order: PaperOrder, market: MarketInfo, quantity: Decimal, price: Decimal, liquidity: Liquidity
) -> PaperFill:
    """An unsaved fill of ``quantity`` (base) at ``price`` paying the ``liquidity`` fee (settle
    currency), already counted on ``order`` in memory: filled quantity, notional, fee, status."""
    rate = maker_fee_rate() if liquidity is Liquidity.MAKER else taker_fee_rate()
    now = timezone.now()
    fee = quantize(quantity * price * rate)
    fill = PaperFill(
        order=order,
        price=price,
        quantity=quantize(quantity),  # as the row reads back, so a fill in hand describes like a stored one
        fee=fee,
        fee_currency=market.settle,
        liquidity=liquidity.value,
        created_at=now,
    )
    order.filled_qty += quantity
    order.filled_notional = quantize_precise(order.filled_notional + quantity * price)
    order.fee += fee
    order.fee_currency = market.settle
    order.status = (OrderStatus.FILLED if order.filled_qty >= order.quantity else OrderStatus.PARTIALLY_FILLED).value
    order.updated_at = now
    return fill


def _record_fill(
    order: PaperOrder, market: MarketInfo, quantity: Decimal, price: Decimal, liquidity: Liquidity
) -> PaperFill:
    fill = new_fill(order, market, quantity, price, liquidity)
    fill.save()
    _apply_to_positions(order, quantity, price)
    return fill


def execute(
    order: PaperOrder, market: MarketInfo, *, price: Decimal, liquidity: Liquidity, budget: Budget
) -> list[PaperFill]:
    """Fill what the order, the budget and (reducing) its position allow at ``price``; save the order."""
    quantity = fillable_qty(order, market, budget)
    fills = []
    if quantity > 0:
        fills.append(_record_fill(order, market, quantity, price, liquidity))
        budget.spend(quantity)
        order.save()
    if order.is_live and is_reducing(order):
        if position_size(order.user_id, order.exchange, order.symbol, reduced_side(order)) <= 0:
            end(order, OrderStatus.CANCELLED, "reduce-only order cancelled: no position left to reduce")
    return fills


def taker_price(order: PaperOrder, mark: Decimal) -> Decimal:
    """The mark moved against the taker by the configured slippage, bounded by a limit price."""
    slip = slippage_bps() / _BPS
    limit = None if executes_at_market(order) else order.price
    if order.side == OrderSide.BUY:
        price = quantize(mark * (1 + slip))
        return price if limit is None else min(price, limit)
    price = quantize(mark * (1 - slip))
    return price if limit is None else max(price, limit)


def go_live(order: PaperOrder, market: MarketInfo, mark: Decimal | None, budget: Budget) -> list[PaperFill]:
    """The order reaches the book: take what is marketable at the mark, then apply its time in force."""
    tif = TimeInForce(order.time_in_force)
    fills: list[PaperFill] = []
    if mark is not None and marketable(order, mark):
        if tif is TimeInForce.FOK and fillable_qty(order, market, budget) < order.remaining_qty:
            end(order, OrderStatus.EXPIRED, "FOK: the whole quantity could not fill at once")
            return fills
        fills = execute(order, market, price=taker_price(order, mark), liquidity=Liquidity.TAKER, budget=budget)
    if order.is_live and tif is not TimeInForce.GTC:
        end(order, OrderStatus.EXPIRED, f"{tif.value}: the unfilled remainder expired")
    return fills


def activate(order: PaperOrder, market: MarketInfo, mark: Decimal, budget: Budget) -> list[PaperFill]:
    """The trigger fired: the order goes live as a market order (or, stop-limit, as a limit)."""
    order.triggered_at = timezone.now()
    order.updated_at = order.triggered_at
    order.save()
    return go_live(order, market, mark, budget)


def accept(order: PaperOrder, market: MarketInfo, mark: Decimal | None) -> list[PaperFill]:
    """Run a just-placed order against the current mark with unlimited liquidity."""
    if waits_for_trigger(order):
        if mark is None or not trigger_crossed(order, mark):
            return []
        return activate(order, market, mark, Budget())
    return go_live(order, market, mark, Budget())


def fills_in_full_at_once(order: PaperOrder, market: MarketInfo) -> bool:
    """A market order whose quantity lies on the amount step: placed with unlimited liquidity, it
    fills in full at once (a reducing one provided its position covers it, which placement checks)."""
    remaining = order.remaining_qty
    return OrderType(order.order_type) is OrderType.MARKET and _to_step(remaining, market) == remaining


def fill_in_full(order: PaperOrder, market: MarketInfo, mark: Decimal, positions: Positions) -> PaperFill:
    """What ``accept`` makes of an order for which ``fills_in_full_at_once`` holds, in memory only.

    One taker fill of the whole quantity at the mark moved by the slippage; the order ends
    ``filled`` and ``positions`` (locked by the caller) take the fill. The caller then saves the
    order, the fill and the positions, in that order.
    """
    quantity = order.remaining_qty
    price = taker_price(order, mark)
    fill = new_fill(order, market, quantity, price, Liquidity.TAKER)
    positions.apply(quantity, price)
    return fill


def match(market: MarketInfo, mark: Decimal, budget: Budget) -> list[PaperFill]:
    """Match the market's book after the mark moved to ``mark``.

    First, in time priority, the orders that trade at market: triggers the mark crossed fire now
    and earlier-triggered ones continue (a budget may have left them partly filled); a stop-limit
    whose trigger fires becomes a limit and takes if marketable. Then the limits that were resting
    before this move and that the mark crossed fill at their price as makers, best price first.
    """
    live = list(
        PaperOrder.objects.select_for_update()
        .filter(exchange=market.exchange.value, symbol=market.symbol, status__in=LIVE_STATUSES)
        .order_by("id")
    )
    resting = [order for order in live if rests_as_limit(order) and crossed_by(order, mark)]
    fills: list[PaperFill] = []
    for order in live:
        if waits_for_trigger(order):
            if trigger_crossed(order, mark):
                fills += activate(order, market, mark, budget)
        elif executes_at_market(order):
            fills += execute(order, market, price=taker_price(order, mark), liquidity=Liquidity.TAKER, budget=budget)
    resting.sort(key=_price_priority)
    for order in resting:
        if order.is_live:
            assert order.price is not None
            fills += execute(order, market, price=order.price, liquidity=Liquidity.MAKER, budget=budget)
    return fills


def _price_priority(order: PaperOrder) -> Any:
    assert order.price is not None
    return (-order.price if order.side == OrderSide.BUY else order.price, order.pk)
