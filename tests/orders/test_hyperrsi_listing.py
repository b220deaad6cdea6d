"""Which orders HYPERRSI's lists show: ``plan.hyperrsi_listed`` and its SQL form agree on every kind of order."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from orders.models import Order
from orders.projection import HYPERRSI_LISTED, order_dto
from tests.tradingcore.redis.factories import D, make_order
from tradingcore.enums import OrderRole, OrderType
from tradingcore.redis import plan

pytestmark = pytest.mark.django_db


def variants() -> list[dict[str, Any]]:
    kinds = itertools.product(OrderType, OrderRole, [None, 3], [{}, {"legacy": {"key": "user:1:open_orders#9"}}])
    return [
        {"order_type": order_type, "role": role, "grid_level": level, "metadata": metadata}
        for order_type, role, level, metadata in kinds
    ]


def test_the_sql_form_selects_exactly_the_orders_plan_lists() -> None:
    rows = []
    for values in variants():
        prices = {"price": D("44000")} if values["order_type"] != OrderType.MARKET else {"price": None}
        if OrderType(values["order_type"]).is_triggered:
            prices["trigger_price"] = D("45000")
        rows.append(make_order(**values, **prices))

    in_sql = set(Order.objects.filter(HYPERRSI_LISTED).values_list("pk", flat=True))

    assert in_sql == {row.pk for row in rows if plan.hyperrsi_listed(order_dto(row))}
    assert 0 < len(in_sql) < len(rows)


@pytest.mark.parametrize(
    ("order_type", "role", "listed"),
    [
        (OrderType.MARKET, OrderRole.ENTRY, True),
        (OrderType.LIMIT, OrderRole.TAKE_PROFIT, True),  # HYPERRSI's own kind of take-profit
        (OrderType.STOP_LOSS, OrderRole.STOP_LOSS, True),
        (OrderType.TRIGGER, OrderRole.STOP_LOSS, True),
        (OrderType.TAKE_PROFIT, OrderRole.TAKE_PROFIT, False),  # an algo order the monitor would lose
        (OrderType.TRIGGER, OrderRole.TAKE_PROFIT, False),
        (OrderType.STOP_MARKET, OrderRole.PLAIN, False),
    ],
)
def test_what_the_legacy_monitor_can_follow_is_listed(order_type: OrderType, role: OrderRole, listed: bool) -> None:
    order = make_order(order_type=order_type, role=role, trigger_price=D("45000"))

    assert plan.hyperrsi_listed(order_dto(order)) is listed
