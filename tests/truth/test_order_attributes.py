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
