"""A one-way (net) account on the paper exchange: the account's position mode decides, every fill
nets whatever side a caller names, and one net position per symbol is reported.

The paper exchange takes the position mode from the user's active ``ExchangeAccount`` on that
exchange (in dry run it plays the real exchange), else hedge.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.paper_requests import BTC, request
from tradingcore.enums import Exchange, OrderSide, PositionMode, PositionSide
from tradingcore.exchange.paper import PaperGateway, set_mark
from tradingcore.models import ExchangeAccount, PaperPosition

pytestmark = pytest.mark.django_db
D = Decimal
USER = "one-way-user"


def account(exchange: str, mode: PositionMode, **fields: Any) -> ExchangeAccount:
    values: dict[str, Any] = {"api_key": "k", "api_secret": "s", "passphrase": "p", "label": f"{exchange}-{mode}"}
    values.update(fields)
    return ExchangeAccount.objects.create(user_id=USER, exchange=exchange, position_mode=mode, **values)


@pytest.fixture
def one_way() -> PaperGateway:
    account("paper", PositionMode.ONE_WAY)
    set_mark("paper", BTC, D("60000"))
    return PaperGateway(exchange="paper", user_id=USER)


def test_position_mode_is_the_accounts_or_hedge_without_one() -> None:
    account("okx", PositionMode.ONE_WAY)
    account("bybit", PositionMode.ONE_WAY, is_active=False)

    assert PaperGateway(exchange="okx", user_id=USER).position_mode is PositionMode.ONE_WAY  # dry run of okx
    assert PaperGateway(exchange="bybit", user_id=USER).position_mode is PositionMode.HEDGE  # inactive account
    assert PaperGateway(exchange="paper", user_id=USER).position_mode is PositionMode.HEDGE  # no account
    assert PaperGateway(exchange=Exchange.PAPER, user_id=USER, position_mode=PositionMode.ONE_WAY).position_mode is (
        PositionMode.ONE_WAY
    )


def test_sell_larger_than_the_long_closes_it_and_opens_the_net_short_even_when_it_names_the_long(
    one_way: PaperGateway,
) -> None:
    # given a one-way long of 0.1 at 60000, and the mark at 61000
    one_way.place_order(request("buy", quantity="0.1", position_side=PositionSide.LONG))
    set_mark("paper", BTC, D("61000"))
    # when a market sell of 0.3 names the long side
    sold = one_way.place_order(request("sell", quantity="0.3", position_side=PositionSide.LONG))
    # then it nets: the long closes with +100 realized and a short of 0.2 at 61000 opens
    assert (sold.side, sold.filled_qty, sold.position_side) == (OrderSide.SELL, D("0.3"), None)
    positions = one_way.fetch_positions()
    assert [(p.symbol, p.side, p.size, p.entry_price) for p in positions] == [
        (BTC, PositionSide.SHORT, D("0.2"), D("61000"))
    ]
    long = PaperPosition.objects.get(user_id=USER, exchange="paper", symbol=BTC, side=PositionSide.LONG)
    assert (long.size, long.realized_pnl) == (D("0"), D("100"))


def test_resting_order_of_a_one_way_account_nets_when_the_mark_reaches_it(one_way: PaperGateway) -> None:
    # given a one-way long of 0.1 and a resting sell of 0.15 at 61000 that names the long
    one_way.place_order(request("buy", quantity="0.1"))
    one_way.place_order(request("sell", "limit", "0.15", price="61000", position_side=PositionSide.LONG))
    # when the mark reaches it
    set_mark("paper", BTC, D("61000"))
    # then one net short of 0.05 at 61000 remains
    assert [(p.side, p.size, p.entry_price) for p in one_way.fetch_positions()] == [
        (PositionSide.SHORT, D("0.05"), D("61000"))
    ]


def test_hedge_account_keeps_both_sides_apart(one_way: PaperGateway) -> None:
    hedge = PaperGateway(exchange="paper", user_id="hedge-user")
    hedge.place_order(request("buy", quantity="0.1", position_side=PositionSide.LONG))

    hedge.place_order(request("sell", quantity="0.3", position_side=PositionSide.SHORT))

    assert [(p.side, p.size) for p in hedge.fetch_positions()] == [
        (PositionSide.LONG, D("0.1")),
        (PositionSide.SHORT, D("0.3")),
    ]
