"""The liquidation watch: the fill watcher notices positions the exchange closed by force.

``check_liquidations`` runs on every pass of the fill watcher (registered with ``orders.hooks``)
and looks at each account (user, exchange) holding open positions at most once every
``TRADING_LIQUIDATION_CHECK_SECONDS`` per process. Where the exchange holds less than we do, the
symbol is aligned (``positions.adjustments``) with forced closes only: the exchange's liquidation
or auto-deleverage trades are booked through an order of role ``liquidation`` (a full one ends the
position ``liquidated``); a position gone at a loss with no trade to explain it is liquidated at
the mark as an estimate. Anything else (a sale made on the exchange itself) is left to
``manage.py reconcile``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

from positions import adjustments
from positions.books import books_of
from positions.models import Position
from tradingcore.enums import Exchange, PositionStatus
from tradingcore.exceptions import ConfigurationError, ExchangeError
from tradingcore.exchange import get_gateway

logger = logging.getLogger(__name__)
DEFAULT_INTERVAL_SECONDS = 30.0


class Throttle:
    """When each account was last checked, in this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked: dict[tuple[str, str], float] = {}

    def due(self, key: tuple[str, str], interval: float) -> bool:
        """Whether ``key`` may be checked now; if so, it counts as checked from now."""
        now = time.monotonic()
        with self._lock:
            last = self._checked.get(key)
            if last is not None and now - last < interval:
                return False
            self._checked[key] = now
            return True

    def reset(self) -> None:
        """Forget every check (the next pass checks every account)."""
        with self._lock:
            self._checked.clear()


THROTTLE = Throttle()


def check_liquidations(actor: str) -> int:
    """Watcher task: check the accounts that are due; returns how many positions were booked.
    An exchange that cannot be read, or an account without credentials, is logged and skipped."""
    interval = float(getattr(settings, "TRADING_LIQUIDATION_CHECK_SECONDS", DEFAULT_INTERVAL_SECONDS))
    pairs = Position.objects.filter(status=PositionStatus.OPEN).values_list("user_id", "exchange").distinct()
    changed = 0
    for user_id, exchange in sorted(pairs):
        if not THROTTLE.due((user_id, exchange), interval):
            continue
        try:
            changed += check_account(user_id=user_id, exchange=exchange, actor=actor)
        except (ExchangeError, ConfigurationError) as exc:
            logger.warning("liquidation check of %s on %s skipped: %s", user_id, exchange, exc)
    return changed


def check_account(*, user_id: str, exchange: Exchange | str, actor: str) -> int:
    """Book the forced closes of one account's positions; returns how many differences were booked.
    One positions request; the trades are read only for symbols where the exchange holds less."""
    venue = Exchange.parse(exchange, field="exchange")
    gateway = get_gateway(user_id, venue)
    ours = list(Position.objects.filter(user_id=user_id, exchange=venue, status=PositionStatus.OPEN))
    theirs = gateway.fetch_positions()
    booked = 0
    for symbol in sorted({p.symbol for p in ours}):
        if not adjustments.exchange_holds_less(books_of(symbol, ours, theirs, gateway.position_mode)):
            continue
        found = adjustments.align_symbol(
            user_id=user_id, exchange=venue, gateway=gateway, symbol=symbol, apply=True, actor=actor,
            scope=adjustments.Scope.LIQUIDATIONS,
        )  # fmt: skip
        booked += _log(user_id, venue, found)
    return booked


def _log(user_id: str, exchange: Exchange, found: list[Any]) -> int:
    applied = [adjustment for adjustment in found if adjustment.applied]
    for adjustment in applied:
        book = adjustment.book
        logger.warning("%s %s %s %s: %s", user_id, exchange.value, book.symbol, book.describe(), adjustment.note)
    return len(applied)
