"""The paper exchange's order handling: market, limit, partial fills, cancel, refusals, idempotency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.tradingcore.exchange.paper_requests import request
from tradingcore.enums import Liquidity, OrderStatus, TimeInForce
from tradingcore.exceptions import ExchangeError, ExchangeOrderNotFound, InvalidOrder, InvalidTransition
from tradingcore.exchange.base import OrderRequest
from tradingcore.exchange.paper import OrderNotCancellable, PaperGateway, PaperMarkMissing, set_mark
from tradingcore.models import PaperFill, PaperOrder

pytestmark = pytest.mark.django_db
D = Decimal
USER = "paper-user"
BTC = "BTC-USDT-SWAP"


def order(side: str, order_type: str = "market", quantity: str = "0.05", **extra: Any) -> OrderRequest:
    return request(side, order_type, quantity, prefix="orders", **extra)


@pytest.fixture(autouse=True)
def _fees(settings: Any) -> None:
    settings.TRADING_PAPER_MAKER_FEE = "0.0002"
    settings.TRADING_PAPER_TAKER_FEE = "0.0005"
    settings.TRADING_PAPER_SLIPPAGE_BPS = "0"


@pytest.fixture
def gateway() -> PaperGateway:
    return PaperGateway(exchange="paper", user_id=USER)


def test_market_order_fills_at_the_mark_as_taker_with_taker_fee(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))

    placed = gateway.place_order(order("buy", quantity="0.05"))

    assert placed.status == OrderStatus.FILLED
    assert placed.filled_qty == D("0.05")
    assert placed.avg_fill_price == D("50000")
    assert placed.fee == D("1.25")  # 0.05 x 50000 x 0.0005
    assert placed.fee_currency == "USDT"
    (fill,) = placed.fills
    assert (fill.price, fill.quantity, fill.fee, fill.liquidity) == (D("50000"), D("0.05"), D("1.25"), Liquidity.TAKER)
    assert fill.trade_id.startswith("paper-fill-")
    assert placed.exchange_order_id.startswith("paper-")


def test_market_order_slips_against_the_taker_when_slippage_is_configured(gateway: PaperGateway, settings: Any) -> None:
    settings.TRADING_PAPER_SLIPPAGE_BPS = "10"
    set_mark("paper", BTC, D("50000"))

    bought = gateway.place_order(order("buy", quantity="0.05"))
    sold = gateway.place_order(order("sell", quantity="0.05"))

    assert bought.avg_fill_price == D("50050")
    assert bought.fee == D("1.25125")
    assert sold.avg_fill_price == D("49950")


def test_market_order_without_a_mark_is_refused_with_a_clear_error(gateway: PaperGateway) -> None:
    with pytest.raises(PaperMarkMissing, match="set_paper_price paper BTC-USDT-SWAP"):
        gateway.place_order(order("buy"))

    assert not PaperOrder.objects.exists()
    with pytest.raises(PaperMarkMissing):
        gateway.fetch_mark_price(BTC)


def test_limit_order_rests_then_fills_as_maker_at_its_limit_price_when_the_mark_crosses(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("buy", "limit", quantity="0.03", price="49000"))
    assert placed.status == OrderStatus.OPEN
    assert set_mark("paper", BTC, D("49500")) == []

    trades = set_mark("paper", BTC, D("48900"))

    assert [(t.fill.price, t.fill.quantity, t.fill.liquidity, t.fill.fee) for t in trades] == [
        (D("49000"), D("0.03"), Liquidity.MAKER, D("0.294"))  # 0.03 x 49000 x 0.0002
    ]
    assert trades[0].user_id == USER
    fetched = gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    assert fetched.status == OrderStatus.FILLED
    assert fetched.avg_fill_price == D("49000")
    assert gateway.fetch_open_orders() == []


def test_marketable_limit_fills_at_once_as_taker_at_the_mark(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))

    placed = gateway.place_order(order("buy", "limit", quantity="0.02", price="50500"))

    assert placed.status == OrderStatus.FILLED
    assert [(f.price, f.liquidity) for f in placed.fills] == [(D("50000"), Liquidity.TAKER)]


def test_limit_order_fills_in_three_parts_over_three_capped_mark_moves(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("105"))
    placed = gateway.place_order(order("buy", "limit", quantity="0.03", price="100"))

    seen = []
    for _ in range(3):
        set_mark("paper", BTC, D("99"), volume=D("0.01"))
        state = gateway.fetch_order(BTC, client_order_id=placed.client_order_id)
        seen.append((state.status, state.filled_qty, len(state.fills)))

    assert seen == [
        (OrderStatus.PARTIALLY_FILLED, D("0.01"), 1),
        (OrderStatus.PARTIALLY_FILLED, D("0.02"), 2),
        (OrderStatus.FILLED, D("0.03"), 3),
    ]
    assert len({fill.trade_id for fill in state.fills}) == 3
    assert all(fill.price == D("100") and fill.liquidity == Liquidity.MAKER for fill in state.fills)


def test_capped_volume_goes_to_the_best_priced_limit_first(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("105"))
    lower = gateway.place_order(order("buy", "limit", quantity="0.01", price="100"))
    higher = gateway.place_order(order("buy", "limit", quantity="0.01", price="101"))

    trades = set_mark("paper", BTC, D("99"), volume=D("0.01"))

    assert [t.order.exchange_order_id for t in trades] == [higher.exchange_order_id]
    assert gateway.fetch_order(BTC, exchange_order_id=lower.exchange_order_id).status == OrderStatus.OPEN


def test_cancel_takes_a_resting_order_off_the_book(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("sell", "limit", quantity="0.01", price="51000"))

    cancelled = gateway.cancel_order(BTC, exchange_order_id=placed.exchange_order_id)

    assert cancelled.status == OrderStatus.CANCELLED
    assert gateway.fetch_open_orders(BTC) == []
    assert set_mark("paper", BTC, D("52000")) == []


def test_cancel_of_an_order_that_already_filled_returns_its_final_state_with_its_fills(gateway: PaperGateway) -> None:
    # The gateway contract (and the ccxt gateway): a fill that raced the cancel is reported.
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("buy"))

    final = gateway.cancel_order(BTC, client_order_id=placed.client_order_id)

    assert final.status == OrderStatus.FILLED
    assert final.filled_qty == placed.quantity
    assert [fill.trade_id for fill in final.fills] == [fill.trade_id for fill in placed.fills]


def test_placement_refuses_to_cancel_an_ended_order(gateway: PaperGateway) -> None:
    from tradingcore.exchange.paper import placement
    from tradingcore.models.paper import PaperOrder

    set_mark("paper", BTC, D("50000"))
    gateway.place_order(order("buy"))

    with pytest.raises(OrderNotCancellable, match="already filled") as error:
        placement.cancel(PaperOrder.objects.get())

    assert isinstance(error.value, InvalidTransition)
    assert isinstance(error.value, ExchangeError)


def test_orders_of_other_users_and_unknown_ids_are_not_found(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    placed = gateway.place_order(order("sell", "limit", quantity="0.01", price="51000"))
    stranger = PaperGateway(exchange="paper", user_id="someone-else")

    with pytest.raises(ExchangeOrderNotFound):
        stranger.fetch_order(BTC, exchange_order_id=placed.exchange_order_id)
    with pytest.raises(ExchangeOrderNotFound):
        stranger.cancel_order(BTC, client_order_id=placed.client_order_id)
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order(BTC, exchange_order_id="123456")
    with pytest.raises(ExchangeOrderNotFound):
        gateway.fetch_order("ETH-USDT-SWAP", exchange_order_id=placed.exchange_order_id)


def test_post_only_that_would_cross_is_rejected_and_one_that_rests_is_accepted(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))

    with pytest.raises(InvalidOrder, match="would take liquidity"):
        gateway.place_order(order("buy", "limit", quantity="0.01", price="50100", post_only=True))
    resting = gateway.place_order(order("buy", "limit", quantity="0.01", price="49900", post_only=True))

    assert resting.status == OrderStatus.OPEN
    assert [o.exchange_order_id for o in gateway.fetch_open_orders()] == [resting.exchange_order_id]


def test_same_client_order_id_twice_returns_the_first_order_and_never_fills_twice(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    request = order("buy", quantity="0.05", client_order_id="retry0001")

    first = gateway.place_order(request)
    again = PaperGateway(exchange="paper", user_id=USER).place_order(request)

    assert again.exchange_order_id == first.exchange_order_id
    assert again.fills == first.fills
    assert PaperOrder.objects.filter(client_order_id="retry0001").count() == 1
    assert PaperFill.objects.count() == 1
    assert [p.size for p in gateway.fetch_positions()] == [D("0.05")]


def test_client_order_id_used_by_a_different_order_is_refused(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))
    gateway.place_order(order("buy", quantity="0.05", client_order_id="taken0001"))

    with pytest.raises(InvalidOrder, match="already used"):
        gateway.place_order(order("sell", quantity="0.05", client_order_id="taken0001"))
    with pytest.raises(InvalidOrder, match="already used"):
        PaperGateway(exchange="paper", user_id="other").place_order(order("buy", client_order_id="taken0001"))

    assert PaperOrder.objects.count() == 1


def test_quantity_below_the_instrument_minimum_is_refused_and_nothing_is_stored(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))

    with pytest.raises(InvalidOrder, match="minimum order size"):
        gateway.place_order(order("buy", quantity="0.005"))  # half a 0.01 BTC contract

    assert not PaperOrder.objects.exists()


def test_quantity_is_sized_in_whole_contracts_rounding_down(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))

    placed = gateway.place_order(order("buy", quantity="0.0379"))

    assert placed.quantity == D("0.03")
    assert placed.filled_qty == D("0.03")


def test_ioc_limit_that_cannot_fill_expires_and_fok_that_can_fills(gateway: PaperGateway) -> None:
    set_mark("paper", BTC, D("50000"))

    ioc = gateway.place_order(order("buy", "limit", quantity="0.01", price="49000", time_in_force=TimeInForce.IOC))
    fok = gateway.place_order(order("buy", "limit", quantity="0.01", price="50100", time_in_force=TimeInForce.FOK))

    assert (ioc.status, ioc.filled_qty) == (OrderStatus.EXPIRED, D(0))
    assert (fok.status, fok.filled_qty) == (OrderStatus.FILLED, D("0.01"))
    assert gateway.fetch_open_orders() == []


def test_dry_run_exchange_keeps_its_own_book_and_contract_sizes() -> None:
    okx = PaperGateway(exchange="okx", user_id=USER)
    set_mark("okx", "DOGE/USDT:USDT", D("0.1"))

    placed = okx.place_order(order("buy", quantity="1500", symbol="DOGE-USDT-SWAP"))

    assert placed.quantity == D("1000")  # one contract of 1000 DOGE
    assert okx.market("DOGE-USDT-SWAP").contract_size == D("1000")
    assert PaperGateway(exchange="paper", user_id=USER).fetch_positions() == []
    with pytest.raises(PaperMarkMissing):
        PaperGateway(exchange="paper", user_id=USER).place_order(
            order("buy", "market", "1000", symbol="DOGE-USDT-SWAP")
        )


def test_contracts_given_by_the_caller_are_placed_as_is_and_the_quantity_is_not_converted_again(
    gateway: PaperGateway,
) -> None:
    set_mark("paper", BTC, D("50000"))

    # a quantity that converts to 0 contracts (below the minimum) would be refused if converted
    placed = gateway.place_order(order("buy", quantity="0.001", contracts=D("3")))

    assert (placed.quantity, placed.filled_qty) == (D("0.03"), D("0.03"))  # 3 contracts of 0.01 BTC
    assert PaperOrder.objects.get(client_order_id=placed.client_order_id).contracts == D("3")
    (position,) = gateway.fetch_positions()
    assert (position.size, position.contracts) == (D("0.03"), D("3"))


def test_contracts_given_by_the_caller_use_the_instruments_contract_size_in_dry_run() -> None:
    okx = PaperGateway(exchange="okx", user_id=USER)
    set_mark("okx", "DOGE-USDT-SWAP", D("0.1"))

    placed = okx.place_order(order("buy", quantity="1500", symbol="DOGE-USDT-SWAP", contracts=D("2")))

    assert placed.quantity == D("2000")  # two contracts of 1000 DOGE, not 1500 DOGE converted


@pytest.mark.parametrize(
    ("contracts", "message"),
    [("0", "greater than zero"), ("1.5", "in steps of 1"), ("0.000000001", "decimal places")],
)
def test_contracts_off_the_amount_step_or_not_positive_are_refused_and_nothing_is_stored(
    gateway: PaperGateway, contracts: str, message: str
) -> None:
    set_mark("paper", BTC, D("50000"))

    with pytest.raises(InvalidOrder, match=message):
        gateway.place_order(order("buy", contracts=D(contracts)))

    assert not PaperOrder.objects.exists()


def test_retry_of_a_reduce_only_close_returns_the_first_order_once_the_position_is_gone(
    gateway: PaperGateway,
) -> None:
    set_mark("paper", BTC, D("50000"))
    gateway.place_order(order("buy", quantity="0.02"))
    close = order("sell", quantity="0.02", reduce_only=True, client_order_id="closeretry01")
    first = gateway.place_order(close)

    again = gateway.place_order(close)  # the position is flat now: a new close would be refused

    assert (again.exchange_order_id, again.status, again.fills) == (first.exchange_order_id, first.status, first.fills)
    assert PaperFill.objects.count() == 2
