"""Moving the simulated market: set a mark and match the book, or drive a small random walk."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DataError, transaction
from django.utils import timezone

from tradingcore.decimals import QUANTUM, quantize, storable, to_optional_decimal
from tradingcore.enums import Exchange
from tradingcore.exceptions import InvalidInput
from tradingcore.exchange.base import ExchangeFill, ExchangeOrder, MarketInfo
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.paper import engine
from tradingcore.exchange.paper.describe import describe_fill, describe_order
from tradingcore.exchange.paper.placement import mark_missing
from tradingcore.models import PaperMark

_BPS = Decimal(10_000)
NUMERIC_VALUE_OUT_OF_RANGE = "22003"  # PostgreSQL's SQLSTATE for a numeric column overflow


@dataclass(frozen=True)
class PaperTrade:
    """One fill made by a mark move: whose order, the order's state after the move, the fill."""

    user_id: str
    order: ExchangeOrder
    fill: ExchangeFill


def set_mark(exchange: Exchange | str, symbol: str, price: Any, *, volume: Any = None) -> list[PaperTrade]:
    """Set the simulated mark of ``symbol`` (native or unified) on ``exchange`` and match its book.

    Triggers the mark crossed fire (market execution at the mark as taker; a stop-limit becomes a
    limit), then resting limits the mark crossed fill at their limit price as maker. ``volume``
    (base currency, optional) caps the quantity that trades on this move across all orders, so a
    large order can fill in parts over several calls. Returns the fills in execution order.

    Raises ``InvalidInput`` for an unknown exchange, a price that is not a positive number with
    at most 8 decimals, a negative volume, or a mark whose fills would overflow a column (a PnL or
    notional beyond numeric(20,8): nothing is changed); ``BadSymbol`` for an unlisted symbol.
    """
    venue = Exchange.parse(exchange, field="exchange")
    market = get_market(venue, symbol)
    mark = storable(price, field="price", positive=True)
    cap = to_optional_decimal(volume, field="volume")
    if cap is not None and cap < 0:
        raise InvalidInput("volume: must not be negative", details={"volume": ["must not be negative"]})
    try:
        with transaction.atomic():
            book = engine.lock_book(venue, market.symbol)
            book.price = mark
            book.updated_at = timezone.now()
            book.save()
            fills = engine.match(market, mark, engine.Budget(cap))
    except DataError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != NUMERIC_VALUE_OUT_OF_RANGE:
            raise
        message = "the fills at this mark would make amounts beyond numeric(20,8)"
        raise InvalidInput(f"price: {message}", details={"price": [message]}) from exc
    return [
        PaperTrade(user_id=fill.order.user_id, order=describe_order(fill.order), fill=describe_fill(fill, fill.order))
        for fill in fills
    ]


def get_mark(exchange: Exchange | str, symbol: str) -> Decimal:
    """The current simulated mark; ``PaperMarkMissing`` if none was ever set."""
    market = get_market(exchange, symbol)
    price = (
        PaperMark.objects.filter(exchange=market.exchange.value, symbol=market.symbol)
        .values_list("price", flat=True)
        .first()
    )
    if price is None:
        raise mark_missing(market)
    return price


def _step(market: MarketInfo, price: Decimal, rng: random.Random, step_bps: int) -> Decimal:
    """One random-walk step: up to ``step_bps`` either way, on the price grid, never below one tick."""
    moved = price * (1 + Decimal(rng.randint(-step_bps, step_bps)) / _BPS)
    return max(quantize(market.round_price(moved)), market.price_step, QUANTUM)


def random_walk(exchange: Exchange | str, symbol: str, steps: int, seed: int, step_bps: int = 10) -> list[Decimal]:
    """Move the mark ``steps`` times by up to ``step_bps`` basis points each, from the current mark.

    Deterministic for a given seed (integer draws, Decimal arithmetic); each step goes through
    ``set_mark`` and so matches the book. Returns the marks set. ``PaperMarkMissing`` if no mark
    exists to start from.
    """
    market = get_market(exchange, symbol)
    rng = random.Random(seed)
    price = get_mark(exchange, symbol)
    marks = []
    for _ in range(steps):
        price = _step(market, price, rng, step_bps)
        set_mark(market.exchange, market.symbol, price)
        marks.append(price)
    return marks


def advance_random_walk(step_bps: int = 10) -> list[PaperTrade]:
    """Demo driver: move every mark that has a price one random-walk step and match its book.

    Each step is seeded by the market and its current mark, so the same state always takes the
    same step. Returns the fills made.
    """
    trades: list[PaperTrade] = []
    for book in PaperMark.objects.filter(price__isnull=False).order_by("exchange", "symbol"):
        assert book.price is not None
        market = get_market(book.exchange, book.symbol)
        rng = random.Random(f"{book.exchange}:{book.symbol}:{book.price}")
        trades += set_mark(market.exchange, market.symbol, _step(market, book.price, rng, step_bps))
    return trades
