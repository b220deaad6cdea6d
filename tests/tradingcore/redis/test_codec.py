"""Codec: every field of the unified hashes round-trips; formats of SPEC 6.1 / 6.2 hold for any value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradingcore.dto import Order, PnLInfo, Position
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
from tradingcore.redis import codec

D = Decimal

# numeric(20,8): 12 integer digits, 8 places, either sign.
money = st.decimals(
    min_value=D("-999999999999.99999999"), max_value=D("999999999999.99999999"), places=8, allow_nan=False
)
positive = st.decimals(min_value=D("0.00000001"), max_value=D("999999999999.99999999"), places=8)
optional_money = st.none() | money
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
# hypothesis wants naive bounds and attaches the zone itself
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=offsets,
)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
json_leaves = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
metadata = st.dictionaries(texts, json_values, max_size=4)
grid_levels = st.none() | st.integers(min_value=0, max_value=100)


@st.composite
def positions(draw: st.DrawFn) -> Position:
    return Position(
        id=draw(st.uuids()),
        user_id=draw(texts.filter(bool)),
        exchange=draw(st.sampled_from(Exchange)),
        symbol=draw(st.from_regex(r"[A-Z0-9]{1,10}(-[A-Z0-9]{1,10}){0,2}", fullmatch=True)),
        side=draw(st.sampled_from(PositionSide)),
        size=draw(positive),
        entry_price=draw(positive),
        current_price=draw(st.none() | positive),
        exit_price=draw(st.none() | positive),
        leverage=draw(st.integers(min_value=1, max_value=125)),
        stop_loss_price=draw(st.none() | positive),
        take_profit_price=draw(st.none() | positive),
        liquidation_price=draw(optional_money),
        margin_mode=draw(st.sampled_from(MarginMode)),
        contract_size=draw(st.none() | positive),
        pnl_info=PnLInfo(realized_pnl=draw(money), unrealized_pnl=draw(money), fees=draw(money)),
        status=draw(st.sampled_from(PositionStatus)),
        grid_level=draw(grid_levels),
        metadata=draw(metadata),
        close_reason=draw(texts),
        created_at=draw(moments),
        updated_at=draw(moments),
        closed_at=draw(st.none() | moments),
    )


@st.composite
def orders(draw: st.DrawFn) -> Order:
    quantity = draw(positive)
    return Order(
        id=draw(st.uuids()),
        user_id=draw(texts.filter(bool)),
        exchange=draw(st.sampled_from(Exchange)),
        exchange_order_id=draw(st.none() | texts.filter(bool)),
        client_order_id=draw(st.from_regex(r"[A-Za-z0-9]{0,32}", fullmatch=True)),
        symbol=draw(st.from_regex(r"[A-Z0-9]{1,10}(-[A-Z0-9]{1,10}){0,2}", fullmatch=True)),
        side=draw(st.sampled_from(OrderSide)),
        order_type=draw(st.sampled_from(OrderType)),
        quantity=quantity,
        price=draw(st.none() | positive),
        trigger_price=draw(st.none() | positive),
        filled_qty=draw(st.decimals(min_value=0, max_value=quantity, places=8)),
        avg_fill_price=draw(st.none() | positive),
        status=draw(st.sampled_from(OrderStatus)),
        reduce_only=draw(st.booleans()),
        post_only=draw(st.booleans()),
        time_in_force=draw(st.sampled_from(TimeInForce)),
        position_id=draw(st.none() | st.uuids()),
        grid_level=draw(grid_levels),
        fee=draw(money),
        fee_currency=draw(st.sampled_from(["", "USDT", "BTC"])),
        maker_fee=draw(money),
        taker_fee=draw(money),
        funding_fee=draw(money),
        last_error=draw(texts),
        metadata=draw(metadata),
        created_at=draw(moments),
        updated_at=draw(moments),
        filled_at=draw(st.none() | moments),
    )


def assert_seed_formats(fields: dict[str, str], decimals: tuple[str, ...]) -> None:
    assert all(isinstance(value, str) for value in fields.values())
    for name in decimals:
        assert "e" not in fields[name].lower(), name
        if fields[name] not in ("", "0"):
            assert D(fields[name]) != 0 or fields[name] == "0", name
    for name in ("created_at", "updated_at", "closed_at", "filled_at"):
        if fields.get(name):
            assert fields[name].endswith("+00:00"), name


# -- unified hashes: round trips ------------------------------------------------------------------


@given(positions())
def test_every_position_field_round_trips(position: Position) -> None:
    fields = codec.encode_position(position)
    decoded = codec.decode_position(fields)

    assert decoded.model_dump(exclude={"pnl_info"}) == position.model_dump(exclude={"pnl_info"})
    for name in ("realized_pnl", "unrealized_pnl", "fees"):
        assert getattr(decoded.pnl_info, name) == getattr(position.pnl_info, name)
    assert codec.encode_position(decoded) == fields
    assert list(fields) == list(codec.POSITION_FIELDS)


@given(positions())
def test_the_read_path_decoder_builds_the_same_dto_as_the_validating_one(position: Position) -> None:
    fields = codec.encode_position(position)

    fast, validated = codec.decode_position_fast(fields), codec.decode_position(fields)

    assert fast.model_dump() == validated.model_dump()
    assert {name: type(value) for name, value in dict(fast).items()} == {
        name: type(value) for name, value in dict(validated).items()
    }
    assert (fast.pnl_info.total_pnl, fast.notional_value, fast.is_open) == (
        validated.pnl_info.total_pnl,
        validated.notional_value,
        validated.is_open,
    )
    assert codec.encode_position(fast) == fields


@given(orders())
def test_every_order_field_round_trips(order: Order) -> None:
    fields = codec.encode_order(order)
    decoded = codec.decode_order(fields)

    assert decoded.model_dump() == order.model_dump()
    assert codec.encode_order(decoded) == fields
    assert list(fields) == list(codec.ORDER_FIELDS)


@given(positions())
def test_position_hash_keeps_the_seed_formats(position: Position) -> None:
    fields = codec.encode_position(position)

    decimals = ("size", "entry_price", "current_price", "exit_price", "realized_pnl", "unrealized_pnl", "fees")
    assert_seed_formats(fields, decimals)
    assert fields["leverage"] == str(int(fields["leverage"]))
    assert fields["status"] in {status.value for status in PositionStatus}
    assert json.loads(fields["metadata"]) == position.metadata


@given(orders())
def test_order_hash_keeps_the_seed_formats(order: Order) -> None:
    fields = codec.encode_order(order)

    assert_seed_formats(fields, ("quantity", "price", "trigger_price", "filled_qty", "maker_fee", "funding_fee"))
    assert fields["reduce_only"] in {"True", "False"}
    assert fields["post_only"] in {"True", "False"}
    assert fields["exchange_order_id"] == (order.exchange_order_id or "")


@given(money)
def test_decimals_are_plain_and_exact(value: Decimal) -> None:
    text = codec.encode_decimal(value)

    assert "E" not in text.upper()
    assert D(text) == value
    assert (text == "0") == (value == 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("0E-8"), "0"),
        (D("-0.00000000"), "0"),
        (D("1E+5"), "100000"),
        (D("45000.00000000"), "45000"),
        (D("0.00000001"), "0.00000001"),
        (None, ""),
    ],
)
def test_decimal_edge_cases(value: Decimal | None, text: str) -> None:
    assert codec.encode_decimal(value) == text


def test_scalar_encodings() -> None:
    assert codec.encode_value(True) == "True"
    assert codec.encode_value(False) == "False"
    assert codec.encode_value(OrderStatus.PARTIALLY_FILLED) == "partially_filled"
    assert codec.encode_value(datetime(2024, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))) == (
        "2024-01-01T00:00:00+00:00"
    )
    assert codec.encode_metadata({"b": D("1.50"), "a": [D("2E+1")]}) == '{"a":["20"],"b":"1.5"}'


def test_naive_datetimes_and_floats_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        codec.encode_value(datetime(2024, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(TypeError, match="float"):
        codec.encode_value(0.1)


# -- legacy layouts -------------------------------------------------------------------------------


def a_position(**overrides: Any) -> Position:
    values: dict[str, Any] = {
        "user_id": "u",
        "exchange": Exchange.OKX,
        "symbol": "BTC-USDT-SWAP",
        "side": PositionSide.SHORT,
        "size": D("0.25"),
        "entry_price": D("45000.5"),
        "leverage": 20,
        "contract_size": D("0.01"),
        "created_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "updated_at": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    }
    return Position(**(values | overrides))


@given(size=positive, contract_size=st.none() | positive, leverage=st.integers(1, 125))
def test_hyperrsi_position_sizes_are_contracts_and_leverage_has_one_decimal(
    size: Decimal, contract_size: Decimal | None, leverage: int
) -> None:
    fields = codec.encode_hyperrsi_position(a_position(size=size, contract_size=contract_size, leverage=leverage))

    assert fields["size"] == fields["contracts"] == fields["contracts_amount"]
    assert D(fields["position_qty"]) == size
    assert abs(D(fields["size"]) * D(fields["contract_size"]) - size) <= D(fields["contract_size"]) * D("1E-8")
    assert fields["leverage"] == f"{leverage}.0"
    assert all("E" not in value.upper() for name, value in fields.items() if name != "symbol")


def test_hyperrsi_position_example() -> None:
    fields = codec.encode_hyperrsi_position(a_position(take_profit_price=D("44000"), current_price=D("44900")))

    assert fields["symbol"] == "BTC/USDT:USDT"  # ccxt's symbol, as fetch_okx_position writes it
    assert fields["size"] == "25.0"
    assert fields["side"] == "short"
    assert fields["leverage"] == "20.0"
    assert fields["tp_prices"] == "44000.0"
    assert fields["liquidation_price"] == "0.0"
    assert "sl_price" not in fields  # HYPERRSI's readers call float() on it: absent, never ""
    assert fields["last_update_time"] == "1714564800"


def test_hyperrsi_tp_prices_lists_every_imported_level_while_the_first_is_the_take_profit() -> None:
    levels = {"tp_prices": ["44000", "43000.5", "42000"]}

    kept = codec.encode_hyperrsi_position(a_position(take_profit_price=D("44000"), metadata=levels))
    moved = codec.encode_hyperrsi_position(a_position(take_profit_price=D("43900"), metadata=levels))

    assert kept["tp_prices"] == "44000.0,43000.5,42000.0"
    assert moved["tp_prices"] == "43900.0"


@given(entry=positive, size=positive, pnl=money, count=st.integers(-1000, 1000), when=st.none() | moments)
def test_grid_level_values_are_json(
    entry: Decimal, size: Decimal, pnl: Decimal, count: int, when: datetime | None
) -> None:
    fields = codec.encode_grid_level(
        entry_price=entry, position_size=size, grid_count=count, pnl=pnl, execution_time=when
    )

    assert D(fields["entry_price"]) == entry
    assert isinstance(json.loads(fields["entry_price"]), float)
    assert "." in fields["position_size"]
    assert D(fields["position_size"]) == size
    assert json.loads(fields["grid_count"]) == count
    assert fields["pnl"] == f"{pnl:.8f}"
    executed = json.loads(fields["execution_time"])
    assert executed is None if when is None else datetime.fromisoformat(executed) == when


def test_grid_reset_is_zero_entry_and_size() -> None:
    fields = codec.encode_grid_reset(pnl=D("-3.2"), execution_time=None)

    assert fields == {
        "entry_price": "0.0",
        "position_size": "0.0",
        "grid_count": "0",
        "pnl": "-3.20000000",
        "execution_time": "null",
    }


def test_hyperrsi_order_item_pos_side_without_a_position() -> None:
    order = Order(
        id="7d6f3a52-7c2a-4a8e-9a11-1d3b1c0c2f11",
        user_id="u",
        exchange="okx",
        client_order_id="abc123",
        symbol="BTC-USDT-SWAP",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=D("0.3"),
        filled_qty=D("0.1"),
        avg_fill_price=D("45000.10"),
        status=OrderStatus.PARTIALLY_FILLED,
        reduce_only=True,
        contract_size=D("0.1"),
        created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        updated_at=datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC),
    )

    item = codec.encode_hyperrsi_order(order)

    assert json.loads(item) == {
        "order_id": str(order.id),
        "symbol": "BTC-USDT-SWAP",
        "side": "buy",
        "size": 3.0,
        "filled_size": 1.0,
        "status": "open",  # ccxt's word for a partly filled live order
        "avg_fill_price": 45000.1,
        "create_time": "2024-05-01T12:00:00+00:00",
        "update_time": "2024-05-01T12:00:30+00:00",
        "order_type": "limit",
        "posSide": "short",  # a reduce-only buy closes a short
        "clientOrderId": "abc123",  # ours, never changes: how the item is found again
        "managed_by": "tradingcore",  # tells our items from the legacy bots' own
    }
    assert item == json.dumps(json.loads(item))  # spaced as json.dumps spaces it, like the bots' items
