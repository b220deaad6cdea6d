"""The ccxt gateway reads trades from OKX's fills history: every trade of one order, the account's
trades since a time (paginated), forgotten orders, late-listed trades and liquidations.

Real ccxt against ``OkxLoopback``; the loopback's controls play the exchange (see its docstring).
BTC-USDT-SWAP: 0.01 BTC per contract, mark 60000, maker fee 0.02 %, taker fee 0.05 %.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.tradingcore.exchange.okx_accounts import BTC, only, order, stop_loss
from tests.tradingcore.exchange.okx_loopback import CANCEL_ORDER, FILLS_HISTORY, OkxLoopback, RecordedRequest
from tradingcore.enums import Liquidity, OrderSide, OrderStatus, OrderType, PositionSide
from tradingcore.exceptions import ExchangeError, ExchangeOrderNotFound, InvalidInput
from tradingcore.exchange.base import ExchangeFill, Fee
from tradingcore.exchange.ccxt import CcxtGateway, trades

pytestmark = pytest.mark.django_db
D = Decimal


def resting_buy(gateway: CcxtGateway, client_order_id: str, quantity: str = "0.1", price: str = "59000") -> str:
    """A resting limit buy (below the mark); returns its exchange id."""
    placed = gateway.place_order(
        order(order_type=OrderType.LIMIT, price=D(price), quantity=quantity, client_order_id=client_order_id)
    )
    return placed.exchange_order_id


def a_moment_ago() -> datetime:
    return datetime.now(tz=UTC) - timedelta(seconds=5)


# -- every trade of one order ----------------------------------------------------------------------


def test_order_trades_list_each_partial_fill_with_its_own_price_and_fee(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a limit buy of 0.1 BTC filled 4 contracts at 59000, then 6 at 58900, as maker
    ord_id = resting_buy(gateway, "parts1")
    okx.fill(ord_id, "4")
    okx.fill(ord_id, "6", price="58900")
    # when the gateway asks for the order's trades
    fills = gateway.fetch_order_trades(BTC, exchange_order_id=ord_id)
    # then each trade comes back in base currency, with its price and maker fee, naming its order
    assert [(f.quantity, f.price, f.fee, f.fee_currency) for f in fills] == [
        (D("0.04"), D("59000"), D("0.472"), "USDT"),
        (D("0.06"), D("58900"), D("0.7068"), "USDT"),
    ]
    assert {(f.exchange_order_id, f.client_order_id, f.side, f.position_side) for f in fills} == {
        (ord_id, "parts1", OrderSide.BUY, PositionSide.LONG)
    }
    assert all(f.liquidity is Liquidity.MAKER and not f.liquidation for f in fills)
    # and ccxt asked OKX's fills history by ordId
    sent = only(okx.requests_to(FILLS_HISTORY)).query
    assert (sent["ordId"], sent["instType"], sent["instId"]) == (ord_id, "SWAP", BTC)


def test_order_trades_by_client_id_look_the_order_up_first(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    placed = gateway.place_order(order(quantity="0.1", client_order_id="byclient1"))

    fills = gateway.fetch_order_trades(BTC, client_order_id="byclient1")

    taker_fill = (D("0.1"), D("60000"), D("3"), Liquidity.TAKER)
    assert [(f.quantity, f.price, f.fee, f.liquidity) for f in fills] == [taker_fill]
    assert okx.requests_to(FILLS_HISTORY)[-1].query["ordId"] == placed.exchange_order_id


def test_order_without_fills_has_no_trades(gateway: CcxtGateway) -> None:
    ord_id = resting_buy(gateway, "resting1")

    assert gateway.fetch_order_trades(BTC, exchange_order_id=ord_id) == []


def test_order_trades_of_an_unknown_order_raise_not_found(gateway: CcxtGateway) -> None:
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, exchange_order_id="123456789")
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, client_order_id="nosuchorder")


def test_trades_of_a_fired_stop_loss_are_those_of_the_order_it_placed(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a long of 0.1 and its stop-loss, fired at a mark of 55000
    gateway.place_order(order(quantity="0.1", client_order_id="entry1"))
    placed = gateway.place_order(stop_loss("sl1"))
    okx.set_mark(BTC, "55000")
    child_id = okx.trigger_algo(placed.exchange_order_id)
    # when the trades of the stop-loss (its algo id) are asked for
    fills = gateway.fetch_order_trades(BTC, exchange_order_id=placed.exchange_order_id)
    # then they are the market sell it placed: 0.1 at 55000, taker fee 2.75, closing the long
    assert [(f.exchange_order_id, f.side, f.position_side, f.quantity, f.price, f.fee) for f in fills] == [
        (child_id, OrderSide.SELL, PositionSide.LONG, D("0.1"), D("55000"), D("2.75"))
    ]


# -- orders the exchange has forgotten -------------------------------------------------------------


def test_forgotten_order_is_not_found_but_its_trades_are_still_listed(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a limit buy filled by 4 of 10 contracts, which the exchange then forgets
    ord_id = resting_buy(gateway, "forgot1")
    okx.fill(ord_id, "4")
    okx.forget(ord_id)
    # then fetching and cancelling it say it does not exist (OKX 51603), and it is not listed as open
    with pytest.raises(ExchangeOrderNotFound) as fetched:
        gateway.fetch_order(BTC, exchange_order_id=ord_id)
    assert fetched.value.details["exchange_code"] == "51603"
    with pytest.raises(ExchangeOrderNotFound):
        gateway.cancel_order(BTC, exchange_order_id=ord_id)
    assert gateway.fetch_open_orders(BTC) == []
    # but its trade is still in the fills history, by exchange id
    fills = gateway.fetch_order_trades(BTC, exchange_order_id=ord_id)
    assert [(f.quantity, f.price, f.client_order_id) for f in fills] == [(D("0.04"), D("59000"), "forgot1")]


def test_forgotten_order_cannot_be_reached_by_client_id(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    ord_id = resting_buy(gateway, "forgot2")
    okx.fill(ord_id, "10")
    okx.forget(ord_id)

    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, client_order_id="forgot2")


def test_forgotten_order_whose_trades_are_gone_too_is_not_found(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    ord_id = resting_buy(gateway, "forgot3")
    okx.fill(ord_id, "10")
    okx.forget(ord_id, keep_trades=False)

    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order_trades(BTC, exchange_order_id=ord_id)
    assert gateway.fetch_trades(BTC, since=a_moment_ago()) == []


def test_loopback_answers_a_cancel_of_a_forgotten_order_with_order_does_not_exist(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # given an order the exchange forgot (the gateway looks an order up before cancelling it, so the
    # cancel itself reaches OKX only when the order vanishes in between)
    ord_id = resting_buy(gateway, "forgot4")
    okx.forget(ord_id)
    # when a cancel for it arrives, then OKX answers 51603 "Order does not exist" for the item
    status, answer, _ = okx.handle(RecordedRequest("POST", CANCEL_ORDER, {}, {"instId": BTC, "ordId": ord_id}, {}))
    assert (status, answer["code"], answer["data"][0]["sCode"]) == (200, "1", "51603")


# -- running totals now, trades later ----------------------------------------------------------------


def test_order_reported_as_running_totals_gets_its_trades_when_they_are_listed(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # given an exchange that reports fills as running totals and lists the trades later
    okx.report_totals_only()
    ord_id = resting_buy(gateway, "totals1")
    okx.fill(ord_id, "4")
    okx.fill(ord_id, "6", price="58900")
    # then the order says filled 0.1 at an average of 58940, while no trade is listed yet
    reported = gateway.fetch_order(BTC, exchange_order_id=ord_id)
    assert (reported.status, reported.filled_qty, reported.avg_fill_price) == (OrderStatus.FILLED, D("0.1"), D("58940"))
    assert reported.fills == ()
    assert gateway.fetch_order_trades(BTC, exchange_order_id=ord_id) == []
    # when the exchange lists them, then both trades come back at their own prices
    assert okx.list_trades(ord_id) == 2
    fills = gateway.fetch_order_trades(BTC, exchange_order_id=ord_id)
    assert [(f.quantity, f.price) for f in fills] == [(D("0.04"), D("59000")), (D("0.06"), D("58900"))]


# -- the account's trades since a time --------------------------------------------------------------


def test_account_trades_since_a_time_leave_out_older_ones(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a buy, then (later) a sell
    gateway.place_order(order(quantity="0.1", client_order_id="before1"))
    time.sleep(0.01)
    since = datetime.now(tz=UTC)
    time.sleep(0.01)
    okx.set_mark(BTC, "61000")
    sold = gateway.place_order(
        order(side=OrderSide.SELL, quantity="0.04", position_side=PositionSide.LONG, client_order_id="after1")
    )
    # when the trades since the moment between them are asked for
    fills = gateway.fetch_trades(BTC, since=since)
    # then only the sell is there, naming its order, side and position side
    assert [(f.exchange_order_id, f.client_order_id, f.side, f.position_side) for f in fills] == [
        (sold.exchange_order_id, "after1", OrderSide.SELL, PositionSide.LONG)
    ]
    assert (fills[0].quantity, fills[0].price, fills[0].fee) == (D("0.04"), D("61000"), D("1.22"))
    since_ms = (since - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert okx.requests_to(FILLS_HISTORY)[0].query["begin"] == str(since_ms)


def test_account_trades_follow_the_pages_to_the_first_trade(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given 230 trades of one order (OKX lists 100 a page, newest first)
    since = a_moment_ago()
    ord_id = resting_buy(gateway, "many1", quantity="3")
    for _ in range(230):
        okx.fill(ord_id, "1")
    # when the account's trades are asked for
    fills = gateway.fetch_trades(BTC, since=since)
    # then all 230 come back once each, oldest first, after three pages
    assert len(fills) == 230
    assert len({f.trade_id for f in fills}) == 230
    assert [int(f.trade_id) for f in fills] == sorted(int(f.trade_id) for f in fills)
    pages = okx.requests_to(FILLS_HISTORY)
    assert len(pages) == 3
    assert "after" not in pages[0].query
    assert all(page.query.get("after") for page in pages[1:])
    # and the order's own trades are paged the same way
    assert len(gateway.fetch_order_trades(BTC, exchange_order_id=ord_id)) == 230


def test_account_trades_longer_than_the_page_limit_are_refused_not_truncated(
    okx: OkxLoopback, gateway: CcxtGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a gateway that reads at most two pages (200 trades), and 230 trades
    monkeypatch.setattr(trades, "MAX_PAGES", 2)
    ord_id = resting_buy(gateway, "many2", quantity="3")
    for _ in range(230):
        okx.fill(ord_id, "1")
    # when the trades are asked for, then the gateway refuses rather than answer with a part
    with pytest.raises(ExchangeError, match="more than 200 trades"):
        gateway.fetch_trades(BTC, since=a_moment_ago())


def test_account_trades_need_an_aware_time(gateway: CcxtGateway) -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        gateway.fetch_trades(BTC, since=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive time under test


def test_trades_in_another_currency_keep_it(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given one buy charged in USDT, one in the base coin and one in a platform token worth 40 USDT
    since = a_moment_ago()
    gateway.place_order(order(quantity="0.1", client_order_id="usdt1"))
    okx.charge_fees_in("BTC")
    gateway.place_order(order(quantity="0.1", client_order_id="btc1"))
    okx.charge_fees_in("OKB", price="40")
    gateway.place_order(order(quantity="0.1", client_order_id="okb1"))
    # when the account's trades are read, then each fee is in its own currency, never as USDT
    fills = gateway.fetch_trades(BTC, since=since)
    assert [(f.client_order_id, f.fee, f.fee_currency) for f in fills] == [
        ("usdt1", D("3"), "USDT"),
        ("btc1", D("0.00005"), "BTC"),
        ("okb1", D("0.075"), "OKB"),
    ]
    assert [f.all_fees for f in fills] == [
        (Fee(D("3"), "USDT"),),
        (Fee(D("0.00005"), "BTC"),),
        (Fee(D("0.075"), "OKB"),),
    ]


def test_trade_made_directly_on_the_exchange_shows_in_the_position_and_the_trades(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # given a long of 0.1 BTC, of which 0.04 (4 contracts) is sold on the exchange's website
    since = a_moment_ago()
    gateway.place_order(order(quantity="0.1", client_order_id="own1"))
    outside_id = okx.trade_directly(BTC, "sell", "4", pos_side="long")
    # then the exchange holds 0.06, and the sale is listed without a client id
    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.06"))]
    sale = gateway_trade(gateway, since, outside_id)
    assert (sale.client_order_id, sale.side, sale.position_side, sale.quantity) == (
        None,
        OrderSide.SELL,
        PositionSide.LONG,
        D("0.04"),
    )


# -- liquidations ------------------------------------------------------------------------------------


def test_liquidated_long_disappears_and_its_forced_trade_is_marked(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a long of 0.1 BTC at 60000 with a stop-loss at 55000
    since = a_moment_ago()
    entry = gateway.place_order(order(quantity="0.1", client_order_id="liq1"))
    gateway.place_order(stop_loss("liq1sl"))
    # when the exchange liquidates it at 54000
    liquidation_id = okx.liquidate(BTC, "long", price="54000")
    # then the position is gone, the stop-loss with it
    assert gateway.fetch_positions() == []
    assert gateway.fetch_open_orders(BTC) == []
    # and the account's trades show the entry and the forced sell, marked as a liquidation
    fills = gateway.fetch_trades(BTC, since=since)
    assert [(f.exchange_order_id, f.side, f.position_side, f.liquidation) for f in fills] == [
        (entry.exchange_order_id, OrderSide.BUY, PositionSide.LONG, False),
        (liquidation_id, OrderSide.SELL, PositionSide.LONG, True),
    ]
    forced = fills[1]
    assert (forced.quantity, forced.price, forced.fee, forced.client_order_id) == (D("0.1"), D("54000"), D("2.7"), None)


def test_liquidation_whose_trades_are_not_listed_leaves_only_the_vanished_position(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    since = a_moment_ago()
    gateway.place_order(order(quantity="0.1", client_order_id="liq2"))

    okx.liquidate(BTC, "long", list_trades=False)

    assert gateway.fetch_positions() == []
    assert [f.client_order_id for f in gateway.fetch_trades(BTC, since=since)] == ["liq2"]


def test_auto_deleveraging_of_a_net_position_is_marked_as_a_forced_close(
    okx_net: OkxLoopback, net_gateway: CcxtGateway
) -> None:
    # given a one-way long of 0.1 BTC
    since = a_moment_ago()
    net_gateway.place_order(order(quantity="0.1", client_order_id="adl1"))
    # when the exchange deleverages it at 62000
    adl_id = okx_net.liquidate(BTC, price="62000", kind="adl")
    # then the sell is marked a forced close (OKX bill subtype 128, "ADL sell"), in one-way mode without side
    forced = gateway_trade(net_gateway, since, adl_id)
    assert (forced.side, forced.position_side, forced.liquidation, forced.price) == (
        OrderSide.SELL,
        None,
        True,
        D("62000"),
    )
    assert okx_net.trades[-1].data["subType"] == "128"
    assert net_gateway.fetch_positions() == []


def gateway_trade(gateway: CcxtGateway, since: datetime, order_id: str) -> ExchangeFill:
    """The one trade of ``order_id`` among the account's trades since ``since``."""
    return only([f for f in gateway.fetch_trades(BTC, since=since) if f.exchange_order_id == order_id])


def test_partial_liquidation_leaves_the_rest_of_the_position(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    gateway.place_order(order(quantity="0.1", client_order_id="liq3"))

    okx.liquidate(BTC, "long", contracts="4")

    assert [(p.side, p.size) for p in gateway.fetch_positions()] == [(PositionSide.LONG, D("0.06"))]
    assert okx.trades[-1].data["subType"] == "100"  # partial liquidation close long
