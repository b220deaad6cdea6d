"""Kind 7 and 8 of issue 9: margin mode and position side travel with every order of a position,
and OKX's ``posSide`` passed in ``metadata`` (as the seed documents do) is the position side."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.services import OrderManager
from positions.models import Position
from positions.services import PositionManager
from tests.managers import btc, mark
from tradingcore.enums import OrderStatus, PositionStatus
from tradingcore.exceptions import InvalidInput

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_hedge_mode_close_order_with_metadata_possside_long_closes_the_long() -> None:
    mark("45000")
    opened = PositionManager().open_position(**btc(side="long", size=D("0.1")))

    order = OrderManager().create_order(
        **btc(side="sell", order_type="market", quantity=D("0.1"), metadata={"posSide": "long"})
    )

    assert order.status == OrderStatus.FILLED
    assert order.position_side == "long"
    assert Position.objects.get(pk=opened.id).status == PositionStatus.CLOSED
    assert not Position.objects.filter(side="short").exists()


def test_metadata_possside_that_contradicts_position_side_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        OrderManager().create_order(
            **btc(side="sell", order_type="market", quantity=D("0.1"), position_side="short",
                  metadata={"posSide": "long"})
        )  # fmt: skip
    assert "position_side" in caught.value.details


def test_every_order_of_an_isolated_position_carries_its_margin_mode_and_side(okx) -> None:  # type: ignore[no-untyped-def]
    # Kind 7: entry, add (which names no margin mode), partial close, stop-loss, take-profit and
    # the full close all go to OKX with tdMode=isolated and posSide=short, whatever the defaults.
    from tests.tradingcore.exchange.okx_loopback import PLACE_ALGO, PLACE_ORDER
    from tests.truth.conftest import BTC, OKX_USER

    manager = PositionManager()
    common = {"user_id": OKX_USER, "exchange": "okx", "symbol": BTC, "side": "short"}
    opened = manager.open_position(**common, size="0.1", margin_mode="isolated", leverage=3,
                                   stop_loss_price="46000", take_profit_price="44000")  # fmt: skip
    manager.open_position(**common, size="0.1")
    manager.close_position(opened.id, size="0.05")
    manager.close_position(opened.id)

    orders = okx.requests_to(PLACE_ORDER, "POST")
    algos = okx.requests_to(PLACE_ALGO, "POST")
    assert len(orders) == 4
    assert len(algos) >= 4  # the first stop and take-profit, then their resized replacements
    assert {(r.body["tdMode"], r.body["posSide"]) for r in orders + algos} == {("isolated", "short")}
    leverage = okx.requests_to("/api/v5/account/set-leverage", "POST")
    assert [(r.body["mgnMode"], r.body["posSide"], str(r.body["lever"])) for r in leverage] == [
        ("isolated", "short", "3")
    ]


def test_an_add_that_names_another_margin_mode_is_refused_before_anything_is_sent() -> None:
    mark("45000")
    manager = PositionManager()
    manager.open_position(**btc(side="long", size=D("0.1"), margin_mode="isolated"))
    orders_before = OrderManager().get_orders(user_id="user123")

    with pytest.raises(InvalidInput) as caught:
        manager.open_position(**btc(side="long", size=D("0.1"), margin_mode="cross"))

    assert caught.value.details == {"margin_mode": ["the open position is isolated"]}
    assert len(OrderManager().get_orders(user_id="user123")) == len(orders_before)
