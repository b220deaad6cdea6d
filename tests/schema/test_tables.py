"""The migrated ``positions`` and ``orders`` tables carry the seed schema of SPEC section 3.

Everything here reads the PostgreSQL catalog (``information_schema`` and ``pg_catalog``) of the
database the migrations built, so a model or migration drifting from the seed schema fails here
even when the ORM would not notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import connection

from tradingcore.enums import OrderStatus, PositionSide, PositionStatus

pytestmark = pytest.mark.django_db

# PostgreSQL stores ``DEFAULT now()`` as ``now()``; Django's ``Now()`` compiles to
# ``statement_timestamp()``. Both mean "the current time when the row is inserted".
CURRENT_TIME_DEFAULTS = {"now()", "CURRENT_TIMESTAMP", "statement_timestamp()", "transaction_timestamp()"}

ID_USER_EXCHANGE_SYMBOL = {
    "id": "uuid",
    "user_id": "varchar(64)",
    "exchange": "varchar(32)",
    "symbol": "varchar(32)",
}

SEED_POSITIONS = {
    **ID_USER_EXCHANGE_SYMBOL,
    "side": "varchar(16)",
    "size": "numeric(20,8)",
    "entry_price": "numeric(20,8)",
    "exit_price": "numeric(20,8)",
    "leverage": "int",
    "realized_pnl": "numeric(20,8)",
    "unrealized_pnl": "numeric(20,8)",
    "fees": "numeric(20,8)",
    "status": "varchar(16)",
    "metadata": "jsonb",
    "created_at": "timestamptz",
    "closed_at": "timestamptz",
}

# SPEC 3, "beyond the floor": what the seed's Pydantic Position carries and the admin review needs.
EXTENDED_POSITIONS = {
    "current_price": "numeric(20,8)",
    "stop_loss_price": "numeric(20,8)",
    "take_profit_price": "numeric(20,8)",
    "liquidation_price": "numeric(20,8)",
    "margin_mode": "varchar(16)",
    "contract_size": "numeric(20,8)",
    "grid_level": "int",
    "updated_at": "timestamptz",
    "close_reason": "varchar(255)",
    "review_status": "varchar(16)",
    "reviewed_by": "varchar(150)",
    "reviewed_at": "timestamptz",
    "review_note": "text",
}

SEED_ORDERS = {
    **ID_USER_EXCHANGE_SYMBOL,
    "side": "varchar(16)",
    "order_type": "varchar(32)",
    "quantity": "numeric(20,8)",
    "price": "numeric(20,8)",
    "filled_qty": "numeric(20,8)",
    "status": "varchar(16)",
    "exchange_order_id": "varchar(128)",
    "metadata": "jsonb",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
}

EXTENDED_ORDERS = {
    "trigger_price": "numeric(20,8)",
    "avg_fill_price": "numeric(20,8)",
    "reduce_only": "boolean",
    "post_only": "boolean",
    "time_in_force": "varchar(3)",
    "client_order_id": "varchar(32)",
    "position_id": "uuid",
    "grid_level": "int",
    "fee": "numeric(20,8)",
    "fee_currency": "varchar(16)",
    "filled_at": "timestamptz",
    "last_error": "text",
}

# Columns that must accept NULL: they have no value until something happens (exit, fill, ...).
NULLABLE_POSITIONS = {"exit_price", "closed_at", "current_price", "grid_level", "reviewed_at"}
NULLABLE_ORDERS = {"price", "exchange_order_id", "trigger_price", "avg_fill_price", "position_id", "filled_at"}


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    default: str | None


def table_columns(table: str) -> dict[str, Column]:
    """The table's columns from ``information_schema``, types spelled the way the seed DDL spells them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale,
                   is_nullable, column_default
              FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = %s
            """,
            [table],
        )
        rows = cursor.fetchall()
    return {
        name: Column(_seed_type(*spelling), nullable == "YES", default) for name, *spelling, nullable, default in rows
    }


def _seed_type(data_type: str, length: int | None, precision: int | None, scale: int | None) -> str:
    if data_type == "character varying":
        return f"varchar({length})"
    if data_type == "numeric":
        return f"numeric({precision},{scale})"
    return {"timestamp with time zone": "timestamptz", "integer": "int"}.get(data_type, data_type)


def check_constraints(table: str) -> dict[str, str]:
    """Name to definition (``pg_get_constraintdef``) of every CHECK constraint on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'c'",
            [table],
        )
        return dict(cursor.fetchall())


def allowed_values(table: str, column: str) -> set[str]:
    """The string literals of the one CHECK constraint that lists the allowed values of ``column``."""
    pattern = re.compile(rf"\(\({column}\)::text = ANY")
    matching = [definition for definition in check_constraints(table).values() if pattern.search(definition)]
    assert len(matching) == 1, f"expected one enum check on {table}.{column}, found {matching}"
    return set(re.findall(r"'([^']*)'", matching[0]))


