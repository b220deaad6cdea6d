"""Models of the shared domain: exchange accounts and the Redis projection outbox."""

from tradingcore.models.accounts import ExchangeAccount
from tradingcore.models.outbox import OutboxEntry

__all__ = ["ExchangeAccount", "OutboxEntry"]
