"""Properties of the paper exchange over random sequences of mark moves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradingcore.enums import OrderSide, OrderStatus, OrderType, PositionSide
from tradingcore.exchange.base import ExchangeOrder, OrderRequest
from tradingcore.exchange.paper import PaperGateway, set_mark

D = Decimal
BTC = "BTC-USDT-SWAP"
USER = "property-user"

moves = st.lists(
    st.tuples(st.integers(min_value=94, max_value=106), st.none() | st.sampled_from(["0", "0.01", "0.02", "0.05"])),
    min_size=1,
    max_size=12,
)


def place_book(gateway: PaperGateway) -> None:
    requests = [
        OrderRequest(BTC, OrderSide.BUY, OrderType.MARKET, D("0.01"), "prop0"),
        OrderRequest(BTC, OrderSide.BUY, OrderType.LIMIT, D("0.05"), "prop1", price=D("99")),
        OrderRequest(BTC, OrderSide.SELL, OrderType.LIMIT, D("0.03"), "prop2", price=D("102")),
        OrderRequest(BTC, OrderSide.BUY, OrderType.STOP_MARKET, D("0.02"), "prop3", trigger_price=D("103")),
        OrderRequest(
            BTC, OrderSide.SELL, OrderType.STOP_LIMIT, D("0.04"), "prop4", price=D("96"), trigger_price=D("97")
        ),
        OrderRequest(
            BTC, OrderSide.SELL, OrderType.TAKE_PROFIT, D("0.02"), "prop5", trigger_price=D("104"), reduce_only=True
        ),
    ]
    for request in requests:
        gateway.place_order(request)


def orders(gateway: PaperGateway) -> dict[str, ExchangeOrder]:
    return {f"prop{i}": gateway.fetch_order(BTC, client_order_id=f"prop{i}") for i in range(6)}


def check_sequence(sequence: list[tuple[int, str | None]]) -> None:
    gateway = PaperGateway(exchange="paper", user_id=USER)
    set_mark("paper", BTC, D(100))
    place_book(gateway)
    before = orders(gateway)
    for price, volume in sequence:
        trades = set_mark("paper", BTC, D(price), volume=None if volume is None else D(volume))
        after = orders(gateway)
        if volume is not None:
            assert sum((t.fill.quantity for t in trades), D(0)) <= D(volume)
        for key, state in after.items():
            assert before[key].filled_qty <= state.filled_qty <= state.quantity
            assert sum((f.quantity for f in state.fills), D(0)) == state.filled_qty
            assert (state.status == OrderStatus.FILLED) == (state.filled_qty == state.quantity)
        signed = sum(
            (f.quantity if o.side == OrderSide.BUY else -f.quantity for o in after.values() for f in o.fills), D(0)
        )
        net = sum((p.size if p.side == PositionSide.LONG else -p.size for p in gateway.fetch_positions()), D(0))
        assert net == signed
        before = after


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=moves)
def test_filled_qty_never_decreases_never_exceeds_quantity_and_positions_match_fills(
    sequence: list[tuple[int, str | None]],
) -> None:
    with transaction.atomic():
        check_sequence(sequence)
        transaction.set_rollback(True)
