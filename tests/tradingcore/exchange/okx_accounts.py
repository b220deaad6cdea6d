"""Accounts and order requests for the ccxt gateway's tests against ``OkxLoopback``.

Symbols: BTC-USDT-SWAP is 0.01 BTC per contract, lot 0.01, mark 60000; ETH-USDT-SWAP is 0.1 ETH per
contract, lot 1, mark 3000.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from tests.tradingcore.exchange.okx_loopback import OkxLoopback
from tradingcore.enums import Exchange, OrderSide, OrderType, PositionMode
from tradingcore.exchange.base import OrderRequest
from tradingcore.models import ExchangeAccount

API_KEY = "loopback-api-key-5d1f0c"
API_SECRET = "loopback-api-secret-93be7a"
PASSPHRASE = "loopback-passphrase-41c8"
BTC = "BTC-USDT-SWAP"
ETH = "ETH-USDT-SWAP"


def checked(servers: Iterator[OkxLoopback]) -> Iterator[OkxLoopback]:
    """Fixture body: the started server; afterwards, fails the test if ccxt called an unknown path."""
    for server in servers:
        yield server
        assert server.unexpected == [], [f"{r.method} {r.target}" for r in server.unexpected]


def make_account(server: OkxLoopback, **fields: Any) -> ExchangeAccount:
    """An OKX account row whose REST base URL is the loopback server, read back from the database."""
    values: dict[str, Any] = {
        "user_id": "bot-user-1",
        "exchange": Exchange.OKX,
        "api_key": API_KEY,
        "api_secret": API_SECRET,
        "passphrase": PASSPHRASE,
        "rest_base_url": server.url,
        "position_mode": PositionMode.HEDGE,
    }
    values.update(fields)
    account = ExchangeAccount.objects.create(**values)
    return ExchangeAccount.objects.get(pk=account.pk)


def order(
    symbol: str = BTC,
    side: OrderSide = OrderSide.BUY,
    order_type: OrderType = OrderType.MARKET,
    quantity: str = "0.1",
    client_order_id: str = "bot1order1",
    **fields: Any,
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=side,
        order_type=order_type,
        quantity=Decimal(quantity),
        client_order_id=client_order_id,
        **fields,
    )


def stop_loss(client_order_id: str, trigger: str = "55000") -> OrderRequest:
    """A stop-loss protecting a long of 0.1 BTC."""
    return order(
        side=OrderSide.SELL,
        order_type=OrderType.STOP_LOSS,
        trigger_price=Decimal(trigger),
        client_order_id=client_order_id,
    )


def only(requests: list[Any]) -> Any:
    assert len(requests) == 1, requests
    return requests[0]
