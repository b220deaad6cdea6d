"""The database itself refuses invalid positions and orders (SPEC section 3 invariants).

Every write here is raw SQL through ``connection.cursor()``: no model, no ``full_clean``, so only
the constraints of the migrated PostgreSQL schema stand between the row and the table. Each write
runs in its own savepoint, so one refusal does not abort the test's transaction.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

pytestmark = pytest.mark.django_db

CHECK_VIOLATION = "23514"
UNIQUE_VIOLATION = "23505"

# A valid open position: the seed columns plus the NOT NULL extension columns without a database default.
POSITION = {
    "user_id": "user-1",
    "exchange": "okx",
    "symbol": "BTC-USDT-SWAP",
    "side": "long",
    "size": Decimal("0.1"),
    "entry_price": Decimal("45000"),
    "entry_price_precise": Decimal("45000"),
    "margin_mode": "cross",
    "close_reason": "",
    "metadata": "{}",
    "review_status": "unreviewed",
    "reviewed_by": "",
    "review_note": "",
}

ORDER = {
    "user_id": "user-1",
    "exchange": "okx",
    "symbol": "BTC-USDT-SWAP",
    "side": "buy",
    "order_type": "limit",
    "quantity": Decimal("0.1"),
    "price": Decimal("45000"),
    "reduce_only": False,
    "post_only": False,
    "time_in_force": "GTC",
    "fee_currency": "",
    "last_error": "",
    "metadata": "{}",
}


def insert(table: str, base: dict[str, Any], **overrides: Any) -> str:
    """INSERT one row with raw SQL in its own savepoint; return its id."""
    row = {"id": str(uuid.uuid4()), **base, **overrides}
    if table == "orders":
        row.setdefault("client_order_id", uuid.uuid4().hex)
    row = {column: value for column, value in row.items() if not (column == "client_order_id" and value is None)}
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", list(row.values()))
    return row["id"]


def insert_position(**overrides: Any) -> str:
    return insert("positions", POSITION, **overrides)


def insert_order(**overrides: Any) -> str:
    return insert("orders", ORDER, **overrides)


def update(table: str, row_id: str, **values: Any) -> None:
    assignments = ", ".join(f"{column} = %s" for column in values)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE id = %s", [*values.values(), row_id])


def select(table: str, row_id: str, *columns: str) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE id = %s", [row_id])
        return cursor.fetchone()


def assert_refused(excinfo: pytest.ExceptionInfo[IntegrityError], sqlstate: str, constraint: str) -> None:
    """The IntegrityError came from PostgreSQL's ``constraint`` with ``sqlstate``."""
    cause = excinfo.value.__cause__
    assert cause is not None
    assert (cause.sqlstate, cause.diag.constraint_name) == (sqlstate, constraint)  # type: ignore[attr-defined]


def count_open(**key: Any) -> int:
    conditions = " AND ".join(f"{column} = %s" for column in key)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM positions WHERE status = 'open' AND {conditions}", list(key.values()))
        return cursor.fetchone()[0]


class TestPositionRows:
    def test_valid_row_gets_database_defaults_for_leverage_status_and_created_at(self) -> None:
        # given a raw insert that names neither leverage, status nor created_at
        row_id = insert_position()

        # then the database filled them in
        leverage, status, recent = select(
            "positions", row_id, "leverage", "status", "created_at > clock_timestamp() - interval '1 minute'"
        )
        assert (leverage, status, recent) == (1, "open", True)

    @pytest.mark.parametrize("size", [Decimal("0"), Decimal("-0.00000001"), Decimal("-1")])
    def test_size_not_above_zero_is_refused(self, size: Decimal) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_position(size=size)

        assert_refused(excinfo, CHECK_VIOLATION, "positions_size_positive")

    def test_shrinking_size_to_zero_is_refused(self) -> None:
        row_id = insert_position()

        with pytest.raises(IntegrityError) as excinfo:
            update("positions", row_id, size=Decimal("0"))

        assert_refused(excinfo, CHECK_VIOLATION, "positions_size_positive")
        assert select("positions", row_id, "size") == (Decimal("0.1"),)

    @pytest.mark.parametrize("side", ["buy", "LONG", "", "both"])
    def test_side_outside_long_short_is_refused(self, side: str) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_position(side=side)

        assert_refused(excinfo, CHECK_VIOLATION, "positions_side_valid")

    @pytest.mark.parametrize("status", ["pending", "OPEN", "cancelled", ""])
    def test_status_outside_open_closed_liquidated_is_refused(self, status: str) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_position(status=status)

        assert_refused(excinfo, CHECK_VIOLATION, "positions_status_valid")

    @pytest.mark.parametrize("leverage", [0, -1, 126, 1000])
    def test_leverage_outside_1_to_125_is_refused(self, leverage: int) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_position(leverage=leverage)

        assert_refused(excinfo, CHECK_VIOLATION, "positions_leverage_range")

    @pytest.mark.parametrize("leverage", [1, 125])
    def test_leverage_bounds_are_accepted(self, leverage: int) -> None:
        row_id = insert_position(leverage=leverage)

        assert select("positions", row_id, "leverage") == (leverage,)

    @pytest.mark.parametrize("grid_level", [-1, 101])
    def test_grid_level_outside_0_to_100_is_refused(self, grid_level: int) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_position(grid_level=grid_level)

        assert_refused(excinfo, CHECK_VIOLATION, "positions_grid_level_range")


