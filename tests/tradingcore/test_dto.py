"""DTOs (seed ``Position``, ``Order``, ``PnLInfo``): computed fields, no floats, ORM round trips."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import Order as OrderRow
from positions.models import Position as PositionRow
from tradingcore.dto import Order, PnLInfo, Position, pnl_info_for
from tradingcore.enums import (
    Exchange,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
    TimeInForce,
)

D = Decimal


def a_position(**overrides: Any) -> Position:
    values: dict[str, Any] = {
        "user_id": "user-1",
        "exchange": Exchange.OKX,
        "symbol": "BTC-USDT-SWAP",
        "side": PositionSide.LONG,
        "size": D("0.1"),
        "entry_price": D("45000"),
    }
    return Position(**(values | overrides))


def an_order(**overrides: Any) -> Order:
    values: dict[str, Any] = {
        "user_id": "user-1",
        "exchange": Exchange.OKX,
        "symbol": "BTC-USDT-SWAP",
        "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": D("0.1"),
        "price": D("45000"),
    }
    return Order(**(values | overrides))


def floats_in(value: Any) -> list[Any]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [found for item in value.values() for found in floats_in(item)]
    if isinstance(value, list | tuple):
        return [found for item in value for found in floats_in(item)]
    return []


class TestPositionComputedFields:
    def test_notional_uses_the_mark_when_known(self) -> None:
        assert a_position(current_price=D("45500")).notional_value == D("4550")

    def test_notional_falls_back_to_the_entry_price_without_a_mark(self) -> None:
        assert a_position().notional_value == D("4500")

    @pytest.mark.parametrize(
        ("side", "mark", "expected"),
        [
            (PositionSide.LONG, D("45500"), D("1.11111111")),
            (PositionSide.LONG, D("44000"), D("-2.22222222")),
            (PositionSide.SHORT, D("44000"), D("2.22222222")),
            (PositionSide.SHORT, D("45500"), D("-1.11111111")),
        ],
    )
    def test_pnl_percentage_is_the_price_move_signed_by_side(
        self, side: PositionSide, mark: Decimal, expected: Decimal
    ) -> None:
        assert a_position(side=side, current_price=mark).pnl_percentage == expected

    def test_pnl_percentage_is_zero_without_a_mark(self) -> None:
        assert a_position().pnl_percentage == D("0")

    def test_pnl_percentage_ignores_leverage(self) -> None:
        assert a_position(current_price=D("45500"), leverage=20).pnl_percentage == D("1.11111111")

    @pytest.mark.parametrize(
        ("status", "expected"),
        [(PositionStatus.OPEN, True), (PositionStatus.CLOSED, False), (PositionStatus.LIQUIDATED, False)],
    )
    def test_is_open_follows_status(self, status: PositionStatus, expected: bool) -> None:
        assert a_position(status=status).is_open is expected

    def test_computed_fields_are_part_of_the_serialised_form(self) -> None:
        dumped = a_position(current_price=D("45500")).model_dump(mode="json")

        assert (dumped["notional_value"], dumped["pnl_percentage"], dumped["is_open"]) == (
            "4550.00000000",
            "1.11111111",
            True,
        )


class TestOrderComputedFields:
    def test_remaining_fill_percentage_and_flags_of_a_partial_fill(self) -> None:
        order = an_order(quantity=D("0.3"), filled_qty=D("0.1"), status=OrderStatus.PARTIALLY_FILLED)

        assert order.remaining_qty == D("0.2")
        assert order.fill_percentage == D("33.33333333")
        assert order.is_filled is False
        assert order.is_active is True

    def test_a_filled_order_has_nothing_remaining_and_is_no_longer_active(self) -> None:
        order = an_order(quantity=D("0.3"), filled_qty=D("0.3"), status=OrderStatus.FILLED)

        assert (order.remaining_qty, order.fill_percentage) == (D("0"), D("100"))
        assert (order.is_filled, order.is_active) == (True, False)

    @pytest.mark.parametrize("status", list(OrderStatus))
    def test_is_active_for_live_statuses_only(self, status: OrderStatus) -> None:
        live = {OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED}

        assert an_order(status=status).is_active is (status in live)

    def test_fill_percentage_of_an_empty_quantity_is_zero(self) -> None:
        assert an_order(quantity=D("0")).fill_percentage == D("0")


class TestPnLInfo:
    def test_total_and_net_pnl(self) -> None:
        info = PnLInfo(realized_pnl=D("12.5"), unrealized_pnl=D("-2.25"), fees=D("0.75"))

        assert info.total_pnl == D("10.25")
        assert info.net_pnl == D("9.5")

    def test_pnl_info_for_a_mark_computes_unrealized_percent_and_roe_without_leverage_in_pnl(self) -> None:
        info = pnl_info_for(
            side=PositionSide.LONG,
            size=D("0.1"),
            entry_price=D("45000"),
            leverage=10,
            mark=D("45500"),
            realized_pnl=D("1"),
            fees=D("0.5"),
        )

        assert (info.unrealized_pnl, info.pnl_percentage, info.roe_percentage) == (
            D("50"),
            D("1.11111111"),
            D("11.11111111"),
        )
        assert (info.total_pnl, info.net_pnl) == (D("51"), D("50.5"))


class TestNoFloats:
    def test_float_inputs_become_the_decimal_of_their_shortest_repr(self) -> None:
        position = a_position(size=0.1, entry_price=45000.1, current_price=0.3)

        assert (position.size, position.entry_price, position.current_price) == (D("0.1"), D("45000.1"), D("0.3"))
        assert all(type(value) is Decimal for value in (position.size, position.entry_price, position.current_price))

    @given(value=st.floats(min_value=1e-8, max_value=1e11, allow_nan=False, allow_infinity=False))
    def test_any_float_size_becomes_the_same_decimal_as_its_str(self, value: float) -> None:
        position = a_position(size=value)
        order = an_order(quantity=value, filled_qty=value)
        info = PnLInfo(realized_pnl=value, fees=value)

        for converted in (position.size, order.quantity, order.filled_qty, info.realized_pnl, info.fees):
            assert type(converted) is Decimal
            assert converted == D(str(value))
            assert str(converted) == str(D(str(value)))

    def test_assignment_of_a_float_is_converted_too(self) -> None:
        order = an_order()

        order.filled_qty = 0.07  # type: ignore[assignment]

        assert order.filled_qty == D("0.07")
        assert type(order.filled_qty) is Decimal

    def test_json_dump_carries_no_float(self) -> None:
        position = a_position(size=0.1, current_price=45500.5, leverage=5)
        order = an_order(quantity=0.3, filled_qty=0.1, price=1.1)

        assert floats_in(position.model_dump(mode="json")) == []
        assert floats_in(order.model_dump(mode="json")) == []
        assert position.model_dump(mode="json")["size"] == "0.1"


# --- round trips through PostgreSQL -------------------------------------------------------------

money = st.decimals(min_value=D("0.00000001"), max_value=D("99999999"), places=8, allow_nan=False, allow_infinity=False)
signed_money = st.decimals(
    min_value=D("-99999999"), max_value=D("99999999"), places=8, allow_nan=False, allow_infinity=False
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds and adds the zone
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
sizes = st.decimals(min_value=D("0.00000001"), max_value=D("10000"), places=8)
prices = st.decimals(min_value=D("0.00000001"), max_value=D("10000000"), places=8)
# PostgreSQL text and jsonb cannot hold NUL.
pg_characters = st.characters(codec="utf-8", exclude_characters="\x00")
json_metadata = st.dictionaries(
    st.text(pg_characters, min_size=1, max_size=10),
    st.one_of(st.text(pg_characters, max_size=20), st.integers(-(10**6), 10**6), st.booleans(), st.none()),
    max_size=4,
)
identifiers = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=32)


@st.composite
def positions(draw: st.DrawFn) -> Position:
    status = draw(st.sampled_from(PositionStatus))
    side = draw(st.sampled_from(PositionSide))
    # A notional (size x price) fits numeric(20,8) on every real market: sizes to 10^4, prices to
    # 10^7, so the PnL derived at the mark fits its column too.
    size, entry, leverage = draw(sizes), draw(prices), draw(st.integers(1, 125))
    mark = draw(st.none() | prices)
    realized, unrealized, fees = draw(signed_money), draw(signed_money), draw(money)
    position = Position(
        user_id=draw(st.text(pg_characters, min_size=1, max_size=64)),
        exchange=draw(st.sampled_from(Exchange)),
        symbol=draw(identifiers),
        side=side,
        size=size,
        entry_price=entry,
        current_price=mark,
        exit_price=draw(st.none() | money),
        leverage=leverage,
        stop_loss_price=draw(st.none() | money),
        take_profit_price=draw(st.none() | money),
        liquidation_price=draw(st.none() | money),
        margin_mode=draw(st.sampled_from(MarginMode)),
        contract_size=draw(st.none() | money),
        status=status,
        grid_level=draw(st.none() | st.integers(0, 100)),
        metadata=draw(json_metadata),
        close_reason=draw(st.text(pg_characters, max_size=40)),
        created_at=draw(moments),
        updated_at=draw(moments),
        closed_at=None if status == PositionStatus.OPEN else draw(moments),
    )
    # What from_row derives: the PnL at the mark while open, the stored figures otherwise.
    position.pnl_info = pnl_info_for(
        side=side,
        size=size,
        entry_price=entry,
        leverage=leverage,
        mark=mark if status == PositionStatus.OPEN else None,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        fees=fees,
    )
    return position


@st.composite
def orders(draw: st.DrawFn) -> Order:
    quantity = draw(money)
    return Order(
        user_id=draw(st.text(pg_characters, min_size=1, max_size=64)),
        exchange=draw(st.sampled_from(Exchange)),
        exchange_order_id=draw(st.none() | identifiers),
        client_order_id=draw(st.uuids()).hex,
        symbol=draw(identifiers),
        side=draw(st.sampled_from(OrderSide)),
        order_type=draw(st.sampled_from(OrderType)),
        quantity=quantity,
        price=draw(st.none() | money),
        trigger_price=draw(st.none() | money),
        filled_qty=draw(st.decimals(min_value=0, max_value=quantity, places=8)),
        avg_fill_price=draw(st.none() | money),
        status=draw(st.sampled_from(OrderStatus)),
        reduce_only=draw(st.booleans()),
        post_only=draw(st.booleans()),
        time_in_force=draw(st.sampled_from(TimeInForce)),
        grid_level=draw(st.none() | st.integers(0, 100)),
        fee=draw(signed_money),
        fee_currency=draw(st.sampled_from(["", "USDT", "BTC"])),
        maker_fee=draw(signed_money),
        taker_fee=draw(signed_money),
        funding_fee=draw(signed_money),
        last_error=draw(st.text(pg_characters, max_size=40)),
        metadata=draw(json_metadata),
        created_at=draw(moments),
        updated_at=draw(moments),
        filled_at=draw(st.none() | moments),
    )


@pytest.mark.django_db
class TestRoundTripThroughTheDatabase:
    @settings(max_examples=60, deadline=None)
    @given(position=positions())
    def test_position_survives_row_fields_save_and_from_row(self, position: Position) -> None:
        # given a row built from the DTO (plus the precise entry only the ORM row carries)
        with transaction.atomic():
            PositionRow(**position.row_fields(), entry_price_precise=position.entry_price).save(force_insert=True)

            # when it is read back from PostgreSQL
            restored = Position.from_row(PositionRow.objects.get(pk=position.id))

            transaction.set_rollback(True)

        # then nothing was lost or changed on the way
        assert restored == position
        assert restored.row_fields() == position.row_fields()

    @settings(max_examples=60, deadline=None)
    @given(order=orders())
    def test_order_survives_row_fields_save_and_from_row(self, order: Order) -> None:
        with transaction.atomic():
            OrderRow(**order.row_fields()).save(force_insert=True)

            restored = Order.from_row(OrderRow.objects.get(pk=order.id))

            transaction.set_rollback(True)

        assert restored == order
        assert restored.row_fields() == order.row_fields()

    def test_order_attached_to_a_position_keeps_the_link(self) -> None:
        position = a_position(updated_at=datetime.now(UTC))
        PositionRow.objects.create(**position.row_fields(), entry_price_precise=position.entry_price)
        order = an_order(position_id=position.id, client_order_id=uuid.uuid4().hex, updated_at=datetime.now(UTC))

        OrderRow.objects.create(**order.row_fields())

        assert Order.from_row(OrderRow.objects.get(pk=order.id)).position_id == position.id

    def test_decimals_read_back_from_the_database_are_decimals_not_floats(self) -> None:
        position = a_position(size=0.1, entry_price=45000.12345678, updated_at=datetime.now(UTC))
        PositionRow.objects.create(**position.row_fields(), entry_price_precise=position.entry_price)

        restored = Position.from_row(PositionRow.objects.get(pk=position.id))

        assert floats_in(restored.model_dump()) == []
        assert (restored.size, restored.entry_price) == (D("0.1"), D("45000.12345678"))

    def test_a_dto_with_default_fields_can_be_saved_from_row_fields(self) -> None:
        # given DTOs built with only their required fields (client order ids generated, like the model's)
        position = a_position()
        order, other = an_order(), an_order()
        OrderRow.objects.create(**other.row_fields())

        # when their rows are saved
        PositionRow.objects.create(**position.row_fields(), entry_price_precise=position.entry_price)
        OrderRow.objects.create(**order.row_fields())

        # then they read back
        assert Position.from_row(PositionRow.objects.get(pk=position.id)).id == position.id
        assert Order.from_row(OrderRow.objects.get(pk=order.id)).id == order.id
