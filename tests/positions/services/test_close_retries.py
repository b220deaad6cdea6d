"""A close retried with its client order id (a bot whose first answer was lost: a killed worker, a
timeout) gets the first close's result and never sells twice (SPEC 4, "Exchange errors"; SPEC 7,
"Idempotency"). Found by the load and fault suite: a retried full close answered 409
``insufficient_position`` although its first attempt had closed the position, and a retried
partial close answered 409 ``conflict`` (the client order id's unique index)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from orders import placement
from orders.models import Order
from positions import lifecycle
from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tradingcore.exceptions import Conflict
from tradingcore.exchange import get_gateway
from tradingcore.exchange.paper.models_access import paper_orders_with_client_id
from tradingcore.models import PaperOrder

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_a_retried_full_close_returns_the_closed_position_and_sells_nothing_more() -> None:
    # given a position closed by a request whose answer never reached the bot
    manager = PositionManager()
    mark("45000")
    position = manager.open_position(**btc(side="long", size="0.1"))
    first = manager.close_position(position.id, client_order_id="bot7close1")
    sent = PaperOrder.objects.count()

    # when the bot retries the close with the same client order id
    retry = manager.close_position(position.id, client_order_id="bot7close1")

    # then it gets the closed position, and nothing more reached the exchange
    assert (retry.status, retry.size, retry.pnl_info) == ("closed", first.size, first.pnl_info)
    assert PaperOrder.objects.count() == sent


def test_a_retried_partial_close_returns_the_position_closed_once() -> None:
    manager = PositionManager()
    mark("45000")
    position = manager.open_position(**btc(side="short", size="0.3"))
    manager.close_position(position.id, size="0.1", client_order_id="bot7close2")

    retry = manager.close_position(position.id, size="0.1", client_order_id="bot7close2")

    assert (retry.status, retry.size) == ("open", D("0.2"))
    assert paper_orders_with_client_id("okx", "bot7close2") == 1
    assert Position.objects.get(pk=position.id).size == D("0.2")


def closing_order_saved(position_id: object, client_order_id: str) -> Order:
    """A closing order saved pending by a request that then died (before or after sending it)."""
    row = Position.objects.get(pk=position_id)
    spec = lifecycle._close_spec(row, row.size, "done", client_order_id)
    return placement.save_pending_order(spec, market=get_gateway(USER, "okx").market(BTC), actor="system:test")


def test_a_close_retried_after_its_first_order_reached_the_exchange_finds_it_and_sells_nothing_more() -> None:
    manager = PositionManager()
    mark("45000")
    position = manager.open_position(**btc(side="long", size="0.1"))
    order = closing_order_saved(position.id, "bot7close3")
    get_gateway(USER, "okx").place_order(placement.request_for(order))

    retry = manager.close_position(position.id, client_order_id="bot7close3")

    assert (retry.status, retry.size) == ("closed", D("0.1"))
    assert paper_orders_with_client_id("okx", "bot7close3") == 1


def test_a_close_retried_after_its_first_attempt_died_before_sending_sends_it_once() -> None:
    manager = PositionManager()
    mark("45000")
    position = manager.open_position(**btc(side="long", size="0.1"))
    closing_order_saved(position.id, "bot7close5")

    retry = manager.close_position(position.id, client_order_id="bot7close5")

    assert (retry.status, retry.size) == ("closed", D("0.1"))
    assert paper_orders_with_client_id("okx", "bot7close5") == 1
    call_command("watch_orders", "--once")
    assert paper_orders_with_client_id("okx", "bot7close5") == 1


def test_a_client_order_id_of_another_order_is_a_conflict() -> None:
    manager = PositionManager()
    mark("45000")
    first = manager.open_position(**btc(side="long", size="0.1"))
    second = manager.open_position(**btc(side="short", size="0.1"))
    manager.close_position(first.id, size="0.05", client_order_id="bot7close4")

    with pytest.raises(Conflict):
        manager.close_position(second.id, client_order_id="bot7close4")
    assert Position.objects.get(pk=second.id).status == "open"
