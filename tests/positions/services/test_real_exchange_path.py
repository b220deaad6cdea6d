"""The managers with dry-run off, against the loopback OKX that the real ccxt client talks to."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from orders.models import Order
from positions.models import Position
from positions.services import PositionManager
from tests.tradingcore.exchange.okx_loopback import PLACE_ORDER, OkxLoopback, loopback_account
from tradingcore.enums import OrderStatus
from tradingcore.exceptions import AccountMissing, InsufficientFunds

pytestmark = pytest.mark.django_db(transaction=True)
USER = "okx-user-1"
BTC = "BTC-USDT-SWAP"


@pytest.fixture
def okx(settings) -> Iterator[OkxLoopback]:  # type: ignore[no-untyped-def]
    yield from loopback_account(settings, USER)


def test_placement_timeout_is_resolved_by_client_order_id_without_a_second_order(okx: OkxLoopback) -> None:
    okx.fail("POST", PLACE_ORDER, stall_seconds=2)  # the exchange takes the order, the client times out

    position = PositionManager().open_position(user_id=USER, exchange="okx", symbol=BTC, side="long", size="0.1")

    placed = okx.requests_to(PLACE_ORDER, "POST")
    assert len(placed) == 1
    order = Order.objects.get(position_id=position.id)
    assert placed[0].body["clOrdId"] == order.client_order_id
    assert placed[0].body["sz"] == "10"  # contracts of 0.01 BTC, not base quantity
    assert placed[0].body["posSide"] == "long"
    assert order.status == OrderStatus.FILLED
    assert position.size == Decimal("0.1")


def test_insufficient_funds_rejects_the_order_and_opens_nothing(okx: OkxLoopback) -> None:
    okx.fail("POST", PLACE_ORDER, okx_code="51008")

    with pytest.raises(InsufficientFunds):
        PositionManager().open_position(user_id=USER, exchange="okx", symbol=BTC, side="long", size="0.1")

    order = Order.objects.get(user_id=USER)
    assert order.status == OrderStatus.REJECTED
    assert "insufficient_funds" in order.last_error
    assert not Position.objects.exists()


def test_a_user_without_an_account_gets_a_clear_error_before_anything_is_sent(okx: OkxLoopback) -> None:
    with pytest.raises(AccountMissing):
        PositionManager().open_position(user_id="no-account", exchange="okx", symbol=BTC, side="long", size="0.1")

    assert okx.requests_to(PLACE_ORDER) == []
    assert not Order.objects.exists()
