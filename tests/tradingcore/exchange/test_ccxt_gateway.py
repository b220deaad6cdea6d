"""The ccxt gateway against the loopback OKX server: real ccxt, real signing, real parsing.

Every test points a real ccxt client at ``OkxLoopback`` through ``ExchangeAccount.rest_base_url``
(the production path) and asserts on what the gateway returns and on what the server received.
Symbols: BTC-USDT-SWAP is 0.01 BTC per contract, lot 0.01, mark 60000; ETH-USDT-SWAP is 0.1 ETH per
contract, lot 1, mark 3000.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.okx_accounts import (
    API_KEY,
    API_SECRET,
    BTC,
    ETH,
    PASSPHRASE,
    make_account,
    only,
    order,
    stop_loss,
)
from tests.tradingcore.exchange.okx_loopback import (
    CANCEL_ALGOS,
    CANCEL_ORDER,
    INSTRUMENTS,
    PENDING_ALGOS,
    PLACE_ALGO,
    PLACE_ORDER,
    POSITIONS,
    SET_LEVERAGE,
    OkxLoopback,
)
from tradingcore.enums import (
    Exchange,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    TimeInForce,
)
from tradingcore.exceptions import (
    AuthenticationFailed,
    BadSymbol,
    ConfigurationError,
    ExchangeOrderNotFound,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderOutcomeUnknown,
    RateLimited,
)
from tradingcore.exchange.ccxt import (
    CCXT_EXCHANGE_IDS,
    CcxtGateway,
    build_ccxt_client,
    gateway_for_account,
)
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def impatient_gateway(okx: OkxLoopback) -> CcxtGateway:
    """A gateway whose requests time out after one second (the stall tests stall for two)."""
    return CcxtGateway(make_account(okx), timeout_seconds=1)


# -- placing and filling ---------------------------------------------------------------------------


def test_market_order_fills_at_the_mark_and_reports_base_quantities(gateway: CcxtGateway) -> None:
    # given the BTC mark at 60000
    # when the gateway buys 0.1 BTC at market
    placed = gateway.place_order(order(quantity="0.1"))
    # then the order is filled at the mark, in base currency, with the taker fee of 10 contracts
    assert placed.status is OrderStatus.FILLED
    assert placed.symbol == BTC
    assert placed.client_order_id == "bot1order1"
    assert placed.quantity == Decimal("0.1")
    assert placed.filled_qty == Decimal("0.1")
    assert placed.avg_fill_price == Decimal("60000")
    assert placed.fee == Decimal("3")
    assert placed.fee_currency == "USDT"
    assert placed.fills == ()  # OKX reports aggregates only
    assert all(not isinstance(value, float) for value in vars(placed).values())


def test_place_order_sends_contracts_hedge_side_margin_mode_and_client_id(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # given a hedge-mode account
    # when it buys 0.1 BTC on isolated margin
    gateway.place_order(order(quantity="0.1", margin_mode=MarginMode.ISOLATED, client_order_id="entry42"))
    # then OKX got one order of 10 contracts (0.01 BTC each) for the long side, carrying our id
    sent = only(okx.requests_to(PLACE_ORDER, "POST")).body
    assert sent["instId"] == BTC
    assert sent["sz"] == "10"
    assert sent["side"] == "buy"
    assert sent["ordType"] == "market"
    assert sent["posSide"] == "long"
    assert sent["tdMode"] == "isolated"
    assert sent["clOrdId"] == "entry42"
    assert "reduceOnly" not in sent


def test_requests_are_signed_with_the_account_credentials(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # when the gateway places an order
    gateway.place_order(order())
    # then the request carries the key and passphrase, and a signature made with the secret
    request = only(okx.requests_to(PLACE_ORDER, "POST"))
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["ok-access-key"] == API_KEY
    assert headers["ok-access-passphrase"] == PASSPHRASE
    prehash = headers["ok-access-timestamp"] + "POST" + request.target + request.raw_body
    expected = base64.b64encode(hmac.new(API_SECRET.encode(), prehash.encode(), hashlib.sha256).digest()).decode()
    assert headers["ok-access-sign"] == expected


def test_closing_a_long_in_hedge_mode_sells_on_the_long_side_without_reduce_only(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # when the gateway closes part of a long position (reduce-only, side left to the gateway)
    gateway.place_order(order(side=OrderSide.SELL, quantity="0.05", reduce_only=True))
    # then OKX gets a sell on posSide long: hedge mode closes by side, reduceOnly does not apply
    sent = only(okx.requests_to(PLACE_ORDER, "POST")).body
    assert (sent["side"], sent["posSide"], sent["sz"]) == ("sell", "long", "5")
    assert "reduceOnly" not in sent


def test_one_way_account_sends_reduce_only_and_no_position_side(okx_net: OkxLoopback) -> None:
    # given a one-way account on an OKX account in net mode
    gateway = CcxtGateway(make_account(okx_net, position_mode=PositionMode.ONE_WAY), timeout_seconds=5)
    # when it places a reduce-only sell
    placed = gateway.place_order(order(side=OrderSide.SELL, quantity="0.02", reduce_only=True))
    # then the order carries reduceOnly and no posSide
    sent = only(okx_net.requests_to(PLACE_ORDER, "POST")).body
    assert "posSide" not in sent
    assert sent["reduceOnly"] is True
    assert placed.reduce_only is True


def test_limit_order_rests_then_fills_partially_then_fully(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a resting limit buy of 0.1 BTC at 59000
    placed = gateway.place_order(order(order_type=OrderType.LIMIT, price=Decimal("59000"), client_order_id="grid1"))
    assert placed.status is OrderStatus.OPEN
    assert placed.price == Decimal("59000")
    assert only(okx.requests_to(PLACE_ORDER, "POST")).body["px"] == "59000"
    # when the exchange fills 4 of its 10 contracts
    okx.fill(placed.exchange_order_id, "4")
    partial = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    # then the order is partially filled by 0.04 BTC
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    assert partial.filled_qty == Decimal("0.04")
    assert partial.avg_fill_price == Decimal("59000")
    # when the rest fills at a better price
    okx.fill(placed.exchange_order_id, "6", price="58900")
    full = gateway.fetch_order(BTC, client_order_id="grid1")
    # then the order is filled, with the weighted average price and the maker fees
    assert full.status is OrderStatus.FILLED
    assert full.filled_qty == Decimal("0.1")
    assert full.avg_fill_price == Decimal("58940")
    assert full.fee == Decimal("0.472") + Decimal("0.7068")  # 0.04 BTC at 59000 and 0.06 BTC at 58900, 0.02 %


@pytest.mark.parametrize(
    ("flags", "ord_type"),
    [
        ({"post_only": True}, "post_only"),
        ({"time_in_force": TimeInForce.IOC}, "ioc"),
        ({"time_in_force": TimeInForce.FOK}, "fok"),
    ],
)
def test_limit_order_flags_become_okx_order_types(
    okx: OkxLoopback, gateway: CcxtGateway, flags: dict[str, Any], ord_type: str
) -> None:
    # when a limit order is placed with post-only or a time in force
    gateway.place_order(order(order_type=OrderType.LIMIT, price=Decimal("59000"), **flags))
    # then OKX sees the matching order type
    assert only(okx.requests_to(PLACE_ORDER, "POST")).body["ordType"] == ord_type


def test_quantity_is_rounded_down_to_the_lot_size(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # when the gateway buys 0.123456 BTC (12.3456 contracts, lot 0.01) and 0.25 ETH (2.5 contracts, lot 1)
    btc = gateway.place_order(order(quantity="0.123456", client_order_id="round1"))
    eth = gateway.place_order(order(symbol=ETH, quantity="0.25", client_order_id="round2"))
    # then the contracts are rounded down and the orders report what was really ordered
    sent = [request.body["sz"] for request in okx.requests_to(PLACE_ORDER, "POST")]
    assert sent == ["12.34", "2"]
    assert btc.quantity == Decimal("0.1234")
    assert eth.quantity == Decimal("0.2")


def test_request_with_contracts_sends_exactly_those_contracts(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a request whose caller already sized it at 7 contracts (its quantity would convert to 10)
    request = order(quantity="0.1", contracts=Decimal("7"), client_order_id="sized1")
    # when the gateway places it
    placed = gateway.place_order(request)
    # then OKX got 7 contracts, not a second conversion of the quantity, and the order reports 0.07 BTC
    assert only(okx.requests_to(PLACE_ORDER, "POST")).body["sz"] == "7"
    assert placed.quantity == Decimal("0.07")


def test_accepted_order_whose_state_fetch_fails_reports_the_contracts_sent(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # given OKX takes the order and then fails the state fetch once
    okx.fail("GET", PLACE_ORDER, http_status=503)
    # when the gateway places a limit order sized at 7 contracts
    placed = gateway.place_order(
        order(order_type=OrderType.LIMIT, price=Decimal("59000"), contracts=Decimal("7"), client_order_id="sized2")
    )
    # then the order comes back open from the request, sized by the contracts sent
    assert placed.status is OrderStatus.OPEN
    assert placed.quantity == Decimal("0.07")
    assert only(okx.requests_to(PLACE_ORDER, "POST")).body["sz"] == "7"


@pytest.mark.parametrize(("contracts", "refusal"), [("7.005", "amount step"), ("0", "minimum order size")])
def test_contracts_off_the_lot_or_below_the_minimum_are_refused_before_any_request(
    okx: OkxLoopback, gateway: CcxtGateway, contracts: str, refusal: str
) -> None:
    # given the markets already loaded (BTC lot: 0.01 contracts)
    gateway.market(BTC)
    requests_before = len(okx.requests)
    # when a request carries contracts that cannot be sent as they are
    with pytest.raises(InvalidOrder, match=refusal):
        gateway.place_order(order(contracts=Decimal(contracts)))
    # then nothing was sent: the gateway never rounds the caller's contracts
    assert len(okx.requests) == requests_before


@pytest.mark.parametrize(("symbol", "quantity"), [(BTC, "0.00009"), (ETH, "0.05"), (BTC, "0")])
def test_quantity_below_the_minimum_is_refused_before_any_request(
    okx: OkxLoopback, gateway: CcxtGateway, symbol: str, quantity: str
) -> None:
    # given the markets already loaded
    gateway.market(symbol)
    requests_before = len(okx.requests)
    # when the quantity is less than one lot
    with pytest.raises(InvalidOrder, match="minimum order size") as refused:
        gateway.place_order(order(symbol=symbol, quantity=quantity))
    # then nothing was sent and the error says what the minimum is
    assert len(okx.requests) == requests_before
    assert "quantity" in refused.value.details


def test_limit_order_without_price_is_refused_before_any_request(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    with pytest.raises(InvalidOrder, match="needs a price"):
        gateway.place_order(order(order_type=OrderType.LIMIT))
    assert okx.requests_to(PLACE_ORDER) == []


def test_unified_symbol_input_is_normalised_to_the_native_id(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # when symbols come in ccxt's unified form or in lower case
    placed = gateway.place_order(order(symbol="BTC/USDT:USDT"))
    # then the exchange and the caller both see the native id
    assert only(okx.requests_to(PLACE_ORDER, "POST")).body["instId"] == BTC
    assert placed.symbol == BTC
    assert gateway.normalize_symbol("ETH/USDT:USDT") == ETH
    assert gateway.normalize_symbol("eth-usdt-swap") == ETH


def test_market_info_comes_from_the_instrument_list(gateway: CcxtGateway) -> None:
    info = gateway.market(ETH)
    assert info.unified_symbol == "ETH/USDT:USDT"
    assert (info.base, info.quote, info.settle) == ("ETH", "USDT", "USDT")
    assert info.contract_size == Decimal("0.1")
    assert info.amount_step == Decimal("1")
    assert info.price_step == Decimal("0.01")
    assert info.min_amount == Decimal("1")


def test_unknown_symbol_raises_bad_symbol(gateway: CcxtGateway) -> None:
    with pytest.raises(BadSymbol):
        gateway.market("DOGE-USDT-SWAP")


# -- triggered orders ------------------------------------------------------------------------------


def test_stop_loss_goes_to_the_algo_endpoint_as_a_conditional_order(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # when a stop-loss protecting a long of 0.1 BTC is placed
    placed = gateway.place_order(stop_loss("sl1"))
    # then it is an OKX conditional algo order on the long side, at market once triggered
    sent = only(okx.requests_to(PLACE_ALGO, "POST")).body
    assert okx.requests_to(PLACE_ORDER, "POST") == []
    assert sent["ordType"] == "conditional"
    assert (sent["slTriggerPx"], sent["slOrdPx"]) == ("55000", "-1")
    assert (sent["side"], sent["posSide"], sent["sz"], sent["tdMode"]) == ("sell", "long", "10", "cross")
    assert sent["algoClOrdId"] == "sl1"
    assert placed.status is OrderStatus.OPEN
    assert placed.order_type is OrderType.STOP_LOSS
    assert placed.trigger_price == Decimal("55000")
    assert placed.client_order_id == "sl1"


def test_take_profit_goes_to_the_algo_endpoint_with_the_take_profit_fields(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # when a take-profit limit for a short of 1 ETH is placed
    gateway.place_order(
        order(
            symbol=ETH,
            side=OrderSide.BUY,
            order_type=OrderType.TAKE_PROFIT,
            quantity="1",
            trigger_price=Decimal("2800"),
            price=Decimal("2795.5"),
            client_order_id="tp1",
        )
    )
    # then OKX gets a conditional order closing the short side
    sent = only(okx.requests_to(PLACE_ALGO, "POST")).body
    assert sent["ordType"] == "conditional"
    assert (sent["tpTriggerPx"], sent["tpOrdPx"]) == ("2800", "2795.5")
    assert (sent["side"], sent["posSide"], sent["sz"]) == ("buy", "short", "10")


@pytest.mark.parametrize(
    ("order_type", "price", "order_px"),
    [(OrderType.TRIGGER, None, "-1"), (OrderType.STOP_MARKET, None, "-1"), (OrderType.STOP_LIMIT, "65100", "65100")],
)
def test_trigger_orders_go_to_the_algo_endpoint_with_trigger_price(
    okx: OkxLoopback, gateway: CcxtGateway, order_type: OrderType, price: str | None, order_px: str
) -> None:
    # when a breakout entry is placed to buy once the price reaches 65000
    gateway.place_order(
        order(
            order_type=order_type,
            trigger_price=Decimal("65000"),
            price=Decimal(price) if price else None,
            client_order_id="brk1",
        )
    )
    # then OKX gets a trigger algo order opening the long side
    sent = only(okx.requests_to(PLACE_ALGO, "POST")).body
    assert (sent["ordType"], sent["triggerPx"], sent["orderPx"]) == ("trigger", "65000", order_px)
    assert (sent["side"], sent["posSide"], sent["sz"]) == ("buy", "long", "10")


def test_fired_stop_loss_reports_the_fill_of_the_order_it_placed(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a stop-loss that the exchange fired at a mark of 55000
    placed = gateway.place_order(stop_loss("sl2"))
    okx.set_mark(BTC, "55000")
    okx.trigger_algo(placed.exchange_order_id)
    # when the gateway fetches the stop-loss
    fired = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    # then it is filled for its whole quantity at the mark
    assert fired.exchange_order_id == placed.exchange_order_id
    assert fired.status is OrderStatus.FILLED
    assert fired.filled_qty == Decimal("0.1")
    assert fired.avg_fill_price == Decimal("55000")


def test_open_orders_include_resting_and_algo_orders(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a resting limit order, a trigger order and a stop-loss
    gateway.place_order(order(order_type=OrderType.LIMIT, price=Decimal("59000"), client_order_id="o1"))
    gateway.place_order(order(order_type=OrderType.TRIGGER, trigger_price=Decimal("65000"), client_order_id="o2"))
    gateway.place_order(stop_loss("o3", "50000"))
    # when the open orders are listed
    open_orders = gateway.fetch_open_orders(BTC)
    # then all three are there
    assert {o.client_order_id: o.order_type for o in open_orders} == {
        "o1": OrderType.LIMIT,
        "o2": OrderType.TRIGGER,
        "o3": OrderType.STOP_LOSS,
    }
    assert {r.query["ordType"] for r in okx.requests_to(PENDING_ALGOS)} == {"trigger", "conditional,oco"}


# -- cancelling ------------------------------------------------------------------------------------


def test_cancel_resting_limit_order_by_client_id(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a resting limit order that filled 3 of 10 contracts
    placed = gateway.place_order(order(order_type=OrderType.LIMIT, price=Decimal("59000"), client_order_id="c1"))
    okx.fill(placed.exchange_order_id, "3")
    # when it is cancelled by client id
    cancelled = gateway.cancel_order(BTC, client_order_id="c1")
    # then it is cancelled with its partial fill, and OKX got one cancel for its id
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.filled_qty == Decimal("0.03")
    assert only(okx.requests_to(CANCEL_ORDER, "POST")).body == {"instId": BTC, "ordId": placed.exchange_order_id}


def test_cancel_algo_order_goes_to_the_algo_cancel_endpoint(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    placed = gateway.place_order(stop_loss("c2"))
    cancelled = gateway.cancel_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert only(okx.requests_to(CANCEL_ALGOS, "POST")).body == [{"algoId": placed.exchange_order_id, "instId": BTC}]
    assert okx.requests_to(CANCEL_ORDER) == []


def test_cancel_of_a_filled_order_returns_it_filled_without_cancelling(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    placed = gateway.place_order(order(client_order_id="c3"))
    result = gateway.cancel_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert result.status is OrderStatus.FILLED
    assert okx.requests_to(CANCEL_ORDER) == []


def test_fetch_of_an_unknown_order_raises_not_found(gateway: CcxtGateway) -> None:
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order(BTC, client_order_id="nosuchorder")


# -- failures --------------------------------------------------------------------------------------


def test_insufficient_balance_rejection_raises_insufficient_funds(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given OKX refuses the next order for lack of margin (sCode 51008)
    okx.fail("POST", PLACE_ORDER, okx_code="51008")
    # when the gateway places an order
    with pytest.raises(InsufficientFunds) as refused:
        gateway.place_order(order())
    # then the refusal is ours, carries OKX's code, and nothing else was tried
    assert refused.value.details["exchange_code"] == "51008"
    assert len(okx.requests_to(PLACE_ORDER)) == 1


def test_parameter_error_raises_invalid_order(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.fail("POST", PLACE_ORDER, okx_code="51000", message="Parameter posSide error")
    with pytest.raises(InvalidOrder, match="posSide"):
        gateway.place_order(order())


def test_rate_limit_raises_rate_limited_without_looking_further(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given OKX answers HTTP 429 with code 50011
    okx.fail("POST", PLACE_ORDER, http_status=429)
    # when the gateway places an order
    with pytest.raises(RateLimited) as throttled:
        gateway.place_order(order())
    # then it is a retryable throttle; the refusal is explicit, so no lookup and no second placement
    assert throttled.value.retryable is True
    assert len(okx.requests_to(PLACE_ORDER)) == 1


def test_rate_limit_on_a_read_raises_rate_limited(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.fail("GET", POSITIONS, http_status=429)
    with pytest.raises(RateLimited):
        gateway.fetch_positions()


def test_server_error_on_placement_raises_exchange_unavailable_after_checking_by_client_id(
    okx: OkxLoopback, gateway: CcxtGateway
) -> None:
    # given OKX's edge answers the placement with HTTP 502 and the order was not taken
    okx.fail("POST", PLACE_ORDER, http_status=502)
    # when the gateway places an order
    with pytest.raises(ExchangeUnavailable) as unavailable:
        gateway.place_order(order(client_order_id="x502"))
    # then it looked the order up by client id, found none, and placed nothing else
    assert unavailable.value.retryable is True
    assert len(okx.requests_to(PLACE_ORDER, "POST")) == 1
    assert only(okx.requests_to(PLACE_ORDER, "GET")).query["clOrdId"] == "x502"


def test_server_error_on_a_read_raises_exchange_unavailable(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.fail("GET", POSITIONS, http_status=503)
    with pytest.raises(ExchangeUnavailable):
        gateway.fetch_positions()


def test_authentication_error_raises_authentication_failed(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.fail("GET", POSITIONS, okx_code="50113", http_status=401)
    with pytest.raises(AuthenticationFailed):
        gateway.fetch_positions()


def test_timeout_after_acceptance_finds_order_by_client_id_and_never_places_twice(
    okx: OkxLoopback, impatient_gateway: CcxtGateway
) -> None:
    # given OKX takes the order but answers only after 2 s, and the client gives up after 1 s
    okx.fail("POST", PLACE_ORDER, stall_seconds=2)
    # when the gateway places a market order
    placed = impatient_gateway.place_order(order(client_order_id="slow1"))
    # then it returns the order OKX holds, found by client id
    assert placed.client_order_id == "slow1"
    assert placed.status is OrderStatus.FILLED
    assert placed.exchange_order_id == okx.order_by_client_id("slow1")["ordId"]  # type: ignore[index]
    # and the server saw exactly one placement, then a lookup by clOrdId
    assert len(okx.requests_to(PLACE_ORDER, "POST")) == 1
    assert only(okx.requests_to(PLACE_ORDER, "GET")).query == {"instId": BTC, "clOrdId": "slow1"}


def test_timeout_with_no_order_raises_outcome_unknown_and_never_places_twice(
    okx: OkxLoopback, impatient_gateway: CcxtGateway
) -> None:
    # given OKX stalls past the client timeout without taking the order
    okx.fail("POST", PLACE_ORDER, okx_code="50026", stall_seconds=2)
    # when the gateway places an order
    with pytest.raises(OrderOutcomeUnknown) as unknown:
        impatient_gateway.place_order(order(client_order_id="lost1"))
    # then the caller learns the outcome is unknown, keyed by the client id; nothing was retried
    assert unknown.value.details["client_order_id"] == "lost1"
    assert len(okx.requests_to(PLACE_ORDER, "POST")) == 1


def test_timeout_placing_a_stop_loss_finds_it_among_pending_algo_orders(
    okx: OkxLoopback, impatient_gateway: CcxtGateway
) -> None:
    # given OKX takes the stop-loss but answers late, and its algo lookup by client id finds nothing
    okx.fail("POST", PLACE_ALGO, stall_seconds=2)
    okx.fail("GET", PLACE_ALGO, okx_code="51603")
    # when the gateway places the stop-loss
    placed = impatient_gateway.place_order(stop_loss("sl9"))
    # then it is found among the pending conditional algo orders, and was placed once
    assert placed.client_order_id == "sl9"
    assert placed.status is OrderStatus.OPEN
    assert len(okx.requests_to(PLACE_ALGO, "POST")) == 1
    assert only(okx.requests_to(PENDING_ALGOS)).query["ordType"] == "conditional,oco"


def test_retry_with_the_same_client_id_returns_the_existing_order(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given an order already placed with client id dup1
    first = gateway.place_order(order(client_order_id="dup1"))
    # when a retry places it again with the same client id (OKX refuses: 51016 duplicated clOrdId)
    second = gateway.place_order(order(client_order_id="dup1"))
    # then the retry returns the existing order, and the exchange holds one order
    assert second.exchange_order_id == first.exchange_order_id
    assert second.status is OrderStatus.FILLED
    assert sum(1 for o in okx.orders.values() if o.data["clOrdId"] == "dup1") == 1


# -- positions, leverage, prices -------------------------------------------------------------------


def test_fetch_positions_returns_base_quantities(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a long of 0.1 BTC and a short of 0.5 ETH opened at the marks
    gateway.place_order(order(quantity="0.1", client_order_id="p1"))
    gateway.place_order(order(symbol=ETH, side=OrderSide.SELL, quantity="0.5", client_order_id="p2"))
    okx.set_mark(BTC, "61000")
    # when the positions are fetched
    positions = {p.symbol: p for p in gateway.fetch_positions()}
    # then sizes are base quantities, with the contracts alongside
    btc, eth = positions[BTC], positions[ETH]
    assert (btc.side, btc.size, btc.contracts) == (PositionSide.LONG, Decimal("0.1"), Decimal("10"))
    assert (btc.entry_price, btc.mark_price, btc.unrealized_pnl) == (Decimal("60000"), Decimal("61000"), Decimal("100"))
    assert (eth.side, eth.size, eth.contracts) == (PositionSide.SHORT, Decimal("0.5"), Decimal("5"))
    assert eth.margin_mode is MarginMode.CROSS


def test_fetch_positions_of_one_symbol_asks_for_that_instrument(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    gateway.place_order(order(quantity="0.1", client_order_id="p3"))
    gateway.place_order(order(symbol=ETH, quantity="0.3", client_order_id="p4"))
    positions = gateway.fetch_positions(["ETH/USDT:USDT"])
    assert [(p.symbol, p.size) for p in positions] == [(ETH, Decimal("0.3"))]
    assert okx.requests_to(POSITIONS)[-1].query == {"instId": ETH}


def test_set_leverage_sends_margin_mode_and_position_side(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # when leverage is set for the long side on isolated margin, then for cross margin
    gateway.set_leverage(BTC, 7, margin_mode=MarginMode.ISOLATED, side=PositionSide.LONG)
    gateway.set_leverage("ETH/USDT:USDT", 3, margin_mode=MarginMode.CROSS)
    # then OKX got mgnMode and posSide for the first, mgnMode alone for the second
    isolated, cross = (request.body for request in okx.requests_to(SET_LEVERAGE, "POST"))
    assert isolated == {"instId": BTC, "lever": 7, "mgnMode": "isolated", "posSide": "long"}
    assert cross == {"instId": ETH, "lever": 3, "mgnMode": "cross"}


def test_isolated_leverage_without_a_side_is_set_for_both_hedge_sides(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    gateway.set_leverage(BTC, 5, margin_mode=MarginMode.ISOLATED)
    assert [r.body["posSide"] for r in okx.requests_to(SET_LEVERAGE, "POST")] == ["long", "short"]


def test_fetch_mark_price_is_a_decimal(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.set_mark(ETH, "3012.34")
    assert gateway.fetch_mark_price("ETH/USDT:USDT") == Decimal("3012.34")


# -- markets, configuration, caching ---------------------------------------------------------------


def test_markets_load_once_and_refresh_on_the_timer(okx: OkxLoopback) -> None:
    # given a gateway trusting its markets for 0.3 s
    gateway = CcxtGateway(make_account(okx), timeout_seconds=5, markets_ttl_seconds=0.3)

    def swap_list_requests() -> int:
        return sum(1 for r in okx.requests_to(INSTRUMENTS) if r.query.get("instType") == "SWAP")

    # when markets are used repeatedly within the TTL
    gateway.market(BTC)
    gateway.market(ETH)
    # then they were loaded once
    assert swap_list_requests() == 1
    # when a new instrument is listed and the TTL passes
    okx.instruments["SOL-USDT-SWAP"] = {"ctVal": "1", "lotSz": "1", "minSz": "1", "tickSz": "0.001"}
    okx.set_mark("SOL-USDT-SWAP", "150")
    time.sleep(0.35)
    # then the next use reloads them and sees it
    assert gateway.market("SOL-USDT-SWAP").contract_size == Decimal("1")
    assert swap_list_requests() == 2


def test_failed_market_reload_keeps_the_loaded_markets(okx: OkxLoopback) -> None:
    gateway = CcxtGateway(make_account(okx), timeout_seconds=5, markets_ttl_seconds=3600)
    gateway.market(BTC)
    okx.fail("GET", INSTRUMENTS, http_status=503)
    gateway.load_markets(force=True)
    assert gateway.market(BTC).contract_size == Decimal("0.01")


def test_sandbox_account_sends_the_simulated_trading_header_to_its_base_url(okx: OkxLoopback) -> None:
    gateway = CcxtGateway(make_account(okx, sandbox=True), timeout_seconds=5)
    gateway.fetch_positions()
    request = only(okx.requests_to(POSITIONS))
    assert {k.lower(): v for k, v in request.headers.items()}["x-simulated-trading"] == "1"


def test_gateway_for_account_is_cached_until_the_account_changes(okx: OkxLoopback) -> None:
    # given an account and its gateway
    account = make_account(okx)
    first = gateway_for_account(account)
    # when the same row is read again, the gateway is reused
    assert gateway_for_account(ExchangeAccount.objects.get(pk=account.pk)) is first
    # when its credentials are edited, a new gateway uses them
    account.api_key = "rotated-key-000"
    account.save()
    second = gateway_for_account(ExchangeAccount.objects.get(pk=account.pk))
    assert second is not first
    second.fetch_positions()
    headers = {k.lower(): v for k, v in okx.requests_to(POSITIONS)[-1].headers.items()}
    assert headers["ok-access-key"] == "rotated-key-000"


def test_registry_serves_a_real_exchange_through_ccxt_when_dry_run_is_off(okx: OkxLoopback, settings: Any) -> None:
    from tradingcore.exchange.registry import get_gateway

    settings.TRADING_DRY_RUN = False
    make_account(okx, user_id="bot-user-9")
    gateway = get_gateway("bot-user-9", "okx")
    assert isinstance(gateway, CcxtGateway)
    assert gateway.fetch_mark_price(BTC) == Decimal("60000")


def test_credentials_never_appear_in_logs_or_repr(
    okx: OkxLoopback, gateway: CcxtGateway, caplog: pytest.LogCaptureFixture
) -> None:
    # given every logger at DEBUG (ccxt logs request headers there)
    caplog.set_level(logging.DEBUG)
    # when the gateway works and fails
    gateway.place_order(order(client_order_id="log1"))
    okx.fail("POST", PLACE_ORDER, okx_code="51008")
    with pytest.raises(InsufficientFunds) as refused:
        gateway.place_order(order(client_order_id="log2"))
    # then ccxt's request lines were logged, and no credential appears anywhere we show
    assert any("/api/v5/trade/order" in record.getMessage() for record in caplog.records)
    shown = [caplog.text, repr(gateway), str(gateway), repr(gateway.market(BTC)), str(refused.value)]
    shown.append(repr(ExchangeAccount.objects.get(pk=gateway.account_id)))
    for text in shown:
        for secret in (API_KEY, API_SECRET, PASSPHRASE):
            assert secret not in text


def test_first_market_load_failure_raises_exchange_unavailable(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    okx.fail("GET", INSTRUMENTS, http_status=503)
    with pytest.raises(ExchangeUnavailable):
        gateway.market(BTC)


def test_concurrent_first_use_loads_the_markets_once(okx: OkxLoopback, gateway: CcxtGateway) -> None:
    # given a fresh gateway shared by eight threads
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def use() -> None:
        barrier.wait()
        seen.append(gateway.market("BTC/USDT:USDT").symbol)

    threads = [threading.Thread(target=use) for _ in range(8)]
    # when they all need a market at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every thread got it and the instrument list was fetched once
    assert seen == [BTC] * 8
    assert sum(1 for r in okx.requests_to(INSTRUMENTS) if r.query.get("instType") == "SWAP") == 1


def test_concurrent_callers_share_one_cached_gateway(okx: OkxLoopback) -> None:
    account = make_account(okx)
    barrier = threading.Barrier(16)
    gateways: list[CcxtGateway] = []

    def fetch() -> None:
        barrier.wait()
        gateways.append(gateway_for_account(account))

    threads = [threading.Thread(target=fetch) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(gateway) for gateway in gateways}) == 1


@pytest.mark.parametrize("exchange", sorted(CCXT_EXCHANGE_IDS, key=str))
def test_every_real_exchange_gets_a_rate_limited_client_sent_to_its_base_url(exchange: Exchange) -> None:
    # given an account of any real exchange with a REST base URL override (not saved: no request is sent)
    account = ExchangeAccount(
        user_id="u", exchange=exchange, api_key="k", api_secret="s", rest_base_url="http://127.0.0.1:9/proxy"
    )
    # when its ccxt client is built
    client = build_ccxt_client(account, timeout_seconds=2)

    def urls(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [url for item in value.values() for url in urls(item)]
        return [value] if isinstance(value, str) else []

    # then it is the documented ccxt exchange, rate limited, and every REST URL points at the override
    assert client.id == CCXT_EXCHANGE_IDS[exchange]
    assert client.enableRateLimit is True
    assert client.timeout == 2000
    rest = [url for url in urls(client.urls["api"]) if url.startswith("http")]
    assert rest
    assert all(url.startswith("http://127.0.0.1:9/proxy") for url in rest)


def test_paper_exchange_has_no_ccxt_client() -> None:
    account = ExchangeAccount(user_id="u", exchange=Exchange.PAPER)
    with pytest.raises(ConfigurationError):
        CcxtGateway(account)
