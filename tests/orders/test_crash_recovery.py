"""A process that dies after the exchange accepted an order and before the database update, or
before it sent the order at all; and the retries of such orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders import placement, requests
from orders.models import Order
from orders.services import OrderManager
from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, mark
from tradingcore.enums import OrderStatus
from tradingcore.exceptions import InvalidOrder, OrderOutcomeUnknown, OrderRejected
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


def crash_before_sending(**overrides: str) -> Order:
    """Save the order pending, then 'die' before the exchange is called (a killed API worker)."""
    values = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "market",
              "quantity": "0.2", "client_order_id": "bot7retry1", **overrides}  # fmt: skip
    spec = requests.order_spec(**values)
    return placement.save_pending_order(spec, market=get_gateway(USER, "okx").market(BTC), actor="system:test")


def test_a_retry_of_an_order_that_died_before_reaching_the_exchange_sends_it_once() -> None:
    # given an order saved pending by a request that died before sending it (found by the load suite:
    # the retry was answered 201 "pending" and the order was later rejected as never placed)
    mark("50000")
    order = crash_before_sending()

    # when the bot retries with the same client order id
    retried = OrderManager().create_order(user_id=USER, exchange="okx", symbol=BTC, side="buy", order_type="market",
                                          quantity="0.2", client_order_id="bot7retry1")  # fmt: skip

    # then the order is sent now, once, and filled
    assert (retried.id, retried.status) == (order.pk, OrderStatus.FILLED)
    assert paper_orders_with_client_id("okx", "bot7retry1") == 1
    assert Position.objects.get(user_id=USER, status="open").size == D("0.2")


def test_a_retry_of_an_order_the_exchange_accepted_before_a_crash_finds_it_and_sends_nothing() -> None:
    mark("50000")
    order = crash_after_exchange_acceptance()

    retried = OrderManager().create_order(user_id=USER, exchange="okx", symbol=BTC, side="buy", order_type="market",
                                          quantity="0.2", client_order_id=order.client_order_id)  # fmt: skip

    assert (retried.id, retried.status) == (order.pk, OrderStatus.FILLED)
    assert Order.objects.get(pk=order.pk).events.filter(type="recovered").exists()
    assert paper_orders_with_client_id("okx", order.client_order_id) == 1


def test_a_retried_open_whose_entry_died_before_reaching_the_exchange_opens_the_position_once() -> None:
    mark("50000")
    crash_before_sending(client_order_id="bot7open1")

    position = PositionManager().open_position(user_id=USER, exchange="okx", symbol=BTC, side="long", size="0.2",
                                               client_order_id="bot7open1")  # fmt: skip

    assert (position.status, position.size) == ("open", D("0.2"))
    assert paper_orders_with_client_id("okx", "bot7open1") == 1
    assert Position.objects.filter(user_id=USER).count() == 1


def retry(client_order_id: str) -> Order:
    return OrderManager().create_order(user_id=USER, exchange="okx", symbol=BTC, side="buy", order_type="market",
                                       quantity="0.2", client_order_id=client_order_id)  # fmt: skip


def test_a_retry_too_late_to_send_the_order_is_told_to_wait_then_gets_it_rejected_never_placed() -> None:
    # given an order saved pending by a request that died before sending it, 45 s ago: a fill watcher
    # may be settling it as never placed (after a minute), so sending it now could race that
    mark("50000")
    order = crash_before_sending(client_order_id="bot7late1")
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=45))

    # when the bot retries, it is told to retry later (503) and nothing is sent
    with pytest.raises(OrderOutcomeUnknown):
        retry("bot7late1")
    assert paper_orders_with_client_id("okx", "bot7late1") == 0

    # and once the grace has passed, its retry is refused: the order was rejected, never placed
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    with pytest.raises(OrderRejected, match="never acknowledged"):
        retry("bot7late1")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.REJECTED
    assert paper_orders_with_client_id("okx", "bot7late1") == 0


def test_a_retry_of_an_order_the_exchange_refused_before_the_answer_was_lost_is_refused_the_same_way() -> None:
    # Found by the load and fault suite: a reduce-only buy refused by the exchange (it would have
    # increased the short), its worker killed before answering; the retry answered 201 with the
    # rejected order, as if it had been placed.
    mark("50000")
    PositionManager().open_position(user_id=USER, exchange="okx", symbol=BTC, side="short", size="0.01")
    refused = {
        "user_id": USER, "exchange": "okx", "symbol": BTC, "side": "buy", "order_type": "market",
        "quantity": "0.02", "reduce_only": True, "position_side": "short", "client_order_id": "bot7ro1",
    }  # fmt: skip
    with pytest.raises(InvalidOrder, match="would increase the position") as first:
        OrderManager().create_order(**refused)

    with pytest.raises(InvalidOrder) as retried:
        OrderManager().create_order(**refused)

    assert retried.value.message == first.value.message
    assert Order.objects.get(client_order_id="bot7ro1").status == OrderStatus.REJECTED
    assert paper_orders_with_client_id("okx", "bot7ro1") == 0