class TestOneOpenPositionPerKey:
    def test_second_open_position_without_grid_level_is_refused(self) -> None:
        # given an open position with NULL grid_level
        insert_position()

        # when a second open one with the same key and NULL grid_level is inserted
        with pytest.raises(IntegrityError) as excinfo:
            insert_position(size=Decimal("0.2"))

        # then NULL counted as one value and the database refused it
        assert_refused(excinfo, UNIQUE_VIOLATION, "positions_one_open_per_key")
        assert count_open(user_id="user-1", symbol="BTC-USDT-SWAP", side="long") == 1

    def test_second_open_position_on_the_same_grid_level_is_refused(self) -> None:
        insert_position(grid_level=7)

        with pytest.raises(IntegrityError) as excinfo:
            insert_position(grid_level=7)

        assert_refused(excinfo, UNIQUE_VIOLATION, "positions_one_open_per_key")

    def test_different_grid_levels_and_no_level_coexist(self) -> None:
        for grid_level in (None, 0, 1, 2, 100):
            insert_position(grid_level=grid_level)

        assert count_open(user_id="user-1", symbol="BTC-USDT-SWAP", side="long") == 5

    @pytest.mark.parametrize("status", ["closed", "liquidated"])
    def test_a_finished_position_does_not_block_a_new_open_one(self, status: str) -> None:
        # given a closed (or liquidated) position on the key
        insert_position(status=status, closed_at="2026-01-01T00:00:00Z")

        # when a new open one is inserted on the same key
        insert_position()

        # then both exist
        assert count_open(user_id="user-1", symbol="BTC-USDT-SWAP", side="long") == 1

    def test_reopening_a_closed_position_while_another_is_open_is_refused(self) -> None:
        closed_id = insert_position(status="closed")
        insert_position()

        with pytest.raises(IntegrityError) as excinfo:
            update("positions", closed_id, status="open")

        assert_refused(excinfo, UNIQUE_VIOLATION, "positions_one_open_per_key")

    @pytest.mark.parametrize(
        "other",
        [
            {"user_id": "user-2"},
            {"exchange": "binance"},
            {"symbol": "ETH-USDT-SWAP"},
            {"side": "short"},
        ],
    )
    def test_each_part_of_the_key_separates_open_positions(self, other: dict[str, str]) -> None:
        insert_position()

        insert_position(**other)

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM positions WHERE status = 'open'")
            assert cursor.fetchone() == (2,)


