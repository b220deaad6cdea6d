"""Fixtures of the exchange tests: loopback OKX servers and ccxt gateways pointed at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tradingcore.exchange.okx_accounts import checked, make_account
from tests.tradingcore.exchange.okx_loopback import OkxLoopback, running_loopback
from tradingcore.enums import PositionMode
from tradingcore.exchange.ccxt import CcxtGateway, clear_gateway_cache


@pytest.fixture
def okx() -> Iterator[OkxLoopback]:
    """A loopback OKX in long/short (hedge) mode; fails the test if ccxt called an unknown path."""
    yield from checked(running_loopback())


@pytest.fixture
def okx_net() -> Iterator[OkxLoopback]:
    """A loopback OKX in net (one-way) mode."""
    yield from checked(running_loopback(position_mode="net_mode"))


@pytest.fixture(autouse=True)
def _fresh_gateway_cache() -> Iterator[None]:
    clear_gateway_cache()
    yield
    clear_gateway_cache()


@pytest.fixture
def gateway(okx: OkxLoopback) -> CcxtGateway:
    """A ccxt gateway of a hedge-mode account on ``okx``."""
    return CcxtGateway(make_account(okx), timeout_seconds=5)


@pytest.fixture
def net_gateway(okx_net: OkxLoopback) -> CcxtGateway:
    """A ccxt gateway of a one-way account on ``okx_net``."""
    account = make_account(okx_net, position_mode=PositionMode.ONE_WAY, label="one-way")
    return CcxtGateway(account, timeout_seconds=5)
