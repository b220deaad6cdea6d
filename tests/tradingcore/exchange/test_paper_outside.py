"""Acting on the paper exchange behind the service's back (``paper.outside``): a sale made directly
on the exchange, an order the exchange forgets, a liquidation.

BTC-USDT-SWAP: 0.01 BTC per contract; taker fee 5 bp.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.paper_requests import BTC, request
from tradingcore.enums import OrderSide, OrderStatus, OrderType, PositionMode, PositionSide
from tradingcore.exceptions import ExchangeOrderNotFound, InvalidInput, InvalidOrder
from tradingcore.exchange.paper import PaperGateway, outside, set_mark
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db
D = Decimal
USER = "outside-user"


@pytest.fixture(autouse=True)
def _fees(settings: Any) -> None:
    settings.TRADING_PAPER_MAKER_FEE = "0.0002"
    settings.TRADING_PAPER_TAKER_FEE = "0.0005"
    settings.TRADING_PAPER_SLIPPAGE_BPS = "0"


@pytest.fixture
def gateway() -> PaperGateway:
    """A hedge account holding a long of 0.1 BTC at 45000."""
    set_mark("paper", BTC, D("45000"))
    paper = PaperGateway(exchange="paper", user_id=USER)
    paper.place_order(request("buy", quantity="0.1", position_side=PositionSide.LONG, client_order_id="entry1"))
    return paper


def a_moment_ago() -> datetime:
    return datetime.now(tz=UTC) - timedelta(seconds=5)


# -- trading directly on the exchange --------------------------------------------------------------


def test_sale_made_directly_on_the_exchange_shrinks_the_position_and_is_listed(gateway: PaperGateway) -> None:
    # when 0.04 is sold directly on the exchange
    sold = outside.sell("paper", USER, BTC, "0.04", position_side=PositionSide.LONG)
    # then the exchange holds 0.06, a close of 0.1 is refused, and the sale is among the account's trades
    assert (sold.status, sold.filled_qty, sold.client_order_id[:8]) == (OrderStatus.FILLED, D("0.04"), "outside-")
    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.06"))]
    with pytest.raises(InvalidOrder, match="the long position on BTC-USDT-SWAP is 0.06"):
        gateway.place_order(request("sell", quantity="0.1", reduce_only=True, position_side=PositionSide.LONG))
    listed = gateway.fetch_trades(BTC, since=a_moment_ago())
    assert [(f.client_order_id, f.side, f.quantity, f.price) for f in listed] == [
        ("entry1", OrderSide.BUY, D("0.1"), D("45000")),
        (sold.client_order_id, OrderSide.SELL, D("0.04"), D("45000")),
    ]


def test_buy_made_directly_on_the_exchange_adds_to_the_position(gateway: PaperGateway) -> None:
    outside.buy("paper", USER, BTC, "0.02", position_side=PositionSide.LONG)

    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.12"))]


# -- forgotten orders ------------------------------------------------------------------------------


def test_forgotten_filled_order_is_not_found_but_its_trades_stay_listed(gateway: PaperGateway) -> None:
    # given a filled market order that the exchange then forgets
    placed = gateway.place_order(request("buy", quantity="0.02", client_order_id="forget1"))
    outside.forget("paper", placed.exchange_order_id)
    # then every order lookup says not found
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    with pytest.raises(ExchangeOrderNotFound):
        gateway.cancel_order(BTC, client_order_id="forget1")
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, client_order_id="forget1")
    # but its trade is still listed, by exchange id and among the account's trades
    by_id = gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id)
    assert [(f.quantity, f.client_order_id) for f in by_id] == [(D("0.02"), "forget1")]
    assert "forget1" in [f.client_order_id for f in gateway.fetch_trades(BTC, since=a_moment_ago())]


def test_forgotten_live_order_stops_trading_and_is_not_listed_as_open(gateway: PaperGateway) -> None:
    placed = gateway.place_order(request("buy", "limit", "0.05", price="44000", client_order_id="forget2"))

    outside.forget("paper", placed.exchange_order_id)
    set_mark("paper", BTC, D("43900"))

    assert gateway.fetch_open_orders() == []
    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.1"))]


def test_forgotten_order_whose_trades_are_gone_too_is_not_found_anywhere(gateway: PaperGateway) -> None:
    placed = gateway.place_order(request("buy", quantity="0.02", client_order_id="forget3"))

    outside.forget("paper", placed.exchange_order_id, keep_trades=False)

    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id)
    assert [f.client_order_id for f in gateway.fetch_trades(BTC, since=a_moment_ago())] == ["entry1"]


def test_forgetting_an_unknown_order_raises_not_found() -> None:
    with pytest.raises(ExchangeOrderNotFound):
        outside.forget("paper", "paper-999999")


# -- liquidations ------------------------------------------------------------------------------------


def test_liquidation_closes_the_position_at_the_given_price_and_cancels_its_stop(gateway: PaperGateway) -> None:
    # given the long of 0.1 at 45000 protected by a stop at 44000
    gateway.place_order(
        request(
            "sell",
            "stop_loss",
            "0.1",
            trigger_price="44000",
            reduce_only=True,
            position_side=PositionSide.LONG,
            client_order_id="stop1",
        )
    )
    # when the exchange liquidates it at 43500
    liquidation = outside.liquidate("paper", USER, BTC, PositionSide.LONG, price="43500")
    # then its own order sold 0.1 at 43500 with the taker fee, the position is gone, the stop cancelled
    assert (liquidation.side, liquidation.order_type, liquidation.status) == (
        OrderSide.SELL,
        OrderType.MARKET,
        OrderStatus.FILLED,
    )
    assert (liquidation.filled_qty, liquidation.avg_fill_price, liquidation.fee) == (D("0.1"), D("43500"), D("2.175"))
    assert gateway.fetch_positions() == []
    assert gateway.fetch_open_orders() == []
    assert gateway.fetch_order(BTC, client_order_id="stop1").status is OrderStatus.CANCELLED
    # and the account's trades show the forced sell as a liquidation of the long
    forced = gateway.fetch_trades(BTC, since=a_moment_ago())[-1]
    assert (forced.exchange_order_id, forced.side, forced.position_side, forced.liquidation) == (
        liquidation.exchange_order_id,
        OrderSide.SELL,
        PositionSide.LONG,
        True,
    )


def test_liquidation_at_the_mark_without_listed_trades_leaves_only_the_vanished_position(
    gateway: PaperGateway,
) -> None:
    set_mark("paper", BTC, D("44200"))

    liquidation = outside.liquidate("paper", USER, BTC, list_trades=False)

    assert liquidation.avg_fill_price == D("44200")
    assert gateway.fetch_positions() == []
    assert [f.client_order_id for f in gateway.fetch_trades(BTC, since=a_moment_ago())] == ["entry1"]


def test_liquidation_of_a_one_way_position_names_no_position_side() -> None:
    set_mark("paper", BTC, D("45000"))
    ExchangeAccount.objects.create(
        user_id=USER, exchange="paper", api_key="k", api_secret="s", passphrase="p", position_mode=PositionMode.ONE_WAY
    )
    one_way = PaperGateway(exchange="paper", user_id=USER)
    one_way.place_order(request("sell", quantity="0.1", position_side=PositionSide.SHORT))

    liquidation = outside.liquidate("paper", USER, BTC, price="46000")

    assert (liquidation.side, liquidation.position_side, liquidation.reduce_only) == (OrderSide.BUY, None, True)
    assert one_way.fetch_positions() == []


def test_liquidation_without_a_position_is_refused() -> None:
    set_mark("paper", BTC, D("45000"))

    with pytest.raises(InvalidInput, match="0 open positions"):
        outside.liquidate("paper", "nobody", BTC)
