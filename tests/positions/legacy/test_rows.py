"""RowWriter: the importer's COPY of new rows, checked against what the ORM reads back."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from positions.legacy.rows import RowWriter
from positions.models import Position
from tradingcore.models import OutboxEntry

pytestmark = pytest.mark.django_db
D = Decimal


def outbox_row(**values: object) -> dict[str, object]:
    return {"kind": "position", "object_id": uuid.uuid4(), "user_id": "1", "event": "imported", "payload": {},
            "attempts": 0, "last_error": "", "created_at": timezone.now()} | values  # fmt: skip


def test_rows_land_in_their_columns_with_json_decimals_as_strings() -> None:
    rows = RowWriter()
    first = outbox_row(payload={"price": D("45123.4"), "levels": [D("1.5")], "note": "ü"})
    rows.add(OutboxEntry, first)

    rows.write()

    stored = OutboxEntry.objects.get(object_id=first["object_id"])
    assert stored.payload == {"price": "45123.4", "levels": ["1.5"], "note": "ü"}
    assert (stored.kind, stored.user_id, stored.event, stored.created_at) == (
        "position", "1", "imported", first["created_at"]
    )  # fmt: skip


def test_rows_naming_their_columns_in_another_order_or_not_all_of_them() -> None:
    rows = RowWriter()
    ordered = outbox_row(user_id="1")
    reordered = dict(reversed(list(outbox_row(user_id="2", payload={"a": 1}).items())))
    rows.add(OutboxEntry, ordered)
    rows.add(OutboxEntry, reordered)
    rows.add(Position, {"id": uuid.uuid4(), "user_id": "1", "exchange": "okx", "symbol": "BTC-USDT-SWAP",
                        "side": "long", "size": D("0.1"), "entry_price": D("45000")})  # fmt: skip

    rows.write()

    assert dict(OutboxEntry.objects.values_list("user_id", "payload")) == {"1": {}, "2": {"a": 1}}
    position = Position.objects.get(user_id="1")  # the columns no row names take their database defaults
    assert (position.status, position.leverage, position.version, position.metadata) == ("open", 1, 1, {})
    assert position.created_at is not None


def test_a_constraint_the_rows_break_is_an_integrity_error() -> None:
    rows = RowWriter()
    rows.add(Position, {"id": uuid.uuid4(), "user_id": "1", "exchange": "okx", "symbol": "BTC-USDT-SWAP",
                        "side": "long", "size": D("-1"), "entry_price": D("45000")})  # fmt: skip

    with pytest.raises(IntegrityError), transaction.atomic():
        rows.write()
