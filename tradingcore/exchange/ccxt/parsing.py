"""ccxt's parsed answers as our DTOs: ``ExchangeOrder``, ``ExchangeFill``, ``ExchangePosition``, prices.

Contracts become base-currency quantities with the market's contract size; every number goes
through ``Decimal(str(x))`` (``values``). Order statuses, order types and fees are read here, OKX's
fields (``info``) included. Pure: no requests. A fired OKX algo order is read together with the
order it placed (its ``outcome``), which ``algo.triggered_outcome`` fetches.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradingcore.enums import Liquidity, MarginMode, OrderSide, OrderStatus, OrderType, PositionSide
from tradingcore.exceptions import InvalidInput
from tradingcore.exchange.base import ExchangeFill, ExchangeOrder, ExchangePosition, MarketInfo
from tradingcore.exchange.ccxt.values import datetime_from_ms, decimal_or_none, positive_or_none, tidy

logger = logging.getLogger(__name__)

_MARKET_TYPES = (OrderType.MARKET, OrderType.STOP_MARKET)


def exchange_order(
    raw: Mapping[str, Any],
    market: MarketInfo,
    *,
    outcome: Mapping[str, Any],
    is_okx: bool,
    order_type: OrderType | None = None,
    reduce_only: bool | None = None,
) -> ExchangeOrder:
    """Our DTO for a ccxt order; quantities in base currency.

    ``outcome`` is ``raw`` itself, or for a fired OKX algo order the order it placed (``{}`` while
    unknown): its fill and fees are the algo order's. ``order_type`` and ``reduce_only``, when
    given, are what we placed (OKX hedge mode reduces through ``posSide`` and reports
    ``reduceOnly`` false). ``fills`` lists the trades ccxt parsed with the order; OKX reports only
    aggregates (``accFillSz``, ``avgPx``, ``fee``), so there it is empty and ``filled_qty`` /
    ``avg_fill_price`` carry the fill.
    """
    amount = decimal_or_none(raw.get("amount")) or Decimal(0)
    filled = decimal_or_none(outcome.get("filled")) or Decimal(0)
    fee, fee_currency = fee_of(outcome)
    order_type = order_type or order_type_of(raw)
    return ExchangeOrder(
        exchange_order_id=str(raw.get("id") or ""),
        client_order_id=_client_order_id(raw),
        symbol=market.symbol,
        side=OrderSide.parse(raw.get("side"), field="side"),
        order_type=order_type,
        status=order_status(raw, outcome, filled=filled, amount=amount, is_okx=is_okx),
        quantity=tidy(market.to_base(amount)),
        filled_qty=tidy(market.to_base(filled)),
        avg_fill_price=positive_or_none(outcome.get("average")),
        price=None if order_type in _MARKET_TYPES else positive_or_none(raw.get("price")),
        trigger_price=_trigger_price(raw),
        reduce_only=bool(raw.get("reduceOnly")) if reduce_only is None else reduce_only,
        fee=fee,
        fee_currency=fee_currency,
        fills=tuple(fills_of(outcome, market)),
        timestamp=datetime_from_ms(raw.get("timestamp")),
        reject_reason=_reject_reason(raw),
    )


def _info(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The exchange's own fields of a ccxt structure."""
    return raw.get("info") or {}


def _client_order_id(raw: Mapping[str, Any]) -> str | None:
    info = _info(raw)
    return raw.get("clientOrderId") or info.get("algoClOrdId") or info.get("clOrdId") or None


def _trigger_price(raw: Mapping[str, Any]) -> Decimal | None:
    return (
        positive_or_none(raw.get("triggerPrice"))
        or positive_or_none(raw.get("stopLossPrice"))
        or positive_or_none(raw.get("takeProfitPrice"))
    )


def _reject_reason(raw: Mapping[str, Any]) -> str:
    if raw.get("status") != "rejected":
        return ""
    info = _info(raw)
    return str(info.get("sMsg") or info.get("failCode") or "")


