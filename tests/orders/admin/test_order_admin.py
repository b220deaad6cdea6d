"""Orders in the admin: the list and its filters, a read-only page with fills and events, and the
cancel and ask-the-exchange actions behind their permissions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from orders.models import Order
from orders.services import OrderManager
from positions.services import PositionManager
from tests.admin_clients import act_url, confirm, messages_of, show_plan, staff_client, text_of, viewer
from tests.managers import BTC, btc, mark
from tests.tradingcore.exchange.okx_loopback import CANCEL_ORDER, OkxLoopback, loopback_account

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LIST = "/admin/orders/order/"
CANCEL = act_url("orders", "order", "cancel")
REFRESH = act_url("orders", "order", "refresh")


@pytest.fixture
def orders() -> dict[str, Order]:
    """A resting limit, a filled market entry with its stop-loss, and an order stuck pending."""
    mark("45000")
    resting = OrderManager().create_order(**btc(user_id="alice", side="buy", order_type="limit",
                                                quantity=D("0.1"), price=D("44000")))  # fmt: skip
    opened = PositionManager().open_position(**btc(user_id="bob", side="short", size=D("0.2"),
                                                   stop_loss_price=D("46000")))  # fmt: skip
    stuck = OrderManager().create_order(**btc(user_id="carol", side="sell", order_type="limit",
                                              quantity=D("0.05"), price=D("47000")))  # fmt: skip
    Order.objects.filter(pk=stuck.id).update(status="pending", created_at=timezone.now() - timedelta(minutes=3))
    return {
        "resting": Order.objects.get(pk=resting.id),
        "entry": Order.objects.get(position_id=opened.id, role="entry"),
        "stop": Order.objects.get(position_id=opened.id, role="stop_loss"),
        "stuck": Order.objects.get(pk=stuck.id),
    }


def ids(response: Any) -> set[str]:
    assert response.status_code == 200
    return {str(order.pk) for order in response.context["cl"].result_list}


def canceller() -> Client:
    return staff_client("canceller", "orders.view_order", "orders.cancel_order", "positions.view_position")


def test_the_list_is_compact_and_links_each_order_to_its_position(orders: dict[str, Order]) -> None:
    content = viewer().get(LIST).content.decode()

    entry = orders["entry"]
    assert f'title="{entry.pk}">{str(entry.pk)[:8]}</span>' in content
    assert f'href="/admin/positions/position/{entry.position_id}/change/"' in content
    assert "⚑ 46000" in content  # the stop's trigger


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"status__exact": "open"}, {"resting", "stop"}),
        ({"status__exact": "filled"}, {"entry"}),
        ({"attention": "stuck"}, {"stuck"}),
        ({"attention": "unknown"}, set()),
        ({"side__exact": "sell"}, {"entry", "stuck"}),  # bob is short: his stop buys
        ({"order_type__exact": "stop_loss"}, {"stop"}),
        ({"role__exact": "entry"}, {"entry"}),
        ({"exchange__exact": "okx"}, {"resting", "entry", "stop", "stuck"}),
    ],
)
def test_each_filter_narrows_the_list(orders: dict[str, Order], query: dict[str, str], names: set[str]) -> None:
    assert ids(viewer().get(LIST, query)) == {str(orders[name].pk) for name in names}


def test_search_finds_by_ids_user_and_position(orders: dict[str, Order]) -> None:
    entry = orders["entry"]
    client = viewer()

    assert ids(client.get(LIST, {"q": str(entry.pk)[:8]})) == {str(entry.pk)}
    assert ids(client.get(LIST, {"q": entry.exchange_order_id})) == {str(entry.pk)}
    assert ids(client.get(LIST, {"q": entry.client_order_id})) == {str(entry.pk)}
    assert ids(client.get(LIST, {"q": "alice"})) == {str(orders["resting"].pk)}
    assert ids(client.get(LIST, {"q": str(entry.position_id)[:8]})) == {str(entry.pk), str(orders["stop"].pk)}


def test_the_page_shows_fills_and_events_read_only(orders: dict[str, Order]) -> None:
    entry = orders["entry"]
    client = staff_client("root", superuser=True)

    page = client.get(f"{LIST}{entry.pk}/change/")

    assert page.status_code == 200
    text = text_of(page)
    assert "paper-fill-" in text
    assert "Filled" in text
    assert "system:position_manager" in text
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"{LIST}{entry.pk}/change/", {"status": "cancelled"}).status_code == 403
    assert client.get(f"{LIST}add/").status_code == 403
    assert Order.objects.get(pk=entry.pk).status == "filled"


def test_cancelling_an_order_goes_through_the_manager_and_names_the_admin(orders: dict[str, Order]) -> None:
    resting = orders["resting"]
    client = canceller()

    page = client.get(f"{LIST}{resting.pk}/change/").content.decode()
    plan = show_plan(client, CANCEL, [resting.pk])
    done = confirm(client, CANCEL, [resting.pk])

    assert f"{CANCEL}?ids={resting.pk}" in page
    assert f"cancel the plain order {str(resting.pk)[:8]}: buy limit 0.1 of 0.1 @ 44000 (open) on okx" in text_of(plan)
    resting.refresh_from_db()
    assert resting.status == "cancelled"
    assert resting.events.filter(type="cancel_requested", actor="admin:canceller").exists()
    assert any("now cancelled, filled 0 of 0.1" in message for message in messages_of(done))


def test_a_positions_stop_is_not_cancelled_from_the_order_list(orders: dict[str, Order]) -> None:
    stop = orders["stop"]
    client = canceller()

    page = client.get(f"{LIST}{stop.pk}/change/").content.decode()
    plan = show_plan(client, CANCEL, [stop.pk])

    assert CANCEL not in page
    assert "it protects open position" in text_of(plan)
    assert "change the position's stop-loss / take-profit instead" in text_of(plan)


def test_cancelling_many_reports_each_one(orders: dict[str, Order]) -> None:
    client = canceller()
    chosen = [orders["resting"].pk, orders["entry"].pk]

    led = client.post(LIST, {"action": "cancel", "_selected_action": chosen})
    done = confirm(client, CANCEL, chosen)

    assert led.url.startswith(CANCEL)
    messages = messages_of(done)
    assert any(str(orders["resting"].pk)[:8] in m and "now cancelled" in m for m in messages)
    assert any(str(orders["entry"].pk)[:8] in m and "skipped: the order is filled" in m for m in messages)
    assert "Cancel on 2 orders: 1 done, 0 failed, 1 skipped." in messages


def test_cancelling_needs_the_cancel_permission(orders: dict[str, Order]) -> None:
    resting = orders["resting"]
    client = viewer()

    assert CANCEL not in client.get(f"{LIST}{resting.pk}/change/").content.decode()
    assert client.get(CANCEL, {"ids": resting.pk}).status_code == 403
    assert client.post(CANCEL, {"ids": resting.pk, "_confirm": "1"}).status_code == 403
    assert client.post(LIST, {"action": "cancel", "_selected_action": [resting.pk]}).status_code == 403
    assert Order.objects.get(pk=resting.pk).status == "open"


def test_asking_the_exchange_applies_what_it_reports(orders: dict[str, Order]) -> None:
    resting = orders["resting"]
    mark("43900")  # the simulated exchange fills the resting buy

    done = confirm(viewer(), REFRESH, [resting.pk])

    resting.refresh_from_db()
    assert (resting.status, resting.filled_qty) == ("filled", D("0.1"))
    assert resting.events.filter(type="filled", actor="admin:viewer").exists()
    assert any("now filled, filled 0.1 of 0.1" in message for message in messages_of(done))


@pytest.fixture
def okx(settings: Any) -> Iterator[OkxLoopback]:
    yield from loopback_account(settings, "okx-order-user")


def test_a_cancel_the_exchange_fails_is_a_message(okx: OkxLoopback) -> None:
    order = OrderManager().create_order(user_id="okx-order-user", exchange="okx", symbol=BTC, side="buy",
                                        order_type="limit", quantity=D("0.1"), price=D("40000"))  # fmt: skip
    okx.fail("POST", CANCEL_ORDER, http_status=503)

    done = confirm(canceller(), CANCEL, [order.id])

    assert done.status_code == 200
    assert any("cancel failed:" in m and "(exchange_unavailable)" in m for m in messages_of(done))
    assert Order.objects.get(pk=order.id).status == "open"
