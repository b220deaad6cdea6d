"""Which gateway serves a (user, exchange) pair: dry-run routing and the paper exchange."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradingcore.enums import Exchange, OrderSide, OrderType
from tradingcore.exceptions import AccountMissing, InvalidOrder
from tradingcore.exchange import get_gateway
from tradingcore.exchange.base import OrderRequest
from tradingcore.exchange.paper import PaperGateway, set_mark
from tradingcore.models import PaperOrder

pytestmark = pytest.mark.django_db
D = Decimal


def test_dry_run_serves_okx_from_the_paper_exchange_keeping_its_name_and_contract_sizes(settings: Any) -> None:
    settings.TRADING_DRY_RUN = True

    gateway = get_gateway("bot-user", "OKX")

    assert isinstance(gateway, PaperGateway)
    assert gateway.exchange is Exchange.OKX
    assert gateway.user_id == "bot-user"
    assert gateway.market("BTC/USDT:USDT").contract_size == D("0.01")
    assert gateway.market("DOGE-USDT-SWAP").contract_size == D("1000")


def test_dry_run_orders_are_sized_and_stored_as_okx_orders(settings: Any) -> None:
    settings.TRADING_DRY_RUN = True
    set_mark("okx", "ETH-USDT-SWAP", D("3000"))
    gateway = get_gateway("bot-user", "okx")

    with pytest.raises(InvalidOrder, match="minimum order size"):
        gateway.place_order(OrderRequest("ETH-USDT-SWAP", OrderSide.BUY, OrderType.MARKET, D("0.05"), "registry0001"))
    placed = gateway.place_order(
        OrderRequest("ETH-USDT-SWAP", OrderSide.BUY, OrderType.MARKET, D("0.25"), "registry0002")
    )

    assert placed.quantity == D("0.2")  # two contracts of 0.1 ETH
    assert PaperOrder.objects.get().exchange == "okx"


def test_paper_exchange_is_simulated_even_without_dry_run(settings: Any) -> None:
    settings.TRADING_DRY_RUN = False

    gateway = get_gateway("bot-user", "paper")

    assert isinstance(gateway, PaperGateway)
    assert gateway.exchange is Exchange.PAPER


def test_real_exchange_without_an_account_is_account_missing_before_anything_is_sent(settings: Any) -> None:
    settings.TRADING_DRY_RUN = False

    with pytest.raises(AccountMissing, match="no active okx account"):
        get_gateway("nobody", "okx")

    assert not PaperOrder.objects.exists()
