"""Kind 15 of issue 9: numbers in error messages are plain (0.06, 0.00000001), never 0E-8 or 1E-8."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from orders.services import OrderManager
from positions.services import PositionManager
from tests.managers import btc, mark
from tradingcore.exceptions import InsufficientPosition, InvalidOrder, TradingError, plain_numbers

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
NOT_PLAIN = re.compile(r"\d E[+-]?\d|\d\.\d*0(?![\d.])".replace(" ", ""))


def assert_plain(error: TradingError) -> None:
    assert not NOT_PLAIN.search(error.message), error.message
    assert not NOT_PLAIN.search(str(error.details)), error.details


def test_a_close_beyond_the_open_size_names_plain_sizes() -> None:
    mark("45000")
    manager = PositionManager()
    opened = manager.open_position(**btc(side="long", size=D("0.06")))

    with pytest.raises(InsufficientPosition) as caught:
        manager.close_position(opened.id, size=D("0.1"))

    assert caught.value.message == "cannot close 0.1: 0.06 of 0.06 is open and not already being closed"
    assert caught.value.details == {"size": ["at most 0.06"], "open_size": "0.06"}


def test_a_size_below_the_minimum_names_it_plainly() -> None:
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        OrderManager().create_order(**btc(side="buy", order_type="market", quantity=D("0.00000001")))

    assert "0.00000001 BTC" in caught.value.message
    assert_plain(caught.value)


def test_the_paper_exchange_refusals_name_plain_numbers() -> None:
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        OrderManager().create_order(**btc(side="sell", order_type="market", quantity=D("0.1"), reduce_only=True))

    assert caught.value.message == (
        "reduce-only sell of 0.1 would increase the position: the long position on BTC-USDT-SWAP is 0"
    )


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("0E-8", "0"),
        ("1E-8", "0.00000001"),
        ("3E+2 contracts", "300 contracts"),
        ("size 0.06000000 of 45000.00000000", "size 0.06 of 45000"),
        ("-1.18000000", "-1.18"),
        ("order 4aced26d704c4141a42703ad740be78c at 127.0.0.1", "order 4aced26d704c4141a42703ad740be78c at 127.0.0.1"),
        ("client order ABC1E5 v1.10", "client order ABC1E5 v1.10"),
    ],
)
def test_plain_numbers(text: str, plain: str) -> None:
    assert plain_numbers(text) == plain
    assert TradingError(text).message == plain
