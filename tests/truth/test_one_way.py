"""Kind 4 of issue 9: one-way (net) accounts.

The account's position mode decides how every fill is applied: in one-way mode a fill first
reduces the opposite position and opens its own side with the rest, exactly as the exchange nets.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import OrderManager
from positions.models import Position
from positions.services import PositionManager
from tests.managers import USER, btc, mark
from tests.truth.conftest import BTC, OKX_USER
from tradingcore.enums import PositionMode, PositionStatus
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def positions() -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    rows = Position.objects.order_by("created_at")
    return [(p.side, p.status, p.size, p.entry_price, p.realized_pnl) for p in rows]


def test_sell_of_more_than_the_long_closes_it_and_opens_the_rest_short_on_loopback_okx(okx_net) -> None:  # type: ignore[no-untyped-def]
    okx_net.set_mark(BTC, "60000")
    PositionManager().open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long", size="0.1")
    okx_net.set_mark(BTC, "61000")

    OrderManager().create_order(user_id=OKX_USER, exchange="okx", symbol=BTC, side="sell", order_type="market",
                                quantity="0.3")  # fmt: skip

    assert positions() == [
        ("long", PositionStatus.CLOSED, D("0.1"), D("60000"), D("100")),
        ("short", PositionStatus.OPEN, D("0.2"), D("61000"), D("0")),
    ]
    [held] = [p for p in okx_net.positions.values() if D(p["pos"]) != 0]
    assert (held["posSide"], held["pos"], held["avgPx"]) == ("net", "-20", "61000")
    sent = [r.body for r in okx_net.requests_to("/api/v5/trade/order", "POST")]
    assert all("posSide" not in body or body["posSide"] == "net" for body in sent)


@pytest.fixture
def one_way_paper() -> None:
    ExchangeAccount.objects.create(user_id=USER, exchange="okx", api_key="k", api_secret="s", passphrase="p",
                                   position_mode=PositionMode.ONE_WAY)  # fmt: skip


def test_the_same_on_the_paper_exchange(one_way_paper: None) -> None:
    mark("60000")
    PositionManager().open_position(**btc(side="long", size=D("0.1")))
    mark("61000")

    order = OrderManager().create_order(**btc(side="sell", order_type="market", quantity=D("0.3")))

    assert positions() == [
        ("long", PositionStatus.CLOSED, D("0.1"), D("60000"), D("100")),
        ("short", PositionStatus.OPEN, D("0.2"), D("61000"), D("0")),
    ]
    assert Order.objects.get(pk=order.id).position_side == ""


def test_a_buy_against_a_short_reduces_it_without_opening_a_long(one_way_paper: None) -> None:
    mark("60000")
    PositionManager().open_position(**btc(side="short", size=D("0.3")))
    mark("59000")

    OrderManager().create_order(**btc(side="buy", order_type="market", quantity=D("0.1")))

    assert positions() == [("short", PositionStatus.OPEN, D("0.2"), D("60000"), D("100"))]


def test_an_exact_opposite_order_closes_the_position_and_opens_nothing(one_way_paper: None) -> None:
    mark("60000")
    PositionManager().open_position(**btc(side="long", size=D("0.1")))
    mark("59500")

    OrderManager().create_order(**btc(side="sell", order_type="market", quantity=D("0.1")))

    assert positions() == [("long", PositionStatus.CLOSED, D("0.1"), D("60000"), D("-50"))]


def test_hedge_accounts_keep_both_sides(okx) -> None:  # type: ignore[no-untyped-def]
    okx.set_mark(BTC, "60000")
    PositionManager().open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long", size="0.1")

    OrderManager().create_order(user_id=OKX_USER, exchange="okx", symbol=BTC, side="sell", order_type="market",
                                quantity="0.3")  # fmt: skip

    assert positions() == [
        ("long", PositionStatus.OPEN, D("0.1"), D("60000"), D("0")),
        ("short", PositionStatus.OPEN, D("0.3"), D("60000"), D("0")),
    ]
