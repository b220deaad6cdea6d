"""PnL math (SPEC section 4): the seed check, the hand-checked vector and properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradingcore import pnl
from tradingcore.dto import Position
from tradingcore.enums import Exchange, OrderSide, PositionSide
from tradingcore.pnl import PositionState, apply_fill

D = Decimal
BP = D("0.0001")

prices = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False)
sizes = st.decimals(min_value=D("0.001"), max_value=D("10000"), places=3, allow_nan=False, allow_infinity=False)
sides = st.sampled_from([PositionSide.LONG, PositionSide.SHORT])


Fill = tuple[OrderSide, str, str]


def run_fills(side: PositionSide, fills: list[Fill], fee_rate: Decimal = pnl.ZERO) -> PositionState:
    state = PositionState(side=side)
    for order_side, qty, price in fills:
        q, p = D(qty), D(price)
        state = apply_fill(state, side=order_side, qty=q, price=p, fee=q * p * fee_rate).state
    return state


def test_seed_check_notional_and_is_open() -> None:
    position = Position(
        user_id="test",
        exchange=Exchange.OKX,
        symbol="BTC-USDT-SWAP",
        side=PositionSide.LONG,
        size=D("0.1"),
        entry_price=D("45000"),
    )

    assert position.notional_value == D("4500")
    assert position.is_open is True


def test_hand_checked_vector_matches_to_eight_decimals() -> None:
    buy, sell = OrderSide.BUY, OrderSide.SELL
    state = run_fills(
        PositionSide.LONG,
        [(buy, "12", "100"), (buy, "17", "99"), (sell, "9", "101"), (sell, "4", "105"), (buy, "3", "103")],
        fee_rate=BP,
    )

    assert state.size == D("19")
    assert pnl.quantize_entry(state.entry_price) == D("99.98003630")
    assert state.realized_pnl == D("36.62068966")
    assert state.fees == D("0.4521")
    assert state.realized_pnl - state.fees == D("36.16858966")


def test_exit_price_is_quantity_weighted_mean_of_exit_fills() -> None:
    state = run_fills(
        PositionSide.SHORT, [(OrderSide.SELL, "10", "50"), (OrderSide.BUY, "4", "40"), (OrderSide.BUY, "6", "45")]
    )

    assert state.size == 0
    assert state.exit_price == D("43.00000000")
    assert state.realized_pnl == D("4") * 10 + D("5") * 6 - D("0")


def test_leverage_never_multiplies_pnl() -> None:
    assert pnl.unrealized(PositionSide.LONG, D("0.1"), D("45000"), D("45500")) == D("50")
    assert pnl.roe_percentage(D("50"), D("45000"), D("0.1"), 10) == D("11.11111111")
    assert pnl.roe_percentage(D("50"), D("45000"), D("0.1"), 1) == D("1.11111111")


def test_pnl_percentage_is_price_change_signed_by_side() -> None:
    assert pnl.pnl_percentage(PositionSide.LONG, D("100"), D("110")) == D("10")
    assert pnl.pnl_percentage(PositionSide.SHORT, D("100"), D("110")) == D("-10")


@given(side=sides, size=sizes, entry=prices)
def test_closing_everything_at_entry_realizes_zero(side: PositionSide, size: Decimal, entry: Decimal) -> None:
    state = run_fills(
        side, [(side.entry_order_side, str(size), str(entry)), (side.exit_order_side, str(size), str(entry))]
    )

    assert state.size == 0
    assert state.realized_pnl == 0


@given(size=sizes, entry=prices, mark=prices)
def test_long_and_short_mirror_each_other(size: Decimal, entry: Decimal, mark: Decimal) -> None:
    long_upnl = pnl.unrealized(PositionSide.LONG, size, entry, mark)
    short_upnl = pnl.unrealized(PositionSide.SHORT, size, entry, mark)
    long_realized = pnl.realized_on_reduce(PositionSide.LONG, size, mark, entry)
    short_realized = pnl.realized_on_reduce(PositionSide.SHORT, size, mark, entry)

    assert long_upnl == -short_upnl
    assert long_realized == -short_realized


@given(side=sides, first=sizes, second=sizes, p1=prices, p2=prices, exit_price=prices)
def test_results_never_depend_on_float_conversion(
    side: PositionSide, first: Decimal, second: Decimal, p1: Decimal, p2: Decimal, exit_price: Decimal
) -> None:
    """Feeding the same numbers as floats (through str, as at the ccxt boundary) changes nothing,
    and the weighted entry equals the exact rational mean to 20 places."""
    as_decimal = run_fills(
        side, [(side.entry_order_side, str(first), str(p1)), (side.entry_order_side, str(second), str(p2))]
    )
    as_float = run_fills(
        side,
        [
            (side.entry_order_side, str(float(first)), str(float(p1))),
            (side.entry_order_side, str(float(second)), str(float(p2))),
        ],
    )
    exact = (first * p1 + second * p2) / (first + second)

    assert as_decimal == as_float
    assert abs(as_decimal.entry_price - exact) <= D("1e-20")
    realized = apply_fill(as_decimal, side=side.exit_order_side, qty=first, price=exit_price, fee=D(0)).realized_delta
    assert realized == pnl.quantize(side.direction * first * (exit_price - exact))


def test_large_notionals_are_exact_to_the_last_place() -> None:
    size, price = D("123456.12345678"), D("1234567.12345678")

    assert pnl.notional(size, price) == D("152414871209.16198752")  # exact product rounded half-even
    assert pnl.unrealized(PositionSide.LONG, size, price, price + D("0.00000001")) == D("0.00123456")