def order_status(
    raw: Mapping[str, Any], outcome: Mapping[str, Any], *, filled: Decimal, amount: Decimal, is_okx: bool
) -> OrderStatus:
    """Our status of a ccxt order; ``filled`` and ``amount`` (contracts) settle ccxt's ambiguous
    words. A failed OKX algo order is rejected; a fired one has the status of the order it placed
    (open while that is unknown). A missing or unknown status is taken as open."""
    info = _info(raw)
    if is_okx and info.get("algoId") and info.get("state") == "order_failed":
        return OrderStatus.REJECTED
    if outcome is not raw:  # a fired algo order
        if not outcome.get("status"):
            return OrderStatus.OPEN
        return order_status(outcome, outcome, filled=filled, amount=amount, is_okx=is_okx)
    status = raw.get("status")
    if not status:
        return OrderStatus.OPEN  # acknowledged, no state reported yet
    try:
        return OrderStatus.from_exchange(status, filled=filled, amount=amount or None)
    except InvalidInput:
        logger.warning("unknown order status %r of %s, taken as open", status, raw.get("id"))
        return OrderStatus.OPEN


def order_type_of(raw: Mapping[str, Any]) -> OrderType:
    """Our order type for an order we did not place in this call (what the exchange reports)."""
    okx_type = str(_info(raw).get("ordType") or "").lower()
    if okx_type == "trigger":
        return OrderType.TRIGGER
    if okx_type in ("conditional", "oco"):
        return OrderType.STOP_LOSS if _info(raw).get("slTriggerPx") else OrderType.TAKE_PROFIT
    if okx_type in ("market", "optimal_limit_ioc"):
        return OrderType.MARKET
    if okx_type:
        return OrderType.LIMIT
    try:
        return OrderType.parse(raw.get("type"))
    except InvalidInput:
        return OrderType.LIMIT if raw.get("price") else OrderType.MARKET


def fee_of(order: Mapping[str, Any]) -> tuple[Decimal, str]:
    """Fee paid (positive; negative is a rebate) and its currency, for a ccxt order or trade;
    several fees of the first currency are summed, fees in other currencies left out."""
    fees = [fee for fee in (order.get("fees") or []) if fee and fee.get("cost") is not None]
    if not fees and order.get("fee") and order["fee"].get("cost") is not None:
        fees = [order["fee"]]
    if not fees:
        return Decimal(0), ""
    currency = str(fees[0].get("currency") or "")
    costs = (decimal_or_none(fee["cost"]) or Decimal(0) for fee in fees if (fee.get("currency") or "") == currency)
    return tidy(sum(costs, Decimal(0))), currency


def fills_of(order: Mapping[str, Any], market: MarketInfo) -> list[ExchangeFill]:
    """The trades ccxt parsed with an order, quantities in base currency; unpriced or empty ones skipped."""
    fills = []
    for trade in order.get("trades") or []:
        price, amount = decimal_or_none(trade.get("price")), decimal_or_none(trade.get("amount"))
        if price is None or not amount:
            continue
        fee, fee_currency = fee_of(trade)
        fills.append(
            ExchangeFill(
                trade_id=str(trade.get("id") or ""),
                price=price,
                quantity=tidy(market.to_base(amount)),
                fee=fee,
                fee_currency=fee_currency,
                liquidity=Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER,
                timestamp=datetime_from_ms(trade.get("timestamp")),
            )
        )
    return fills


def holds_position(raw: Mapping[str, Any]) -> bool:
    """Whether a ccxt position is a real one (a side and some contracts), not an empty slot."""
    return bool(decimal_or_none(raw.get("contracts"))) and bool(raw.get("side"))


def exchange_position(
    raw: Mapping[str, Any], market: MarketInfo, *, default_margin_mode: MarginMode
) -> ExchangePosition:
    """Our DTO for a ccxt position that ``holds_position``: ``size`` in base currency, ``contracts``
    as the exchange counts them, the account's margin mode when the exchange does not say."""
    contracts = abs(decimal_or_none(raw.get("contracts")) or Decimal(0))
    leverage = decimal_or_none(raw.get("leverage"))
    return ExchangePosition(
        symbol=market.symbol,
        side=PositionSide.parse(raw["side"]),
        size=tidy(market.to_base(contracts)),
        contracts=contracts,
        entry_price=decimal_or_none(raw.get("entryPrice")) or Decimal(0),
        mark_price=positive_or_none(raw.get("markPrice")),
        leverage=int(leverage) if leverage else None,
        unrealized_pnl=decimal_or_none(raw.get("unrealizedPnl")),
        liquidation_price=positive_or_none(raw.get("liquidationPrice")),
        margin_mode=MarginMode.parse_optional(raw.get("marginMode")) or default_margin_mode,
    )


def ticker_price(ticker: Mapping[str, Any]) -> Decimal | None:
    """The mark price of a ccxt ticker, else its last price; None when it has neither."""
    return positive_or_none(ticker.get("markPrice")) or positive_or_none(ticker.get("last"))