def index_columns(table: str) -> list[tuple[str, ...]]:
    """The plain column lists of the btree indexes on ``table`` (from ``pg_indexes``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [table]
        )
        definitions = [row[0] for row in cursor.fetchall()]
    columns = []
    for definition in definitions:
        match = re.search(r"USING btree \(([^()]*)\)$", definition)
        if match:
            columns.append(tuple(part.strip().split(" ")[0] for part in match.group(1).split(",")))
    return columns


def unique_columns(table: str) -> set[tuple[str, ...]]:
    """Column lists of the UNIQUE constraints and unconditional unique indexes on ``table``."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT array_agg(a.attname ORDER BY k.ordinality)
              FROM pg_index i
              JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality) ON true
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = %s::regclass AND i.indisunique AND i.indpred IS NULL
             GROUP BY i.indexrelid
            """,
            [table],
        )
        return {tuple(row[0]) for row in cursor.fetchall()}


@pytest.mark.parametrize(
    ("table", "expected"),
    [("positions", SEED_POSITIONS | EXTENDED_POSITIONS), ("orders", SEED_ORDERS | EXTENDED_ORDERS)],
)
def test_columns_have_the_seed_types_and_lengths(table: str, expected: dict[str, str]) -> None:
    # given the migrated database
    # when its catalog is read
    columns = table_columns(table)

    # then every seed and extension column exists with exactly the declared type
    assert {name: columns[name].type for name in expected if name in columns} == expected


@pytest.mark.parametrize(("table", "nullable"), [("positions", NULLABLE_POSITIONS), ("orders", NULLABLE_ORDERS)])
def test_identity_columns_are_not_null_and_optional_ones_accept_null(table: str, nullable: set[str]) -> None:
    columns = table_columns(table)

    for name in ("id", "user_id", "exchange", "symbol"):
        assert columns[name].nullable is False, name
    assert {name for name in nullable if columns[name].nullable} == nullable


@pytest.mark.parametrize("table", ["positions", "orders"])
def test_id_is_the_primary_key(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        )
        definitions = [row[0] for row in cursor.fetchall()]

    assert definitions == ["PRIMARY KEY (id)"]


def test_positions_leverage_defaults_to_one_in_the_database() -> None:
    assert table_columns("positions")["leverage"].default == "1"


@pytest.mark.parametrize(
    ("table", "column"),
    [("positions", "created_at"), ("orders", "created_at"), ("orders", "updated_at")],
)
def test_timestamps_default_to_the_current_time_in_the_database(table: str, column: str) -> None:
    assert table_columns(table)[column].default in CURRENT_TIME_DEFAULTS


def test_positions_side_check_lists_exactly_long_and_short() -> None:
    assert allowed_values("positions", "side") == {"long", "short"} == {side.value for side in PositionSide}


def test_positions_status_check_lists_exactly_open_closed_liquidated() -> None:
    expected = {"open", "closed", "liquidated"}

    assert allowed_values("positions", "status") == expected == {status.value for status in PositionStatus}


def test_orders_side_check_lists_exactly_buy_and_sell() -> None:
    assert allowed_values("orders", "side") == {"buy", "sell"}


def test_orders_status_check_is_extended_to_all_seven_order_statuses() -> None:
    expected = {"pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"}

    assert allowed_values("orders", "status") == expected == {status.value for status in OrderStatus}


def test_positions_check_size_positive_and_leverage_between_1_and_125() -> None:
    definitions = set(check_constraints("positions").values())

    assert "CHECK ((size > (0)::numeric))" in definitions
    assert "CHECK (((leverage >= 1) AND (leverage <= 125)))" in definitions


def test_orders_check_filled_qty_between_zero_and_quantity() -> None:
    definitions = set(check_constraints("orders").values())

    assert "CHECK (((filled_qty >= (0)::numeric) AND (filled_qty <= quantity)))" in definitions


@pytest.mark.parametrize("table", ["positions", "orders"])
def test_indexes_on_user_exchange_and_on_status(table: str) -> None:
    indexes = index_columns(table)

    assert ("user_id", "exchange") in indexes
    assert ("status",) in indexes


def test_orders_exchange_order_id_and_client_order_id_are_unique() -> None:
    unique = unique_columns("orders")

    assert ("exchange_order_id",) in unique
    assert ("client_order_id",) in unique


def test_positions_one_open_per_key_is_a_partial_unique_index_over_the_key_with_null_level_folded() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'positions' AND indexname = 'positions_one_open_per_key'"
        )
        (definition,) = cursor.fetchone()

    assert definition.startswith("CREATE UNIQUE INDEX")
    assert "(user_id, exchange, symbol, side, COALESCE(grid_level, '-1'::integer))" in definition
    assert definition.endswith("WHERE ((status)::text = 'open'::text)")
