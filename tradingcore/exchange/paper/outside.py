"""Acting "on the exchange" directly: test and demo controls of the paper exchange.

A real account changes behind the service's back: its owner trades on the exchange's website, the
exchange loses track of an order, the risk engine liquidates a position. These functions do the same
to a paper account, so tests and demos can show how the service copes. The service itself never calls
them.

- ``buy`` / ``sell``: a market order placed directly on the exchange (a client id the service never
  issued), filled at the mark like any paper market order.
- ``forget``: the exchange no longer finds an order: every order lookup (fetch, cancel, open orders,
  trades by client id) answers "not found"; its fills stay listed among the account's trades unless
  ``keep_trades`` is false. A live order stops trading (it ends cancelled, unseen).
- ``liquidate``: the exchange closes a position by force at the mark (or a given price) with a
  ``liquidation`` order of its own, paying the taker fee; the account's live orders that reduce that
  position are cancelled. Its fills are listed as liquidation trades unless ``list_trades`` is false.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db import transaction

from tradingcore.decimals import storable, to_decimal
from tradingcore.enums import Exchange, Liquidity, OrderSide, OrderStatus, OrderType, PositionMode, PositionSide
from tradingcore.exceptions import ExchangeOrderNotFound, InvalidInput
from tradingcore.exchange.base import ExchangeOrder, MarketInfo, OrderRequest
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.paper import engine
from tradingcore.exchange.paper.describe import describe_order
from tradingcore.exchange.paper.gateway import PaperGateway, order_number
from tradingcore.exchange.paper.placement import mark_missing
from tradingcore.exchange.paper.positions import Positions, is_reducing, reduced_side
from tradingcore.models import PaperFill, PaperOrder, PaperPosition


def buy(
    exchange: Exchange | str, user_id: str, symbol: str, quantity: Any, *, position_side: PositionSide | None = None
) -> ExchangeOrder:
    """A market buy of ``quantity`` (base currency) made directly on the exchange; see ``sell``."""
    return _trade(OrderSide.BUY, exchange, user_id, symbol, quantity, position_side)


def sell(
    exchange: Exchange | str, user_id: str, symbol: str, quantity: Any, *, position_side: PositionSide | None = None
) -> ExchangeOrder:
    """A market sell of ``quantity`` (base currency) made directly on the exchange, outside the service.

    Filled at the mark like any paper market order, under a client id the service never issued
    (``outside-...``). ``position_side``: in a hedge account the side it trades (a sell with ``long``
    reduces the long); None nets, as every order of a one-way account does. Raises what placing
    raises (``InvalidOrder``, ``PaperMarkMissing``, ``BadSymbol``).
    """
    return _trade(OrderSide.SELL, exchange, user_id, symbol, quantity, position_side)


def _trade(
    side: OrderSide, exchange: Exchange | str, user_id: str, symbol: str, quantity: Any, position_side: Any
) -> ExchangeOrder:
    request = OrderRequest(
        symbol=symbol,
        side=side,
        order_type=OrderType.MARKET,
        quantity=to_decimal(quantity, field="quantity"),
        client_order_id=f"outside-{uuid.uuid4().hex[:24]}",
        position_side=PositionSide.parse_optional(position_side, field="position_side"),
    )
    return PaperGateway(exchange, user_id).place_order(request)


def forget(exchange: Exchange | str, exchange_order_id: str, *, keep_trades: bool = True) -> None:
    """The exchange forgets the order ``exchange_order_id`` (``paper-<id>``): from now on no order
    lookup finds it, and a live one stops trading. Its fills stay listed among the account's trades
    (``fetch_trades``, ``fetch_order_trades`` by exchange id) unless ``keep_trades`` is false. The
    positions it moved stay as they are. Raises ``ExchangeOrderNotFound`` for an unknown order."""
    venue = Exchange.parse(exchange, field="exchange")
    number = order_number(exchange_order_id)
    with transaction.atomic():
        orders = PaperOrder.objects.select_for_update().filter(exchange=venue.value)
        order = orders.filter(pk=number).first() if number is not None else None
        if order is None:
            raise ExchangeOrderNotFound(f"no paper order {exchange_order_id!r} on {venue.value}")
        if order.is_live:
            engine.end(order, OrderStatus.CANCELLED, "forgotten by the exchange")
        order.forgotten = PaperOrder.Forgotten.ORDER if keep_trades else PaperOrder.Forgotten.ORDER_AND_TRADES
        order.save(update_fields=["forgotten"])


def liquidate(
    exchange: Exchange | str,
    user_id: str,
    symbol: str,
    side: PositionSide | str | None = None,
    *,
    price: Any = None,
    list_trades: bool = True,
) -> ExchangeOrder:
    """The exchange liquidates ``user_id``'s position on ``symbol`` (``side``; None: the only open
    one) at ``price`` (default: the mark) and returns its liquidation order, filled.

    The whole position is closed by a market order of the exchange's own (category ``liquidation``,
    client id ``liquidation-...``) paying the taker fee; the account's live orders that reduce that
    position are cancelled. Its fill is a liquidation trade of the account, listed unless
    ``list_trades`` is false. Raises ``InvalidInput`` when there is no such open position (or two,
    and no ``side``), ``PaperMarkMissing`` without a price or mark.
    """
    venue = Exchange.parse(exchange, field="exchange")
    market = get_market(venue, symbol)
    one_way = PaperGateway(venue, user_id).position_mode is PositionMode.ONE_WAY
    with transaction.atomic():
        book = engine.lock_book(venue, market.symbol)
        position = _open_position(user_id, market, PositionSide.parse_optional(side, field="side"))
        fill_price = book.price if price is None else storable(price, field="price", positive=True)
        if fill_price is None:
            raise mark_missing(market)
        order = _liquidation_order(user_id, market, position, one_way=one_way, listed=list_trades)
        fill = _fill_liquidation(order, market, fill_price)
        _cancel_reducing_orders(user_id, market, PositionSide(position.side))
    return describe_order(order, [fill])


def _open_position(user_id: str, market: MarketInfo, side: PositionSide | None) -> PaperPosition:
    positions = PaperPosition.objects.select_for_update().filter(
        user_id=user_id, exchange=market.exchange.value, symbol=market.symbol, size__gt=0
    )
    if side is not None:
        positions = positions.filter(side=side.value)
    found = list(positions)
    if len(found) != 1:
        which = side.value if side is not None else "open"
        raise InvalidInput(
            f"user {user_id!r} has {len(found)} {which} positions on {market.exchange.value} {market.symbol}; "
            "name the side of the one to liquidate",
            details={"side": [f"{len(found)} {which} positions"]},
        )
    return found[0]


def _liquidation_order(
    user_id: str, market: MarketInfo, position: PaperPosition, *, one_way: bool, listed: bool
) -> PaperOrder:
    side = PositionSide(position.side)
    return PaperOrder(
        user_id=user_id,
        exchange=market.exchange.value,
        symbol=market.symbol,
        client_order_id=f"liquidation-{uuid.uuid4().hex[:24]}",
        side=side.exit_order_side.value,
        order_type=OrderType.MARKET.value,
        quantity=position.size,
        contracts=position.size / market.contract_size,
        reduce_only=True,
        position_side="" if one_way else side.value,
        category=PaperOrder.Category.LIQUIDATION,
        forgotten=PaperOrder.Forgotten.NO if listed else PaperOrder.Forgotten.ORDER_AND_TRADES,
        status=OrderStatus.OPEN.value,
    )


def _fill_liquidation(order: PaperOrder, market: MarketInfo, price: Decimal) -> PaperFill:
    """Fill the whole liquidation order at ``price`` as taker, closing its position; saves everything."""
    positions = Positions.lock(order)
    fill = engine.new_fill(order, market, order.quantity, price, Liquidity.TAKER)
    positions.apply(order.quantity, price)
    order.save()
    fill.save()
    positions.save()
    return fill


def _cancel_reducing_orders(user_id: str, market: MarketInfo, side: PositionSide) -> None:
    live = PaperOrder.objects.select_for_update().filter(
        user_id=user_id, exchange=market.exchange.value, symbol=market.symbol, status__in=engine.LIVE_STATUSES
    )
    for order in live:
        if is_reducing(order) and reduced_side(order) is side:
            engine.end(order, OrderStatus.CANCELLED, "the position was liquidated")
