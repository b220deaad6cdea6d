"""Orders through the OrderManager on the paper exchange: placement, cancel, idempotency, monitor."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from orders.models import Order, OrderEvent
from orders.services import OrderManager
from tests.managers import OTHER_USER, USER, btc, mark
from tradingcore.enums import OrderStatus
from tradingcore.exceptions import Conflict, InvalidInput, InvalidOrder, InvalidTransition, ObjectNotFound
from tradingcore.exchange.paper.models_access import paper_orders_with_client_id

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def manager() -> OrderManager:
    return OrderManager(actor="api:test-bot")


def test_market_order_fills_and_records_fill_events_and_actor(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")

    order = manager.create_order(**btc(side="buy", order_type="market", quantity=D("0.1")))

    assert order.status == OrderStatus.FILLED
    assert order.filled_qty == D("0.1")
    assert order.avg_fill_price == D("45000")
    assert order.is_filled
    assert not order.is_active
    events = list(OrderEvent.objects.filter(order_id=order.id).values_list("type", "actor"))
    assert events[0] == ("created", "api:test-bot")
    assert ("filled", "api:test-bot") in events


def test_limit_order_rests_until_the_mark_crosses(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")
    order = manager.create_order(**btc(side="buy", order_type="limit", quantity="0.1", price="44000"))
    assert order.status == OrderStatus.OPEN
    assert [o.id for o in manager.get_open_orders(user_id=USER, exchange="okx")] == [order.id]

    mark("43990")
    refreshed = manager.refresh_order(order.id)

    assert refreshed.status == OrderStatus.FILLED
    assert refreshed.avg_fill_price == D("44000")
    assert manager.get_open_orders(user_id=USER, exchange="okx") == []


def test_limit_order_filled_in_three_parts_is_seen_as_three_changes(manager) -> None:  # type: ignore[no-untyped-def]
    mark("105")
    order = manager.create_order(**btc(side="buy", order_type="limit", quantity="0.03", price="100"))
    changes = manager.monitor_order_fills(order.id, user_id=USER, poll_interval=0.01, timeout=10)

    seen = []
    for _ in range(3):
        mark("99", volume="0.01")
        change = next(changes)
        seen.append((change.status, change.filled_qty))

    assert seen == [
        (OrderStatus.PARTIALLY_FILLED, D("0.01")),
        (OrderStatus.PARTIALLY_FILLED, D("0.02")),
        (OrderStatus.FILLED, D("0.03")),
    ]
    assert list(changes) == []


def test_cancelling_a_filled_order_is_a_clear_conflict(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")
    order = manager.create_order(**btc(side="buy", order_type="market", quantity="0.1"))

    with pytest.raises(InvalidTransition) as error:
        manager.cancel_order(order.id, user_id=USER)

    assert "filled" in str(error.value)


def test_cancel_resting_order(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")
    order = manager.create_order(**btc(side="sell", order_type="limit", quantity="0.1", price="46000"))

    cancelled = manager.cancel_order(user_id=USER, exchange="okx", symbol="BTC-USDT-SWAP", order_id=order.id)

    assert cancelled.status == OrderStatus.CANCELLED
    assert OrderEvent.objects.filter(order_id=order.id, type="cancelled").exists()


def test_another_users_order_is_not_found(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")
    order = manager.create_order(**btc(side="sell", order_type="limit", quantity="0.1", price="46000"))

    with pytest.raises(ObjectNotFound):
        manager.cancel_order(order.id, user_id=OTHER_USER)
    with pytest.raises(ObjectNotFound):
        manager.get_order(order.id, user_id=OTHER_USER)
    assert Order.objects.get(pk=order.id).status == OrderStatus.OPEN


def test_retry_with_same_client_order_id_never_places_a_second_order(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")
    arguments = btc(side="buy", order_type="market", quantity="0.1", client_order_id="bot1retry0001")

    first = manager.create_order(**arguments)
    second = manager.create_order(**arguments)

    assert first.id == second.id
    assert Order.objects.filter(client_order_id="bot1retry0001").count() == 1
    assert paper_orders_with_client_id("okx", "bot1retry0001") == 1


def test_quantity_below_instrument_minimum_is_refused_before_anything_is_saved(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")

    with pytest.raises(InvalidOrder):
        manager.create_order(**btc(side="buy", order_type="market", quantity="0.001"))

    assert not Order.objects.exists()


def test_limit_without_price_and_trigger_without_trigger_price_are_invalid(manager) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="price"):
        manager.create_order(**btc(side="buy", order_type="limit", quantity="0.1"))
    with pytest.raises(InvalidInput, match="trigger_price"):
        manager.create_order(**btc(side="sell", order_type="trigger", quantity="0.1", reduce_only=True))


def test_trigger_order_from_the_seed_example(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")
    manager.create_order(**btc(side="buy", order_type="market", quantity="0.1"))

    order = manager.create_order(
        **btc(side="sell", order_type="trigger", quantity=D("0.1"), trigger_price=D("46000"), reduce_only=True)
    )
    assert order.status == OrderStatus.OPEN
    mark("46001")
    assert manager.refresh_order(order.id).status == OrderStatus.FILLED


def test_async_twins_work_from_coroutines(manager) -> None:  # type: ignore[no-untyped-def]
    mark("45000")

    async def bot():  # type: ignore[no-untyped-def]
        order = await manager.acreate_order(**btc(side="buy", order_type="market", quantity="0.1"))
        return await manager.aget_order(order.id, user_id=USER)

    fetched = asyncio.run(bot())

    assert fetched.status == OrderStatus.FILLED


def test_cancelling_an_order_still_being_placed_is_a_conflict_not_a_guess(manager) -> None:  # type: ignore[no-untyped-def]
    from orders import placement, requests
    from tradingcore.exchange.instruments import get_market

    spec = requests.order_spec(**btc(side="buy", order_type="market", quantity="0.1"))
    pending = placement.save_pending_order(spec, market=get_market("okx", "BTC-USDT-SWAP"), actor="system:test")

    with pytest.raises(Conflict):
        manager.cancel_order(pending.pk, user_id=USER)

    assert Order.objects.get(pk=pending.pk).status == OrderStatus.PENDING
