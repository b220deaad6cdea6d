"""One ``CcxtGateway`` (and so one ccxt client) per ``ExchangeAccount``, shared by every caller
until the account row changes."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tradingcore.exchange.ccxt.gateway import CcxtGateway

if TYPE_CHECKING:
    from tradingcore.models import ExchangeAccount

_gateways: dict[Any, tuple[Any, CcxtGateway]] = {}  # account pk -> (its updated_at, its gateway)
_gateways_lock = threading.Lock()


def gateway_for_account(account: ExchangeAccount) -> CcxtGateway:
    """The cached gateway of ``account``, rebuilt when the row changed (``updated_at``) so edited
    credentials take effect. An unsaved account gets a fresh, uncached gateway. Thread-safe;
    builds no connection (markets load on first use).

    Raises ``ConfigurationError`` for an exchange ccxt does not serve here.
    """
    if account.pk is None:
        return CcxtGateway(account)
    with _gateways_lock:
        cached = _gateways.get(account.pk)
        if cached is not None and cached[0] == account.updated_at:
            return cached[1]
        gateway = CcxtGateway(account)
        _gateways[account.pk] = (account.updated_at, gateway)
        return gateway


def clear_gateway_cache() -> None:
    """Forget every cached gateway (tests, or after rotating keys outside the model)."""
    with _gateways_lock:
        _gateways.clear()
