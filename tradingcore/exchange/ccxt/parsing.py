"""ccxt's parsed answers as our DTOs: ``ExchangeOrder``, ``ExchangeFill``, ``ExchangePosition``, prices.

Contracts become base-currency quantities with the market's contract size; every number goes
through ``Decimal(str(x))`` (``values``). Order statuses, order types, post-only and time in
force, position sides, fees and liquidation marks are read here, OKX's fields (``info``) included.
Pure: no requests. A fired OKX algo order is read together with the order it placed (its
``outcome``), which ``algo.triggered_outcome`` fetches.

Fees keep the sign ccxt gives them: a cost is positive, a rebate negative (OKX writes both the other
way round and ccxt turns them). Nothing here clamps a fee or drops one in another currency: every
currency is kept apart (``fees_by_currency``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradingcore.enums import Liquidity, MarginMode, OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import InvalidInput
from tradingcore.exchange.base import ExchangeFill, ExchangeOrder, ExchangePosition, Fee, MarketInfo
from tradingcore.exchange.ccxt.values import datetime_from_ms, decimal_or_none, positive_or_none, tidy

logger = logging.getLogger(__name__)

_MARKET_TYPES = (OrderType.MARKET, OrderType.STOP_MARKET)
# OKX order types that carry a time in force or post-only (ccxt reads them as limit orders).
_OKX_TIME_IN_FORCE = {"ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}
_OKX_POST_ONLY = ("post_only", "rpi")
# OKX bill subtypes of forced closes, on a trade of the fills history: partial and full
# liquidation (100-107) and auto-deleveraging (125-128).
OKX_LIQUIDATION_SUBTYPES = frozenset({*map(str, range(100, 108)), *map(str, range(125, 129))})


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
    ``avg_fill_price`` carry the fill. ``fees`` keeps every currency of ccxt's ``fees`` list.
    """
    amount = decimal_or_none(raw.get("amount")) or Decimal(0)
    filled = decimal_or_none(outcome.get("filled")) or Decimal(0)
    fee, fee_currency = fee_of(outcome)
    order_type = order_type or order_type_of(raw)
    post_only, time_in_force = order_flags(raw, order_type, is_okx=is_okx)
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
        post_only=post_only,
        time_in_force=time_in_force,
        position_side=position_side_of(raw),
        fees=fees_by_currency(fee_list(outcome)),
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


def order_flags(raw: Mapping[str, Any], order_type: OrderType, *, is_okx: bool) -> tuple[bool, TimeInForce]:
    """(post-only, time in force) of a ccxt order as the exchange reports them.

    OKX: from ``ordType`` (``post_only``, ``ioc``, ``fok``; anything else is GTC). Elsewhere from
    ccxt's ``postOnly`` / ``timeInForce`` (``PO`` is post-only); a market order is GTC here, as we
    place it, whatever time in force ccxt infers for it.
    """
    if is_okx:
        okx_type = str(_info(raw).get("ordType") or "").lower()
        return okx_type in _OKX_POST_ONLY, _OKX_TIME_IN_FORCE.get(okx_type, TimeInForce.GTC)
    reported = str(raw.get("timeInForce") or "").upper()
    post_only = raw.get("postOnly") is True or reported == "PO"
    if order_type in _MARKET_TYPES or reported not in (TimeInForce.IOC, TimeInForce.FOK):
        return post_only, TimeInForce.GTC
    return post_only, TimeInForce(reported)


def position_side_of(raw: Mapping[str, Any]) -> PositionSide | None:
    """The hedge-mode position side of a ccxt order or trade (OKX ``posSide``, Binance
    ``positionSide``); None in one-way mode (``net``, ``BOTH``) or when not reported."""
    info = _info(raw)
    reported = str(info.get("posSide") or info.get("positionSide") or raw.get("positionSide") or "").lower()
    return PositionSide.parse_optional(reported) if reported in ("long", "short") else None


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


def fee_list(structure: Mapping[str, Any]) -> list[tuple[Decimal, str]]:
    """Every (cost, currency) of a ccxt order or trade as reported: its ``fees`` list, else its
    ``fee``; a cost is positive, a rebate negative. Entries without a cost are left out."""
    reported = [fee for fee in (structure.get("fees") or []) if fee and fee.get("cost") is not None]
    single = structure.get("fee")
    if not reported and single and single.get("cost") is not None:
        reported = [single]
    return [(decimal_or_none(fee["cost"]) or Decimal(0), str(fee.get("currency") or "")) for fee in reported]


def fees_by_currency(reported: list[tuple[Decimal, str]]) -> tuple[Fee, ...]:
    """One ``Fee`` per currency (summed, in the order first reported); currencies whose fees sum to
    zero are left out, a rebate stays negative."""
    totals: dict[str, Decimal] = {}
    for cost, currency in reported:
        totals[currency] = totals.get(currency, Decimal(0)) + cost
    return tuple(Fee(tidy(amount), currency) for currency, amount in totals.items() if amount != 0)


def fee_of(structure: Mapping[str, Any]) -> tuple[Decimal, str]:
    """The first fee of a ccxt order or trade and its currency (a rebate is negative); (0, the
    first currency reported) when nothing was charged. ``fees_by_currency`` gives all of them."""
    reported = fee_list(structure)
    fees = fees_by_currency(reported)
    if fees:
        return fees[0].amount, fees[0].currency
    return Decimal(0), reported[0][1] if reported else ""


def fills_of(order: Mapping[str, Any], market: MarketInfo) -> list[ExchangeFill]:
    """The trades ccxt parsed with an order, quantities in base currency; unpriced or empty ones skipped."""
    return [fill for fill in (exchange_fill(trade, market) for trade in order.get("trades") or []) if fill]


def exchange_fill(trade: Mapping[str, Any], market: MarketInfo) -> ExchangeFill | None:
    """Our DTO for a ccxt trade (None when it has no price or no amount): quantity in base
    currency, every fee in its own currency, and whose trade it is (order ids, side, position side,
    liquidation: OKX bill subtypes 100-107 and 125-128)."""
    price, amount = decimal_or_none(trade.get("price")), decimal_or_none(trade.get("amount"))
    if price is None or not amount:
        return None
    fee, fee_currency = fee_of(trade)
    info = _info(trade)
    return ExchangeFill(
        trade_id=str(trade.get("id") or ""),
        price=price,
        quantity=tidy(market.to_base(amount)),
        fee=fee,
        fee_currency=fee_currency,
        liquidity=Liquidity.MAKER if trade.get("takerOrMaker") == "maker" else Liquidity.TAKER,
        timestamp=datetime_from_ms(trade.get("timestamp")),
        fees=fees_by_currency(fee_list(trade)),
        exchange_order_id=str(trade["order"]) if trade.get("order") else None,
        client_order_id=str(info.get("clOrdId") or trade.get("clientOrderId") or "") or None,
        side=OrderSide.parse_optional(trade.get("side")),
        position_side=position_side_of(trade),
        liquidation=str(info.get("subType") or "") in OKX_LIQUIDATION_SUBTYPES,
    )


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
