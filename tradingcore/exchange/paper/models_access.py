"""Read-only questions about the paper exchange's stored state, for tests and operators."""

from __future__ import annotations

from tradingcore.enums import Exchange
from tradingcore.models import PaperOrder


def paper_orders_with_client_id(exchange: Exchange | str, client_order_id: str) -> int:
    """How many paper orders carry ``client_order_id`` on ``exchange`` (0 or 1: it is unique)."""
    venue = Exchange.parse(exchange, field="exchange")
    return PaperOrder.objects.filter(exchange=venue.value, client_order_id=client_order_id).count()
