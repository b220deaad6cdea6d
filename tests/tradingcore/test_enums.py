"""Domain enums (SPEC section 2): exact wire values and the normalisation of outside input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradingcore.enums import (
    DomainChoices,
    Exchange,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    PositionStatus,
    TimeInForce,
)
from tradingcore.exceptions import InvalidInput

D = Decimal

WIRE_VALUES: list[tuple[type[DomainChoices], list[str]]] = [
    (Exchange, ["okx", "binance", "bybit", "bitget", "upbit", "paper"]),
    (PositionSide, ["long", "short"]),
    (PositionStatus, ["open", "closed", "liquidated"]),
    (OrderSide, ["buy", "sell"]),
    (OrderType, ["market", "limit", "stop_market", "stop_limit", "trigger", "take_profit", "stop_loss"]),
    (OrderStatus, ["pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"]),
    (TimeInForce, ["GTC", "IOC", "FOK"]),
]
ALL_MEMBERS = [member for enum, _ in WIRE_VALUES for member in enum]


@pytest.mark.parametrize(("enum", "values"), WIRE_VALUES, ids=lambda item: getattr(item, "__name__", ""))
def test_wire_values_are_exactly_the_spec_table_in_order(enum: type[DomainChoices], values: list[str]) -> None:
    assert [member.value for member in enum] == values


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=repr)
def test_members_serialise_as_their_wire_value(member: DomainChoices) -> None:
    assert str(member) == member.value
    assert member == member.value


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=repr)
def test_parse_accepts_the_member_itself(member: DomainChoices) -> None:
    assert type(member).parse(member) is member


@pytest.mark.parametrize("member", ALL_MEMBERS, ids=repr)
def test_parse_is_case_insensitive_and_ignores_surrounding_blanks(member: DomainChoices) -> None:
    enum = type(member)

    for spelling in (member.value, member.value.upper(), member.value.lower(), member.value.title(), f" {member}\n"):
        assert enum.parse(spelling) is member


@pytest.mark.parametrize(
    ("enum", "bad"),
    [
        (Exchange, "kraken"),
        (PositionSide, "buy"),
        (PositionStatus, "pending"),
        (OrderSide, "long"),
        (OrderType, "stop"),
        (OrderStatus, "canceled-ish"),
        (TimeInForce, "GTD"),
        (OrderSide, ""),
        (OrderSide, None),
        (OrderSide, 1),
        (OrderSide, PositionSide.LONG),
        (Exchange, {}),  # JSON objects and arrays from an API body are unhashable
        (PositionSide, []),
    ],
)
def test_parse_refuses_values_outside_the_enum_naming_the_field(enum: type[DomainChoices], bad: object) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        enum.parse(bad, field="side_or_whatever")

    error = excinfo.value
    assert error.code == "invalid"
    assert error.message.startswith("side_or_whatever:")
    assert repr(bad) in error.message
    assert list(error.details) == ["side_or_whatever"]
    assert all(member.value in error.details["side_or_whatever"][0] for member in enum)


def test_parse_without_a_field_name_names_the_enum() -> None:
    with pytest.raises(InvalidInput) as excinfo:
        PositionSide.parse("up")

    assert list(excinfo.value.details) == ["PositionSide"]


def test_parse_optional_treats_none_and_empty_as_absent_but_still_refuses_garbage() -> None:
    assert OrderType.parse_optional(None) is None
    assert OrderType.parse_optional("") is None
    assert OrderType.parse_optional("LIMIT") is OrderType.LIMIT
    with pytest.raises(InvalidInput):
        OrderType.parse_optional("iceberg", field="order_type")


class TestOrderStatusFromExchange:
    @pytest.mark.parametrize("raw", ["canceled", "CANCELED", "cancelled", " Canceled "])
    def test_ccxt_canceled_is_cancelled(self, raw: str) -> None:
        assert OrderStatus.from_exchange(raw, filled=D("0"), amount=D("1")) is OrderStatus.CANCELLED

    @pytest.mark.parametrize(("filled", "amount"), [(D("1"), D("1")), (D("1.00000001"), D("1"))])
    def test_ccxt_closed_with_the_whole_amount_filled_is_filled(self, filled: Decimal, amount: Decimal) -> None:
        assert OrderStatus.from_exchange("closed", filled=filled, amount=amount) is OrderStatus.FILLED

    @pytest.mark.parametrize("filled", [D("0"), D("0.5"), D("0.99999999")])
    def test_ccxt_closed_with_a_partial_fill_is_cancelled(self, filled: Decimal) -> None:
        assert OrderStatus.from_exchange("closed", filled=filled, amount=D("1")) is OrderStatus.CANCELLED

    def test_ccxt_open_with_a_fill_is_partially_filled(self) -> None:
        assert OrderStatus.from_exchange("open", filled=D("0.3"), amount=D("1")) is OrderStatus.PARTIALLY_FILLED

    @pytest.mark.parametrize("filled", [D("0"), None])
    def test_ccxt_open_without_a_fill_stays_open(self, filled: Decimal | None) -> None:
        assert OrderStatus.from_exchange("open", filled=filled, amount=D("1")) is OrderStatus.OPEN

    @pytest.mark.parametrize(
        ("raw", "filled", "expected"),
        [
            ("OPEN", D("0"), OrderStatus.OPEN),
            ("OPEN", D("1"), OrderStatus.PARTIALLY_FILLED),
            ("CLOSED", D("2"), OrderStatus.FILLED),
            ("CLOSED", D("1"), OrderStatus.CANCELLED),
            ("CANCELED", D("1"), OrderStatus.CANCELLED),
            ("Expired", D("0"), OrderStatus.EXPIRED),
            ("REJECTED", D("0"), OrderStatus.REJECTED),
        ],
    )
    def test_upper_case_exchange_words_are_normalised(self, raw: str, filled: Decimal, expected: OrderStatus) -> None:
        assert OrderStatus.from_exchange(raw, filled=filled, amount=D("2")) is expected

    def test_unknown_exchange_word_is_refused_naming_status(self) -> None:
        with pytest.raises(InvalidInput) as excinfo:
            OrderStatus.from_exchange("triggered", filled=D("0"), amount=D("1"))

        assert list(excinfo.value.details) == ["status"]
