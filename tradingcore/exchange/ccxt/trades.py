"""The account's trades through ccxt: every trade of one order, and the trades on a symbol since a time.

OKX lists trades in its fills history (``GET /api/v5/trade/fills-history``, the last three months,
newest first, at most 100 a page), which ccxt reads with ``fetch_my_trades``: by order with OKX's
``ordId`` param, by time with ``since`` (OKX ``begin``). Pages are followed with OKX's ``after``
cursor (the oldest ``billId`` of the page) until a short page. Other exchanges: ccxt's unified
``fetch_order_trades`` / ``fetch_my_trades`` with pages followed forward by time (tested on OKX only).

Nothing is ever cut short silently: more than ``MAX_PAGES`` pages raise ``ExchangeError``, so a
caller never takes a partial history for a whole one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tradingcore.exceptions import ExchangeError
from tradingcore.exchange.base import ExchangeFill, MarketInfo
from tradingcore.exchange.ccxt import parsing
from tradingcore.exchange.ccxt.client import AccountClient

PAGE_SIZE = 100  # OKX's largest page of the fills history
MAX_PAGES = 50  # 5000 trades in one call; more is refused, never truncated

_UNDATED = datetime.min.replace(tzinfo=UTC)  # trades without a time sort first

Page = Callable[[dict[str, Any]], list[dict[str, Any]]]


def order_trades(client: AccountClient, market: MarketInfo, order_id: str) -> list[ExchangeFill]:
    """Every trade of the regular order ``order_id`` that the exchange lists, oldest first ([] if none).

    Raises our ``ExchangeError`` kinds; ``ExchangeError`` when the listing is longer than
    ``MAX_PAGES`` pages.
    """
    symbol = market.unified_symbol
    if client.is_okx:
        raws = _okx_pages(lambda extra: client.fetch_my_trades(symbol, None, None, {"ordId": order_id, **extra}))
    elif client.api.has.get("fetchOrderTrades"):
        raws = client.call("fetch order trades", client.api.fetch_order_trades, order_id, symbol)
    else:
        raws = client.fetch_my_trades(symbol, None, None, {})
    return _fills([raw for raw in raws if str(raw.get("order") or "") == order_id], market)


def account_trades(client: AccountClient, market: MarketInfo, since_ms: int) -> list[ExchangeFill]:
    """The account's trades on ``market`` at or after ``since_ms`` (ms since the epoch), oldest first.

    Raises our ``ExchangeError`` kinds; ``ExchangeError`` when more than ``MAX_PAGES`` pages hold them.
    """
    symbol = market.unified_symbol
    if client.is_okx:
        raws = _okx_pages(lambda extra: client.fetch_my_trades(symbol, since_ms, None, extra))
    else:
        raws = _forward_pages(client, symbol, since_ms)
    return _fills(raws, market)


def _okx_pages(fetch: Page) -> list[dict[str, Any]]:
    """Every trade of an OKX fills-history query, following ``after`` (older than that bill) page by page."""
    collected: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = fetch({"limit": PAGE_SIZE, **({"after": cursor} if cursor else {})})
        for raw in page:
            collected.setdefault(_okx_key(raw), raw)
        if len(page) < PAGE_SIZE:
            return list(collected.values())
        cursor = min((str((raw.get("info") or {}).get("billId") or "") for raw in page), key=_as_int)
        if not cursor:
            break  # an answer without bill ids cannot be paged: refuse rather than guess
    raise _too_many()


def _forward_pages(client: AccountClient, symbol: str, since_ms: int) -> list[dict[str, Any]]:
    """Every trade from ``since_ms`` on, page by page forward in time (exchanges other than OKX)."""
    collected: dict[str, dict[str, Any]] = {}
    since = since_ms
    for _ in range(MAX_PAGES):
        page = client.fetch_my_trades(symbol, since, PAGE_SIZE, {})
        fresh = [raw for raw in page if str(raw.get("id")) not in collected]
        for raw in fresh:
            collected[str(raw.get("id"))] = raw
        if len(page) < PAGE_SIZE or not fresh:
            return list(collected.values())
        since = max(int(raw.get("timestamp") or since) for raw in page)
    raise _too_many()


def _okx_key(raw: dict[str, Any]) -> str:
    info = raw.get("info") or {}
    return str(info.get("billId") or f"{raw.get('id')}:{raw.get('order')}")


def _as_int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _too_many() -> ExchangeError:
    limit = MAX_PAGES * PAGE_SIZE
    return ExchangeError(
        f"the exchange lists more than {limit} trades for this request; ask for a shorter span",
        details={"max_trades": limit},
    )


def _fills(raws: list[dict[str, Any]], market: MarketInfo) -> list[ExchangeFill]:
    fills = [fill for fill in (parsing.exchange_fill(raw, market) for raw in raws) if fill is not None]
    return sorted(fills, key=chronological)


def chronological(fill: ExchangeFill) -> tuple[datetime, int, str]:
    """Sort key: oldest first, then by trade id."""
    return fill.timestamp or _UNDATED, _as_int(fill.trade_id), fill.trade_id
