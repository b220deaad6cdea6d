"""Exchange access: one gateway interface, a ccxt implementation and the paper exchange.

``get_gateway(user_id, exchange)`` is the only way the rest of the service obtains a gateway:
the exchange ``paper`` is always simulated, and so is every exchange while ``TRADING_DRY_RUN`` is
true (keeping the exchange's name and its instruments' contract sizes); otherwise the user's
``ExchangeAccount`` supplies the credentials for a ccxt client.
"""

from tradingcore.exchange.base import (
    ExchangeFill,
    ExchangeGateway,
    ExchangeOrder,
    ExchangePosition,
    Fee,
    MarketInfo,
    OrderRequest,
)
from tradingcore.exchange.registry import get_gateway

__all__ = [
    "ExchangeFill",
    "Fee",
    "ExchangeGateway",
    "ExchangeOrder",
    "ExchangePosition",
    "MarketInfo",
    "OrderRequest",
    "get_gateway",
]
