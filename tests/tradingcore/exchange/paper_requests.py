"""Building gateway order requests for the paper-exchange tests."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from tradingcore.enums import OrderSide, OrderType
from tradingcore.exchange.base import OrderRequest

BTC = "BTC-USDT-SWAP"
_ids = itertools.count()


def request(side: str, order_type: str = "market", quantity: str = "0.05", *, prefix: str = "paper",
            **extra: Any) -> OrderRequest:  # fmt: skip
    """An ``OrderRequest`` from strings (prices and quantities as Decimal), with a fresh client id."""
    for name in ("price", "trigger_price"):
        if name in extra:
            extra[name] = Decimal(extra[name])
    extra.setdefault("client_order_id", f"{prefix}{next(_ids)}")
    return OrderRequest(
        symbol=extra.pop("symbol", BTC),
        side=OrderSide(side),
        order_type=OrderType(order_type),
        quantity=Decimal(quantity),
        **extra,
    )
