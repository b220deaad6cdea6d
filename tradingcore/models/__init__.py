"""Models of the shared domain: exchange accounts, the Redis projection outbox, the paper exchange,
and the REST API's keys and idempotency records."""

from tradingcore.models.accounts import ExchangeAccount
from tradingcore.models.api import ApiKey, IdempotencyRecord
from tradingcore.models.outbox import OutboxEntry
from tradingcore.models.paper import PaperFill, PaperLeverage, PaperMark, PaperOrder, PaperPosition

__all__ = [
    "ApiKey",
    "ExchangeAccount",
    "IdempotencyRecord",
    "OutboxEntry",
    "PaperFill",
    "PaperLeverage",
    "PaperMark",
    "PaperOrder",
    "PaperPosition",
]
