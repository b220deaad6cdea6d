"""The service against the loopback OKX that the real ccxt client talks to (dry-run off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tradingcore.exchange.okx_loopback import OkxLoopback, running_loopback
from tradingcore.enums import PositionMode
from tradingcore.exchange.ccxt import clear_gateway_cache
from tradingcore.models import ExchangeAccount

OKX_USER = "okx-user-1"
BTC = "BTC-USDT-SWAP"


def _loopback(settings, okx_mode: str, mode: PositionMode, **rates: str) -> Iterator[OkxLoopback]:  # type: ignore[no-untyped-def]
    settings.TRADING_DRY_RUN = False
    settings.TRADING_EXCHANGE_TIMEOUT_SECONDS = 2
    clear_gateway_cache()
    for server in running_loopback(position_mode=okx_mode, **rates):
        server.set_mark(BTC, "45000")
        ExchangeAccount.objects.create(
            user_id=OKX_USER, exchange="okx", api_key="k", api_secret="s", passphrase="p",
            rest_base_url=server.url, position_mode=mode,
        )  # fmt: skip
        yield server
        assert server.unexpected == [], [f"{r.method} {r.target}" for r in server.unexpected]
    clear_gateway_cache()


@pytest.fixture
def okx(settings) -> Iterator[OkxLoopback]:  # type: ignore[no-untyped-def]
    """A loopback OKX account in long/short (hedge) mode, mark 45000."""
    yield from _loopback(settings, "long_short_mode", PositionMode.HEDGE)


@pytest.fixture
def okx_net(settings) -> Iterator[OkxLoopback]:  # type: ignore[no-untyped-def]
    """A loopback OKX account in net (one-way) mode, mark 45000."""
    yield from _loopback(settings, "net_mode", PositionMode.ONE_WAY)


@pytest.fixture
def okx_rebate(settings) -> Iterator[OkxLoopback]:  # type: ignore[no-untyped-def]
    """A loopback OKX hedge-mode account whose maker fee is a rebate of 2 bp."""
    yield from _loopback(settings, "long_short_mode", PositionMode.HEDGE, maker_fee="-0.0002")
