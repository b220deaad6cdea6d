"""Models of the shared domain: exchange accounts, the Redis projection outbox and its verification
runs, the paper exchange, the mark history, and the REST API's keys and idempotency records."""

from tradingcore.models.accounts import ExchangeAccount
from tradingcore.models.api import ApiKey, IdempotencyRecord
from tradingcore.models.marks import MarkSample
from tradingcore.models.outbox import OutboxEntry
from tradingcore.models.paper import PaperFill, PaperLeverage, PaperMark, PaperOrder, PaperPosition
from tradingcore.models.verification import VerificationRun

__all__ = [
    "ApiKey",
    "ExchangeAccount",
    "IdempotencyRecord",
    "MarkSample",
    "OutboxEntry",
    "PaperFill",
    "PaperLeverage",
    "PaperMark",
    "PaperOrder",
    "PaperPosition",
    "VerificationRun",
]
