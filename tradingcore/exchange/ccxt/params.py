"""What the gateway sends: an ``OrderRequest`` as ccxt's (amount, type, price, params), and the
params of leverage requests.

ccxt's unified params carry the exchange specifics: ``clientOrderId`` (OKX ``clOrdId``, and
``algoClOrdId`` on algo orders), ``marginMode`` (OKX ``tdMode`` / ``mgnMode``), ``triggerPrice`` /
``stopLossPrice`` / ``takeProfitPrice`` (OKX algo orders ``trigger`` and ``conditional``),
``positionSide`` (OKX ``posSide``) in hedge mode and ``reduceOnly`` in one-way mode, ``postOnly``
and ``timeInForce``. Nothing here sends a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradingcore.decimals import plain
from tradingcore.enums import Exchange, MarginMode, OrderSide, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import InvalidOrder
from tradingcore.exchange.base import MarketInfo, OrderRequest
from tradingcore.exchange.ccxt.client import AccountClient

# Orders that protect (close) a position rather than open one.
PROTECTIVE_TYPES = frozenset({OrderType.STOP_LOSS, OrderType.TAKE_PROFIT})
_TRIGGER_PRICE_PARAM = {
    OrderType.STOP_MARKET: "triggerPrice",
    OrderType.STOP_LIMIT: "triggerPrice",
    OrderType.TRIGGER: "triggerPrice",
    OrderType.STOP_LOSS: "stopLossPrice",
    OrderType.TAKE_PROFIT: "takeProfitPrice",
}


@dataclass(frozen=True)
class Placement:
    """One order on its way out: the request, its market and type, and the contracts sent
    (``sendable_contracts``: converted from base currency at most once)."""

    request: OrderRequest
    market: MarketInfo
    order_type: OrderType
    contracts: Decimal

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id


def sendable_contracts(client: AccountClient, market: MarketInfo, request: OrderRequest) -> Decimal:
    """The order size in contracts exactly as it will be sent.

    That is ``request.contracts_on(market)``: the request's ``contracts`` when the caller gave them,
    else its base ``quantity`` converted once (rounded down to the amount step), then formatted by
    ccxt's ``amount_to_precision``. No request is sent. Raises ``InvalidOrder`` when the size is
    zero or below the market minimum, and when given ``contracts`` are not a multiple of the
    amount step (they are sent as given or not at all).
    """
    contracts = request.contracts_on(market)
    _check_minimum(market, contracts)
    formatted = client.call("format amount", client.api.amount_to_precision, market.unified_symbol, plain(contracts))
    sent = Decimal(str(formatted))
    _check_minimum(market, sent)
    if request.contracts is not None and sent != contracts:
        step = plain(market.amount_step)
        raise InvalidOrder(
            f"{plain(contracts)} contracts is not a multiple of the amount step {step} on "
            f"{market.exchange.value} {market.symbol}",
            details={"contracts": [f"must be a multiple of {step}"]},
        )
    return sent


def _check_minimum(market: MarketInfo, contracts: Decimal) -> None:
    if contracts <= 0 or contracts < market.min_amount:
        raise InvalidOrder(
            f"{plain(market.to_base(contracts))} {market.base} ({plain(contracts)} contracts) is below the minimum "
            f"order size on {market.exchange.value} {market.symbol}",
            details={"quantity": [f"minimum is {market.to_base(market.min_amount)}"]},
        )


def order_params(placement: Placement, *, hedge_mode: bool) -> tuple[str, str | None, dict[str, Any]]:
    """ccxt's (type, price, params) for the placement: type ``market`` or ``limit`` (of the order
    a trigger places), the limit price as plain text (None at market), and the params above.

    Raises ``InvalidOrder`` when a limit price or a trigger price the type needs is missing.
    """
    request = placement.request
    price, trigger = _prices(request, placement.order_type)
    params: dict[str, Any] = {"clientOrderId": request.client_order_id}
    if placement.market.exchange is Exchange.OKX:
        params["marginMode"] = MarginMode.parse(request.margin_mode).value  # OKX tdMode
    params.update(_trigger_params(placement, trigger))
    params.update(_side_params(placement, hedge_mode=hedge_mode))
    if placement.order_type is OrderType.LIMIT:
        params.update(_limit_params(request))
    return ("market" if price is None else "limit"), price, params


def _prices(request: OrderRequest, order_type: OrderType) -> tuple[str | None, str | None]:
    """(limit price, trigger price) as plain text; the limit price is None for market types."""
    price = None if request.price is None else plain(Decimal(str(request.price)))
    trigger = None if request.trigger_price is None else plain(Decimal(str(request.trigger_price)))
    if order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and price is None:
        raise InvalidOrder(f"a {order_type.value} order needs a price", details={"price": ["required"]})
    if order_type.is_triggered and trigger is None:
        raise InvalidOrder(f"a {order_type.value} order needs a trigger price", details={"trigger_price": ["required"]})
    if order_type in (OrderType.MARKET, OrderType.STOP_MARKET):
        return None, trigger
    return price, trigger


def _trigger_params(placement: Placement, trigger: str | None) -> dict[str, Any]:
    name = _TRIGGER_PRICE_PARAM.get(placement.order_type)
    if name is None:
        return {}
    params: dict[str, Any] = {name: trigger}
    if placement.market.exchange is Exchange.OKX:
        params["algoClOrdId"] = placement.client_order_id  # OKX's name for it on algo orders
    return params


def _side_params(placement: Placement, *, hedge_mode: bool) -> dict[str, Any]:
    """Hedge mode closes by position side; one-way mode by ``reduceOnly``."""
    position_side = _position_side(placement, hedge_mode=hedge_mode)
    if position_side is not None:
        return {"positionSide": position_side}
    return {"reduceOnly": True} if placement.request.reduce_only else {}


def _position_side(placement: Placement, *, hedge_mode: bool) -> str | None:
    """The hedge-mode position side the order opens or closes; None in one-way mode and on spot."""
    request = placement.request
    if not (hedge_mode and placement.market.contract):
        return None
    if request.position_side is not None:
        side = PositionSide.parse(request.position_side)
    else:
        buying = OrderSide.parse(request.side) is OrderSide.BUY
        closing = request.reduce_only or placement.order_type in PROTECTIVE_TYPES
        side = PositionSide.LONG if buying != closing else PositionSide.SHORT
    return side.value.upper() if placement.market.exchange is Exchange.BINANCE else side.value


def _limit_params(request: OrderRequest) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if request.post_only:
        params["postOnly"] = True
    time_in_force = TimeInForce.parse(request.time_in_force)
    if time_in_force is not TimeInForce.GTC:
        params["timeInForce"] = time_in_force.value
    return params


def leverage_params(
    exchange: Exchange, margin_mode: MarginMode, side: PositionSide | None, *, hedge_mode: bool
) -> list[dict[str, Any]]:
    """The params of each ``set_leverage`` request, one dict a request.

    Off OKX: one request, no params (the margin mode is not changed). On OKX: ``mgnMode`` and, in
    hedge mode, ``posSide`` for ``side``; isolated margin in hedge mode without a side sets both
    sides (two requests).
    """
    if exchange is not Exchange.OKX:
        return [{}]
    mode = MarginMode.parse(margin_mode)
    sides: list[PositionSide | None] = [None]
    if hedge_mode and side is not None:
        sides = [PositionSide.parse(side)]
    elif hedge_mode and mode is MarginMode.ISOLATED:
        sides = [PositionSide.LONG, PositionSide.SHORT]
    return [{"marginMode": mode.value, **({"posSide": one.value} if one else {})} for one in sides]
