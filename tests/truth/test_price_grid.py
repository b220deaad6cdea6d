"""Kind 10 of issue 9: prices on the exchange's grid.

A limit or trigger price off the market's tick is refused with the tick named, or rounded only
when the caller asks, and then stored as sent: what we store is what the exchange received.
Paper exchange; OKX ETH-USDT-SWAP has a tick of 0.01, BTC-USDT-SWAP of 0.1.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import OrderManager
from positions.services import PositionManager
from tests.managers import ETH, btc, mark
from tradingcore.exceptions import InvalidOrder
from tradingcore.models.paper import PaperOrder

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def eth(**values: object) -> dict[str, object]:
    return btc(symbol=ETH, **values)


def test_limit_buy_of_1_eth_at_2900_005_is_refused_naming_the_tick() -> None:
    mark("3000", symbol=ETH)

    with pytest.raises(InvalidOrder) as caught:
        OrderManager().create_order(**eth(side="buy", order_type="limit", quantity=D("1"), price=D("2900.005")))

    assert caught.value.details == {"price": ["a multiple of 0.01; nearest: 2900, 2900.01"]}
    assert "off the tick of 0.01" in caught.value.message
    assert not Order.objects.exists()
    assert not PaperOrder.objects.exists()


def test_price_rounding_when_asked_stores_exactly_what_the_exchange_received() -> None:
    mark("3000", symbol=ETH)

    order = OrderManager().create_order(
        **eth(side="buy", order_type="limit", quantity=D("1"), price=D("2900.005"), price_rounding="up")
    )

    assert order.price == D("2900.01")
    assert PaperOrder.objects.get().price == D("2900.01")
    assert Order.objects.get(pk=order.id).metadata["requested_price"] == "2900.005"


def test_trigger_prices_off_the_tick_are_refused() -> None:
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        OrderManager().create_order(
            **btc(side="buy", order_type="trigger", quantity=D("0.1"), trigger_price=D("46000.05"))
        )

    assert caught.value.details == {"trigger_price": ["a multiple of 0.1; nearest: 46000, 46000.1"]}


def test_stop_loss_and_take_profit_off_the_tick_are_refused_before_the_entry_is_sent() -> None:
    mark("45000")
    manager = PositionManager()

    with pytest.raises(InvalidOrder) as caught:
        manager.open_position(**btc(side="long", size=D("0.1"), stop_loss_price=D("44000.05")))
    assert caught.value.details == {"stop_loss_price": ["a multiple of 0.1; nearest: 44000, 44000.1"]}
    assert not Order.objects.exists()

    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    with pytest.raises(InvalidOrder) as moved:
        manager.update_position(opened.id, take_profit_price=D("46000.07"))
    assert moved.value.details == {"take_profit_price": ["a multiple of 0.1; nearest: 46000, 46000.1"]}

    updated = manager.update_position(opened.id, take_profit_price=D("46000.07"), price_rounding="nearest")
    assert updated.take_profit_price == D("46000.1")
    assert Order.objects.get(position_id=opened.id, role="take_profit").trigger_price == D("46000.1")
