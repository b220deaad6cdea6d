"""Helpers for manager tests: paper marks and common arguments. No mocks: the paper exchange is
the simulated outside world, PostgreSQL and Redis are real."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradingcore.exchange import paper

USER = "user123"
OTHER_USER = "user456"
BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"


def mark(price: str | Decimal, *, symbol: str = BTC, exchange: str = "okx", volume: str | None = None) -> Any:
    """Set the simulated mark (and match the paper book), as `manage.py set_paper_price` does."""
    return paper.set_mark(exchange, symbol, Decimal(str(price)), volume=None if volume is None else Decimal(volume))


def btc(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"user_id": USER, "exchange": "okx", "symbol": BTC}
    values.update(overrides)
    return values


def sync_public_methods(cls: type) -> set[str]:
    """The public methods of a synchronous manager, without its ``a``-prefixed async twins."""
    names = {name for name, member in vars(cls).items() if callable(member) and not name.startswith("_")}
    return {name for name in names if not (name.startswith("a") and name[1:] in names)}
