"""Clear errors for closes that cannot happen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from positions.services import PositionManager
from tests.managers import OTHER_USER, USER, btc, mark
from tradingcore.exceptions import InsufficientPosition, InvalidInput, ObjectNotFound

pytestmark = pytest.mark.django_db(transaction=True)


def test_closing_more_than_is_open_is_a_conflict_and_sends_nothing() -> None:
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="short", size="0.5"))

    with pytest.raises(InsufficientPosition) as error:
        manager.close_position(position.id, size="0.6")

    assert error.value.code == "insufficient_position"
    after = manager.get_position(position.id)
    assert (after.size, after.status) == (Decimal("0.5"), "open")
    assert not Order.objects.filter(position_id=position.id, reduce_only=True).exists()  # nothing was sent


def test_closing_another_users_position_is_not_found() -> None:
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="long", size="0.1"))

    with pytest.raises(ObjectNotFound):
        manager.close_position(position.id, user_id=OTHER_USER)


def test_closing_without_an_open_position_is_not_found() -> None:
    with pytest.raises(ObjectNotFound):
        PositionManager().close_position(user_id=USER, exchange="okx", symbol="BTC-USDT-SWAP", side="long")


@pytest.mark.parametrize(
    ("field", "value"),
    [("size", "0"), ("size", "-1"), ("size", "NaN"), ("size", "Infinity"), ("leverage", 0), ("leverage", 126),
     ("side", "sideways"), ("exchange", "kraken"), ("symbol", "X" * 33), ("size", "0.123456789")],
)  # fmt: skip
def test_invalid_open_requests_name_the_field(field: str, value: object) -> None:
    mark("100")
    arguments = btc(side="long", size="0.1")
    arguments[field] = value

    with pytest.raises(InvalidInput) as error:
        PositionManager().open_position(**arguments)

    assert field in str(error.value)
