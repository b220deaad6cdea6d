"""Errors specific to the paper exchange, placed in the shared hierarchy so callers can treat them
like any gateway's errors."""

from __future__ import annotations

from tradingcore import exceptions
from tradingcore.exceptions import ExchangeError, OrderRejected


class PaperMarkMissing(OrderRejected):
    """The paper exchange has no mark price for the instrument yet; set one with set_paper_price."""

    code = "paper_mark_missing"


class OrderNotCancellable(ExchangeError, exceptions.OrderNotCancellable):
    """The paper order already reached a terminal state (filled, cancelled, rejected or expired)."""
