"""Models of the shared domain: exchange accounts, the Redis projection outbox and the paper exchange."""

from tradingcore.models.accounts import ExchangeAccount
from tradingcore.models.outbox import OutboxEntry
from tradingcore.models.paper import PaperFill, PaperLeverage, PaperMark, PaperOrder, PaperPosition

__all__ = ["ExchangeAccount", "OutboxEntry", "PaperFill", "PaperLeverage", "PaperMark", "PaperOrder", "PaperPosition"]
