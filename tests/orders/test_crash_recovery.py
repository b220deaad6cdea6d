"""A process that dies after the exchange accepted an order and before the database update."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from orders import placement, requests
from orders.models import Order
from positions.models import Position
from tests.managers import BTC, USER, mark
from tradingcore.enums import OrderStatus
from tradingcore.exchange import get_gateway
from tradingcore.exchange.paper.models_access import paper_orders_with_client_id

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def crash_after_exchange_acceptance() -> Order:
    """Save the order pending, let the exchange accept it, then 'die' before applying the answer."""
    spec = requests.order_spec(
        user_id=USER, exchange="okx", symbol=BTC, side="buy", order_type="market", quantity="0.2"
    )
    gateway = get_gateway(USER, "okx")
    order = placement.save_pending_order(spec, market=gateway.market(BTC), actor="system:test")
    gateway.place_order(placement.request_for(order))
    return order


@pytest.mark.parametrize("command", [["watch_orders", "--once"], ["reconcile"]])
def test_order_accepted_before_a_crash_is_recovered_by_client_order_id(command: list[str]) -> None:
    mark("50000")
    order = crash_after_exchange_acceptance()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING

    call_command(*command)

    recovered = Order.objects.get(pk=order.pk)
    assert recovered.status == OrderStatus.FILLED
    assert recovered.exchange_order_id
    assert recovered.events.filter(type="recovered").exists()
    position = Position.objects.get(user_id=USER, status="open")
    assert position.size == D("0.2")
    assert paper_orders_with_client_id("okx", order.client_order_id) == 1  # recovered, never placed again
    remote = get_gateway(USER, "okx").fetch_order(BTC, client_order_id=order.client_order_id)
    assert remote.exchange_order_id == recovered.exchange_order_id
