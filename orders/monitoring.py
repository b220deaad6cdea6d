"""Watching an order (or all a user's live orders) change: the seeds' ``monitor_order_fills``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from orders import selectors, sync
from orders.models import Order
from tradingcore import dto
from tradingcore.enums import LIVE_ORDER_STATUSES, OrderStatus
from tradingcore.exceptions import ExchangeUnavailable

logger = logging.getLogger(__name__)
SYSTEM_ACTOR = "system:order_manager"


def monitor_order_fills(
    order_id: Any = None,
    *,
    user_id: str,
    exchange: Any = None,
    symbol: str | None = None,
    poll_interval: float = 1.0,
    timeout: float | None = None,
    actor: str = SYSTEM_ACTOR,
) -> Iterator[dto.Order]:
    """Yield each change (status or filled quantity) of one order, or of all the user's live
    orders, polling the exchange every ``poll_interval`` seconds, until every watched order is
    terminal or ``timeout`` seconds have passed. The state at the start is not a change.

    Raises ``ObjectNotFound`` for an unknown order or another user's. An unreachable exchange is
    logged and polled again on the next round.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    seen: dict[Any, tuple[str, Decimal]] = {
        row.pk: (row.status, row.filled_qty) for row in _watched(order_id, user_id, exchange, symbol)
    }
    while _any_live(seen):
        for row in _poll(seen, user_id, actor):
            if seen.get(row.pk) != (row.status, row.filled_qty):
                seen[row.pk] = (row.status, row.filled_qty)
                yield dto.Order.from_row(row)
        if deadline is not None and time.monotonic() >= deadline:
            return
        if _any_live(seen):
            time.sleep(poll_interval)


def _any_live(seen: dict[Any, tuple[str, Decimal]]) -> bool:
    return any(not OrderStatus(status).is_terminal for status, _ in seen.values())


def _watched(order_id: Any, user_id: str, exchange: Any, symbol: str | None) -> list[Order]:
    if order_id is not None:
        return [selectors.order_row(order_id, user_id=user_id)]
    return list(
        selectors.order_queryset(user_id=user_id, exchange=exchange, symbol=symbol, status=list(LIVE_ORDER_STATUSES))
    )


def _poll(seen: dict[Any, tuple[str, Decimal]], user_id: str, actor: str) -> list[Order]:
    rows = []
    for pk in [pk for pk, (status, _) in seen.items() if not OrderStatus(status).is_terminal]:
        try:
            rows.append(sync.refresh_order(order_id=pk, user_id=user_id, actor=actor))
        except ExchangeUnavailable as exc:
            logger.warning("monitor: order %s not refreshed: %s", pk, exc)
    return rows
