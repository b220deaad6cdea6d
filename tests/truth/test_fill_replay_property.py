"""Issue 9's property: over random fill sequences (hedge and one-way accounts, partial fills,
maker fees of either sign), every position's size, entry, realized PnL and fees equal a replay of
its fills, and no order reports ``filled`` (or any filled quantity) its fills do not add up to.

The paper exchange is the outside world: limit orders rest and fill in parts as the mark moves
through them with a capped volume, market orders fill at once; the fill watcher books what the
exchange did. The replay is independent of the ledger: it walks every fill in booking order and
nets one-way fills itself, using only ``pnl.apply_fill`` (the pure PnL arithmetic) per position.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orders import watcher
from orders.models import Order, OrderFill
from orders.services import OrderManager
from positions.models import Position
from tests.managers import BTC, mark
from tradingcore import pnl
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import OrderSide, OrderStatus, PositionMode, PositionSide
from tradingcore.exceptions import TradingError
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LOT = D("0.01")

operations = st.lists(
    st.fixed_dictionaries(
        {
            "side": st.sampled_from(["buy", "sell"]),
            "lots": st.integers(1, 30),
            "limit": st.booleans(),
            "offset": st.integers(1, 20),  # ticks of 10 USDT away from the mark for a limit
            "reduce_only": st.booleans(),
            "move": st.integers(-40, 40),  # the mark's next move, in steps of 10 USDT
            "volume_lots": st.none() | st.integers(1, 15),  # liquidity of that move (partial fills)
        }
    ),
    min_size=3,
    max_size=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(ops=operations, one_way=st.booleans(), maker_bp=st.integers(-3, 3))
def test_positions_equal_a_replay_of_their_fills(ops: list[dict], one_way: bool, maker_bp: int) -> None:  # type: ignore[type-arg]
    user = f"prop-{uuid.uuid4().hex[:12]}"
    mode = PositionMode.ONE_WAY if one_way else PositionMode.HEDGE
    ExchangeAccount.objects.create(user_id=user, exchange="okx", api_key="k", api_secret="s", passphrase="p",
                                   position_mode=mode)  # fmt: skip
    price = D("45000")
    with override_settings(TRADING_PAPER_MAKER_FEE=str(D(maker_bp) / 10000)):
        mark(price)
        for op in ops:
            _place(user, op, price, one_way)
            price = max(D("30000"), price + D(op["move"]) * 10)
            mark(price, volume=None if op["volume_lots"] is None else str(op["volume_lots"] * LOT))
            watcher.run_pass(interval=0, refresh_marks=False)
        _cancel_live(user)

    fills = OrderFill.objects.filter(order__user_id=user).count()
    event(f"fills: {min(fills, 10)}{'+' if fills >= 10 else ''}")
    event(f"positions: {Position.objects.filter(user_id=user).count()}")
    _check_orders(user)
    _check_positions(user, one_way)


def _place(user: str, op: dict, price: Decimal, one_way: bool) -> None:  # type: ignore[type-arg]
    values = {"user_id": user, "exchange": "okx", "symbol": BTC, "side": op["side"], "quantity": op["lots"] * LOT,
              "reduce_only": op["reduce_only"] and not one_way}  # fmt: skip
    if op["limit"]:
        away = D(op["offset"]) * 10
        values.update(order_type="limit", price=price - away if op["side"] == "buy" else price + away)
    else:
        values.update(order_type="market")
    try:
        OrderManager().create_order(**values)
    except TradingError:
        pass  # refused (a reduce-only order with nothing to reduce): kept as rejected, no fills


def _cancel_live(user: str) -> None:
    for order in Order.objects.filter(user_id=user, status__in=["open", "partially_filled"]):
        OrderManager().cancel_order(order.pk)


def _check_orders(user: str) -> None:
    for order in Order.objects.filter(user_id=user):
        booked = sum((fill.quantity for fill in OrderFill.objects.filter(order=order)), ZERO)
        assert booked == order.filled_qty, order
        if order.status == OrderStatus.FILLED:
            assert order.filled_qty == order.quantity, order
        assert order.status != OrderStatus.PENDING


def _check_positions(user: str, one_way: bool) -> None:
    replayed = _replay(user, one_way)
    stored = [
        (p.side, p.status, p.size, p.entry_price, p.realized_pnl, p.fees)
        for p in Position.objects.filter(user_id=user).order_by("created_at", "id")
    ]
    assert sorted(stored, key=str) == sorted(replayed, key=str)


def _replay(user: str, one_way: bool) -> list[tuple[str, str, Decimal, Decimal, Decimal, Decimal]]:
    """Fold every fill, in booking order, into positions: hedge fills by their order's side,
    one-way fills netted (reduce the opposite side first, open the rest)."""
    open_: dict[PositionSide, pnl.PositionState] = {}
    done: list[tuple[str, str, Decimal, Decimal, Decimal, Decimal]] = []

    def apply(side: PositionSide, order_side: str, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        state = open_.get(side) or pnl.PositionState(side=side)
        effect = pnl.apply_fill(state, side=order_side, qty=qty, price=price, fee=fee)
        if effect.state.size > 0:
            open_[side] = effect.state
        else:
            open_.pop(side, None)
            final = effect.state
            done.append((side.value, "closed", state.size if not effect.increased else final.size,
                         pnl.quantize_entry(final.entry_price), final.realized_pnl, quantize(final.fees)))  # fmt: skip

    for fill in OrderFill.objects.filter(order__user_id=user).select_related("order").order_by("id"):
        order = fill.order
        buy = order.side == OrderSide.BUY
        if one_way:
            opposite = PositionSide.SHORT if buy else PositionSide.LONG
            own = PositionSide.LONG if buy else PositionSide.SHORT
            held = open_[opposite].size if opposite in open_ else ZERO
            reduce = min(fill.quantity, held)
            reduce_fee = quantize(fill.fee * reduce / fill.quantity)
            if reduce > 0:
                apply(opposite, order.side, reduce, fill.price, reduce_fee)
            if fill.quantity - reduce > 0:
                apply(own, order.side, fill.quantity - reduce, fill.price, fill.fee - reduce_fee)
        else:
            apply(PositionSide(order.position_side), order.side, fill.quantity, fill.price, fill.fee)
    still_open = [
        (
            side.value,
            "open",
            state.size,
            pnl.quantize_entry(state.entry_price),
            state.realized_pnl,
            quantize(state.fees),
        )
        for side, state in open_.items()
    ]
    return done + still_open