class TestOrderRows:
    def test_valid_row_gets_database_defaults(self) -> None:
        row_id = insert_order()

        status, filled_qty, recent = select(
            "orders",
            row_id,
            "status",
            "filled_qty",
            "created_at > clock_timestamp() - interval '1 minute' AND updated_at = created_at",
        )
        assert (status, filled_qty, recent) == ("pending", Decimal("0"), True)

    @pytest.mark.parametrize("side", ["long", "BUY", ""])
    def test_side_outside_buy_sell_is_refused(self, side: str) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_order(side=side)

        assert_refused(excinfo, CHECK_VIOLATION, "orders_side_valid")

    @pytest.mark.parametrize("status", ["canceled", "closed", "new", "FILLED", ""])
    def test_status_outside_the_seven_order_statuses_is_refused(self, status: str) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_order(status=status)

        assert_refused(excinfo, CHECK_VIOLATION, "orders_status_valid")

    @pytest.mark.parametrize(
        "status", ["pending", "open", "partially_filled", "filled", "cancelled", "rejected", "expired"]
    )
    def test_each_of_the_seven_order_statuses_is_accepted(self, status: str) -> None:
        row_id = insert_order(status=status)

        assert select("orders", row_id, "status") == (status,)

    def test_filled_qty_above_quantity_is_refused_on_insert(self) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_order(quantity=Decimal("0.1"), filled_qty=Decimal("0.10000001"))

        assert_refused(excinfo, CHECK_VIOLATION, "orders_filled_qty_within_quantity")

    def test_filling_past_quantity_is_refused_on_update(self) -> None:
        row_id = insert_order(quantity=Decimal("0.1"), filled_qty=Decimal("0.05"))

        with pytest.raises(IntegrityError) as excinfo:
            update("orders", row_id, filled_qty=Decimal("0.2"))

        assert_refused(excinfo, CHECK_VIOLATION, "orders_filled_qty_within_quantity")
        assert select("orders", row_id, "filled_qty") == (Decimal("0.05"),)

    def test_negative_filled_qty_is_refused(self) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_order(filled_qty=Decimal("-0.00000001"))

        assert_refused(excinfo, CHECK_VIOLATION, "orders_filled_qty_within_quantity")

    def test_filled_qty_equal_to_quantity_is_accepted(self) -> None:
        row_id = insert_order(quantity=Decimal("0.1"), filled_qty=Decimal("0.1"), status="filled")

        assert select("orders", row_id, "filled_qty") == (Decimal("0.1"),)

    def test_zero_quantity_is_refused(self) -> None:
        with pytest.raises(IntegrityError) as excinfo:
            insert_order(quantity=Decimal("0"))

        assert_refused(excinfo, CHECK_VIOLATION, "orders_quantity_positive")

    def test_negative_quantity_is_refused(self) -> None:
        # -1 breaks both quantity > 0 and filled_qty (0) <= quantity; PostgreSQL may report either.
        with pytest.raises(IntegrityError) as excinfo:
            insert_order(quantity=Decimal("-1"))

        cause = excinfo.value.__cause__
        assert cause is not None
        assert cause.sqlstate == CHECK_VIOLATION  # type: ignore[attr-defined]

    def test_duplicate_exchange_order_id_is_refused(self) -> None:
        insert_order(exchange_order_id="okx-123")

        with pytest.raises(IntegrityError) as excinfo:
            insert_order(exchange_order_id="okx-123")

        assert_refused(excinfo, UNIQUE_VIOLATION, "orders_exchange_order_id_key")

    def test_orders_not_yet_acknowledged_may_all_lack_an_exchange_order_id(self) -> None:
        insert_order(exchange_order_id=None)
        insert_order(exchange_order_id=None)

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM orders WHERE exchange_order_id IS NULL")
            assert cursor.fetchone() == (2,)

    def test_duplicate_client_order_id_is_refused(self) -> None:
        insert_order(client_order_id="a" * 32)

        with pytest.raises(IntegrityError) as excinfo:
            insert_order(client_order_id="a" * 32)

        assert_refused(excinfo, UNIQUE_VIOLATION, "orders_client_order_id_key")


class TestSeedRowsAreAccepted:
    """A row written with the seed SQL's columns alone (a migration script following the seed
    documents) is accepted: every extension column has a database default or may be NULL."""

    def test_a_minimal_seed_position_gets_every_extension_default(self) -> None:
        row_id = insert(
            "positions",
            {"user_id": "seed-1", "exchange": "okx", "symbol": "BTC-USDT-SWAP", "side": "long",
             "size": Decimal("0.1"), "entry_price": Decimal("45000")},
        )  # fmt: skip

        from positions.models import Position
        from tradingcore import dto

        position = Position.objects.get(pk=row_id)
        assert (position.status, position.leverage, position.margin_mode, position.version) == ("open", 1, "cross", 1)
        assert (position.metadata, position.review_status, position.exit_qty) == ({}, "unreviewed", 0)
        assert position.entry_precise == Decimal("45000")  # derived from entry_price
        assert dto.Position.from_row(position).size == Decimal("0.1")

    def test_a_full_seed_position_row_with_every_seed_column(self) -> None:
        row_id = insert(
            "positions",
            {"user_id": "seed-1", "exchange": "okx", "symbol": "ETH-USDT-SWAP", "side": "short",
             "size": Decimal("2"), "entry_price": Decimal("3000"), "exit_price": None, "leverage": 5,
             "realized_pnl": Decimal("0"), "unrealized_pnl": Decimal("0"), "fees": Decimal("0"), "status": "open",
             "metadata": '{"is_DCA": false}', "closed_at": None},
        )  # fmt: skip

        assert select("positions", row_id, "leverage", "metadata->>'is_DCA'") == (5, "false")

    def test_a_minimal_seed_order_gets_a_client_order_id_okx_accepts(self) -> None:
        row_id = insert(
            "orders",
            {"user_id": "seed-1", "exchange": "okx", "symbol": "BTC-USDT-SWAP", "side": "buy",
             "order_type": "market", "quantity": Decimal("0.1")},
            client_order_id=None,
        )  # fmt: skip

        client_order_id, status, role, version = select(
            "orders", row_id, "client_order_id", "status", "role", "version"
        )
        assert re.fullmatch(r"[0-9a-f]{32}", client_order_id)
        assert (status, role, version) == ("pending", "plain", 1)
