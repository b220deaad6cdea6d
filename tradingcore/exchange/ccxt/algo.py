"""OKX algo orders (trigger, stop-loss, take-profit): reaching them through ccxt, listing the pending
ones, and following a fired one to the order it placed.

ccxt reaches OKX's algo endpoints when a call carries ``{"trigger": True}``. Pending algo orders
are listed per kind: ``trigger`` for our trigger / stop-market / stop-limit orders, and
``conditional,oco`` for stop-loss and take-profit. Other exchanges have no separate algo book
here: every function is a no-op off OKX.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tradingcore.enums import OrderType
from tradingcore.exceptions import ExchangeError
from tradingcore.exchange.base import MarketInfo
from tradingcore.exchange.ccxt.client import AccountClient
from tradingcore.exchange.ccxt.params import PROTECTIVE_TYPES

logger = logging.getLogger(__name__)

TRIGGER_KINDS = "trigger"
CONDITIONAL_KINDS = "conditional,oco"
_FIRED_STATES = ("effective", "partially_effective")


def algo_params(algo: bool) -> dict[str, Any]:
    """The ccxt params that reach the algo endpoints when ``algo``, else none (a fresh dict)."""
    return {"trigger": True} if algo else {}


def is_algo(client: AccountClient, order_type: OrderType) -> bool:
    """Whether an order of this type lives among the algo orders (OKX triggered orders)."""
    return client.is_okx and order_type.is_triggered


def fetch_pending(client: AccountClient, symbol: str | None) -> list[dict[str, Any]]:
    """Every pending algo order of the unified ``symbol`` (None: all), one page of each kind; [] off OKX."""
    if not client.is_okx:
        return []
    return [raw for kinds in (TRIGGER_KINDS, CONDITIONAL_KINDS) for raw in _fetch_kinds(client, symbol, kinds)]


def find_pending(
    client: AccountClient, market: MarketInfo, client_order_id: str, order_type: OrderType
) -> dict[str, Any] | None:
    """The pending algo order of ``order_type``'s kind carrying ``client_order_id``, or None.

    For when OKX's lookup by client id misses an algo order it has taken. Raises our
    ``ExchangeError`` kinds if the listing fails.
    """
    kinds = CONDITIONAL_KINDS if order_type in PROTECTIVE_TYPES else TRIGGER_KINDS
    for raw in _fetch_kinds(client, market.unified_symbol, kinds):
        info = raw.get("info") or {}
        if client_order_id in (info.get("algoClOrdId"), info.get("clOrdId"), raw.get("clientOrderId")):
            return raw
    return None


def _fetch_kinds(client: AccountClient, symbol: str | None, kinds: str) -> list[dict[str, Any]]:
    return client.fetch_open_orders(symbol, {**algo_params(True), "ordType": kinds})


def placed_order_ids(raw: Mapping[str, Any]) -> list[str]:
    """The ids of the regular orders a fired OKX algo order placed (none while it waits)."""
    info = raw.get("info") or {}
    ids = [info.get("ordId"), *(info.get("ordIdList") or [])]
    return list(dict.fromkeys(str(one) for one in ids if one))


def triggered_outcome(client: AccountClient, raw: Mapping[str, Any], market: MarketInfo) -> Mapping[str, Any]:
    """For a fired OKX algo order, the order it placed (which carries the fill); otherwise ``raw``
    itself. ``{}`` when the fired order names no placed order or that order cannot be read (logged):
    the caller then reports the algo order as open."""
    info = raw.get("info") or {}
    if not (client.is_okx and info.get("algoId") and info.get("state") in _FIRED_STATES):
        return raw
    child_id = next(iter(placed_order_ids(raw)), None)
    if child_id is None:
        return {}
    try:
        return client.fetch_order(child_id, market.unified_symbol)
    except ExchangeError as error:
        logger.warning(
            "%s: algo order %s fired; its order %s is not readable: %s", client, raw.get("id"), child_id, error
        )
        return {}
