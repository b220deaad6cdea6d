"""The write path's statement cache sends exactly what Django would, and reads rows back the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction

from orders.models import Order, OrderEvent
from positions.models import Position
from tradingcore import db
from tradingcore.models import OutboxEntry

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("tradingcore", "orders", "positions")
SAMPLES = ["text", 7, Decimal("12.34500000"), datetime(2024, 5, 1, 12, tzinfo=UTC), uuid.uuid4(), None]


def project_fields() -> list[models.Field]:  # type: ignore[type-arg]
    return [
        field
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.concrete_fields
    ]


def plain_fields() -> list[models.Field]:  # type: ignore[type-arg]
    """Fields the cache prepares itself (the others go through Django's own preparation)."""
    return [field for field in project_fields() if db.plain_types(field)]


@pytest.mark.parametrize("field", plain_fields(), ids=lambda field: f"{field.model.__name__}.{field.name}")
def test_a_plain_value_is_sent_as_django_would_send_it(field: models.Field) -> None:  # type: ignore[type-arg]
    row = field.model()
    for value in SAMPLES:
        setattr(row, field.attname, value)
        try:
            django_sends = field.get_db_prep_save(field.pre_save(row, True), connection)
        except (TypeError, ValueError, Exception):  # a value the field refuses: not a case to compare
            continue
        assert db._field_value(field, row, True, connection) == django_sends, (field, value)


def test_fields_with_their_own_preparation_are_never_plain() -> None:
    from tradingcore.models import ExchangeAccount

    assert not db.plain_types(ExchangeAccount._meta.get_field("api_secret"))  # encrypted at rest
    assert not db.plain_types(Order._meta.get_field("metadata"))  # JSON
    assert db.plain_types(Order._meta.get_field("quantity")) == (Decimal,)  # MoneyField: Django's preparation
    assert db.plain_types(Order._meta.get_field("position")) == (uuid.UUID,)  # the target's key


def test_a_cached_select_reads_the_rows_a_queryset_reads() -> None:
    position = Position.objects.create(
        user_id="u", exchange="okx", symbol="BTC-USDT-SWAP", side="long", size=Decimal("0.1"),
        entry_price=Decimal("45000"), metadata={"a": [1, "2"]},
    )  # fmt: skip
    order = Order.objects.create(
        user_id="u", exchange="okx", symbol="BTC-USDT-SWAP", side="buy", order_type="market",
        quantity=Decimal("0.1"), position=position,
    )  # fmt: skip

    for _ in range(2):  # compiled on the first call, reused on the second
        [cached] = db.select(Order, where={"pk": order.pk}, related="position", lock=False)
        expected = Order.objects.select_related("position").get(pk=order.pk)
        assert [getattr(cached, f.attname) for f in Order._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Order._meta.concrete_fields
        ]
        assert Order.position.is_cached(cached)  # type: ignore[attr-defined]
        assert cached.position.metadata == {"a": [1, "2"]}
    assert db.select(Position, where={"user_id": "u", "grid_level": None, "side__in": ["long", "short"]}) == [position]


def test_write_rows_is_all_or_nothing() -> None:
    order = Order.objects.create(
        user_id="u", exchange="okx", symbol="BTC-USDT-SWAP", side="buy", order_type="market", quantity=Decimal("1")
    )
    order.last_error = "changed"
    duplicate = Order(
        user_id="u", exchange="okx", symbol="BTC-USDT-SWAP", side="buy", order_type="market",
        quantity=Decimal("1"), client_order_id=order.client_order_id,
    )  # fmt: skip
    event = OrderEvent(order=order, type="created", actor="test")

    with pytest.raises(IntegrityError), transaction.atomic():
        db.write_rows(
            updated=[order], inserted=[event, duplicate, OutboxEntry(kind="order", object_id=order.pk, user_id="u")]
        )

    assert Order.objects.get(pk=order.pk).last_error == ""
    assert not OrderEvent.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_write_rows_sets_the_keys_the_database_chose() -> None:
    order = Order.objects.create(
        user_id="u", exchange="okx", symbol="BTC-USDT-SWAP", side="buy", order_type="market", quantity=Decimal("1")
    )
    events = [OrderEvent(order=order, type="created", actor="a"), OrderEvent(order=order, type="filled", actor="b")]

    db.write_rows(inserted=events)

    assert [event.pk for event in events] == list(OrderEvent.objects.order_by("id").values_list("id", flat=True))
