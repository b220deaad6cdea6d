"""Which gateway serves a (user, exchange) pair."""

from __future__ import annotations

from django.conf import settings

from tradingcore.enums import Exchange
from tradingcore.exceptions import AccountMissing
from tradingcore.exchange.base import ExchangeGateway


def is_simulated(exchange: Exchange | str) -> bool:
    return Exchange.parse(exchange) is Exchange.PAPER or bool(settings.TRADING_DRY_RUN)


def get_gateway(user_id: str, exchange: Exchange | str) -> ExchangeGateway:
    """The gateway acting for ``user_id`` on ``exchange``.

    Raises ``AccountMissing`` before anything is sent when a real exchange is asked for and the
    user has no active ``ExchangeAccount`` on it.
    """
    exchange = Exchange.parse(exchange, field="exchange")
    if is_simulated(exchange):
        from tradingcore.exchange.paper import PaperGateway

        return PaperGateway(exchange=exchange, user_id=user_id)

    from tradingcore.exchange.ccxt import gateway_for_account
    from tradingcore.models import ExchangeAccount

    account = ExchangeAccount.objects.filter(user_id=user_id, exchange=exchange, is_active=True).order_by("id").first()
    if account is None:
        raise AccountMissing(
            f"user {user_id!r} has no active {exchange.value} account; add one, or run with TRADING_DRY_RUN=true",
            details={"user_id": user_id, "exchange": exchange.value},
        )
    return gateway_for_account(account)
