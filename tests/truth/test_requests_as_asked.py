"""Kind 9 of issue 9: what the caller asked is what happens, or a clear error.

Paper exchange; OKX BTC-USDT-SWAP counts contracts of 0.01 BTC (lot 0.01 BTC).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, OrderEvent
from orders.services import OrderManager
from positions.models import Position
from positions.services import PositionManager
from tests.managers import btc, mark
from tradingcore.enums import OrderStatus, PositionStatus
from tradingcore.exceptions import InvalidInput, InvalidOrder

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


# -- sizes off the lot ---------------------------------------------------------------------------------


def test_long_0_015_btc_is_refused_naming_the_nearest_sizes_and_nothing_is_saved() -> None:
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        PositionManager().open_position(**btc(side="long", size=D("0.015")))

    assert caught.value.details == {"size": ["a multiple of 0.01; nearest: 0.01, 0.02"]}
    assert "send 0.01 BTC or 0.02 BTC, or ask for rounding" in caught.value.message
    assert not Order.objects.exists()
    assert not Position.objects.exists()


def test_asking_for_rounding_places_the_rounded_size_and_says_what_was_asked() -> None:
    mark("45000")

    position = PositionManager().open_position(**btc(side="long", size=D("0.015"), rounding="down"))

    assert position.size == D("0.01")
    entry = Order.objects.get(position_id=position.id)
    assert entry.quantity == D("0.01")
    assert entry.metadata["requested_quantity"] == "0.015"


@pytest.mark.parametrize(("rounding", "placed"), [("up", "0.02"), ("nearest", "0.02"), ("down", "0.01")])
def test_order_quantities_round_only_as_asked(rounding: str, placed: str) -> None:
    mark("45000")

    order = OrderManager().create_order(**btc(side="buy", order_type="market", quantity=D("0.015"), rounding=rounding))

    assert order.quantity == D(placed)
    assert order.filled_qty == D(placed)


def test_other_sizes_off_the_lot_are_refused_too() -> None:
    mark("45000")
    manager = PositionManager()
    opened = manager.open_position(**btc(side="long", size=D("0.1")))

    with pytest.raises(InvalidOrder) as on_order:
        OrderManager().create_order(**btc(side="buy", order_type="limit", quantity=D("0.123"), price=D("44000")))
    with pytest.raises(InvalidOrder) as on_close:
        manager.close_position(opened.id, size=D("0.055"))

    assert on_order.value.details == {"quantity": ["a multiple of 0.01; nearest: 0.12, 0.13"]}
    assert on_close.value.details == {"size": ["a multiple of 0.01; nearest: 0.05, 0.06"]}
    assert Position.objects.get(pk=opened.id).size == D("0.1")
    assert Order.objects.count() == 1


def test_an_unknown_rounding_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as caught:
        OrderManager().create_order(**btc(side="buy", order_type="market", quantity=D("0.015"), rounding="half"))

    assert caught.value.details == {"rounding": ["one of down, up, nearest"]}


# -- a refusal by the exchange is kept -----------------------------------------------------------------


def test_reduce_only_sell_with_no_position_is_refused_and_kept_as_a_rejected_order() -> None:
    # Decided: checks before sending save nothing; what the exchange refuses is kept as a
    # rejected order with its reason and events (the audit trail of what was attempted).
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        OrderManager().create_order(**btc(side="sell", order_type="market", quantity=D("0.1"), reduce_only=True))

    assert "would increase the position" in caught.value.message
    [order] = Order.objects.all()
    assert order.status == OrderStatus.REJECTED
    assert "would increase the position" in order.last_error
    assert list(OrderEvent.objects.filter(order=order).values_list("type", flat=True)) == ["created", "rejected"]


# -- PnL of a closed position --------------------------------------------------------------------------


def test_a_closed_position_has_no_unrealized_pnl_at_any_price() -> None:
    mark("45000")
    manager = PositionManager()
    opened = manager.open_position(**btc(side="long", size=D("0.2")))
    mark("43970")
    manager.close_position(opened.id)
    mark("44500")

    stored = manager.calculate_pnl(opened.id)
    at_price = manager.calculate_pnl(opened.id, current_price=D("45650"))

    assert Position.objects.get(pk=opened.id).status == PositionStatus.CLOSED
    for info in (stored, at_price):
        assert info.realized_pnl == D("-206")
        assert info.unrealized_pnl == D("0")
        assert info.total_pnl == D("-206")
