"""The admin's actions on positions: each through the managers, behind its permission, after a
confirmation page that shows what will happen; every outcome a message, every change an event
naming the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from orders.models import Order
from orders.services import OrderManager
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.admin_clients import act_url, confirm, messages_of, show_plan, staff_client, text_of, viewer
from tests.managers import btc, mark
from tests.positions.admin.conftest import Book

D = Decimal
CLOSE = act_url("positions", "position", "close")
REFRESH = act_url("positions", "position", "refresh")
CANCEL = act_url("positions", "position", "cancel_orders")
PROTECTION = act_url("positions", "position", "protection")
REVIEW = act_url("positions", "position", "review")
LIST = "/admin/positions/position/"


def operator(*permissions: str, name: str = "op") -> Client:
    return staff_client(name, "positions.view_position", "orders.view_order", *permissions)


def live_orders(position: Position) -> list[tuple[str, Decimal | None, Decimal]]:
    live = Order.objects.filter(position=position, status__in=["pending", "open", "partially_filled"])
    return sorted((o.role, o.trigger_price or o.price, o.quantity - o.filled_qty) for o in live)


# -- close at market ----------------------------------------------------------------------------------


def test_the_close_plan_names_the_order_the_size_and_the_pnl_at_the_mark(book: Book) -> None:
    plan = show_plan(operator("positions.close_position"), CLOSE, [book.alice.pk], size="0.04", reason="trim")

    text = text_of(plan)
    assert "send a reduce-only market sell order for 0.04 BTC-USDT-SWAP (4 contracts of 0.01) on okx" in text
    assert "at the last mark 45500: realizes about +20.00 USDT before fees (entry 45000)" in text
    assert "leaves 0.06 open; its stop-loss order(s) are resized to 0.06" in text
    assert Position.objects.get(pk=book.alice.pk).size == D("0.1")  # a plan changes nothing


def test_closing_part_of_a_position_realizes_pnl_and_names_the_admin(book: Book) -> None:
    done = confirm(operator("positions.close_position"), CLOSE, [book.alice.pk], size="0.04", reason="trim")

    alice = Position.objects.get(pk=book.alice.pk)
    assert (alice.status, alice.size, alice.realized_pnl) == ("open", D("0.06"), D("20"))
    assert any("closed 0.04; 0.06 left open" in message for message in messages_of(done))
    reduced = PositionEvent.objects.filter(position=alice, type="reduced").get()
    assert reduced.actor == "admin:op"
    close = Order.objects.get(position=alice, role="close")
    assert (close.reason, close.events.first().actor) == ("trim", "admin:op")  # type: ignore[union-attr]
    assert live_orders(alice) == [("stop_loss", D("44000"), D("0.06"))]
    assert done.redirect_chain[-1][0] == f"/admin/positions/position/{alice.pk}/change/"


def test_closing_with_no_size_closes_it_all_and_cancels_its_protection(book: Book) -> None:
    done = confirm(operator("positions.close_position"), CLOSE, [book.alice.pk], reason="risk off")

    alice = Position.objects.get(pk=book.alice.pk)
    assert (alice.status, alice.close_reason, alice.exit_price) == ("closed", "risk off", D("45500"))
    assert live_orders(alice) == []
    assert any("closed at 45500; realized +50.00 in all" in message for message in messages_of(done))


@pytest.mark.parametrize(
    ("size", "refusal"),
    [
        ("0.5", "only 0.1 of 0.1 can be closed"),
        (
            "0.055",
            "size 0.055 BTC is not a whole number of lots of 0.01 BTC on okx BTC-USDT-SWAP: send 0.05 BTC or 0.06",
        ),
    ],
)
def test_a_close_that_cannot_be_done_is_refused_on_the_plan_and_on_confirmation(
    book: Book, size: str, refusal: str
) -> None:
    client = operator("positions.close_position")

    plan = show_plan(client, CLOSE, [book.alice.pk], size=size, reason="x")
    done = confirm(client, CLOSE, [book.alice.pk], size=size, reason="x")

    assert f"Nothing will be done: {refusal}" in text_of(plan)
    assert 'name="_confirm"' not in plan.content.decode()
    assert any("skipped" in message and refusal in message for message in messages_of(done))
    assert Position.objects.get(pk=book.alice.pk).size == D("0.1")


def test_a_position_that_changed_since_its_plan_is_left_alone(book: Book) -> None:
    client = operator("positions.close_position")
    plan = show_plan(client, CLOSE, [book.alice.pk], size="0.05", reason="x")
    PositionManager(actor="system:bot").close_position(book.alice.pk, size=D("0.03"))  # a bot acted meanwhile

    fingerprint = plan.context["items"][0]["fingerprint"]
    done = client.post(CLOSE, {"ids": book.alice.pk, "size": "0.05", "reason": "x", "_confirm": "1",
                               f"fingerprint-{book.alice.pk}": fingerprint}, follow=True)  # fmt: skip

    assert any("changed since the plan was shown: nothing done" in message for message in messages_of(done))
    assert Position.objects.get(pk=book.alice.pk).size == D("0.07")


def test_closing_many_positions_reports_each_outcome(book: Book) -> None:
    client = operator("positions.close_position")

    chosen = client.post(LIST, {"action": "close", "_selected_action": [book.alice.pk, book.bob.pk, book.carol.pk]})
    done = confirm(client, CLOSE, [book.alice.pk, book.bob.pk, book.carol.pk], reason="flatten")

    assert chosen.status_code == 302
    assert chosen.url.startswith(CLOSE)
    messages = messages_of(done)
    assert any(f"position {str(book.alice.pk)[:8]}" in m and "closed at 45500" in m for m in messages)
    assert any(f"position {str(book.bob.pk)[:8]}" in m and "closed at 45500" in m for m in messages)
    assert any(f"position {str(book.carol.pk)[:8]}" in m and "skipped: the position is closed" in m for m in messages)
    assert "Close at market on 3 positions: 2 done, 0 failed, 1 skipped." in messages
    refreshed = book.refreshed()
    assert (refreshed.alice.status, refreshed.bob.status) == ("closed", "closed")


def test_without_the_close_permission_nothing_is_offered_and_posting_is_forbidden(book: Book) -> None:
    client = viewer()

    assert client.get(CLOSE, {"ids": book.alice.pk}).status_code == 403
    assert client.post(CLOSE, {"ids": book.alice.pk, "reason": "x", "_confirm": "1"}).status_code == 403
    assert client.post(LIST, {"action": "close", "_selected_action": [book.alice.pk]}).status_code == 403
    assert Position.objects.get(pk=book.alice.pk).size == D("0.1")


# -- refresh the mark ------------------------------------------------------------------------------


def test_refreshing_stores_the_new_mark_and_an_event_naming_the_admin(book: Book) -> None:
    mark("46000")

    done = confirm(viewer(), REFRESH, [book.alice.pk, book.bob.pk])

    refreshed = book.refreshed()
    assert (refreshed.alice.current_price, refreshed.alice.unrealized_pnl) == (D("46000"), D("100"))
    assert (refreshed.bob.current_price, refreshed.bob.unrealized_pnl) == (D("46000"), D("-200"))
    event = PositionEvent.objects.filter(position=refreshed.alice, type="mark_refreshed").get()
    assert event.actor == "admin:viewer"
    assert any("mark 46000, unrealized PnL +100.00" in message for message in messages_of(done))


def test_refreshing_needs_to_see_positions(book: Book) -> None:
    assert staff_client("nobody").get(REFRESH, {"ids": book.alice.pk}).status_code == 403


# -- cancel open orders ------------------------------------------------------------------------------


@pytest.fixture
def resting_add(book: Book) -> Order:
    """A limit order adding to alice's position, resting below the market."""
    PositionManager(actor="system:bot").open_position(
        **btc(user_id="alice", side="long", size=D("0.05"), leverage=10, entry_price=D("44500"))
    )
    return Order.objects.get(position=book.alice, role="add")


def test_cancelling_a_positions_orders_keeps_its_protection_unless_asked(book: Book, resting_add: Order) -> None:
    client = operator("orders.cancel_order")

    plan = show_plan(client, CANCEL, [book.alice.pk])
    done = confirm(client, CANCEL, [book.alice.pk])

    text = text_of(plan)
    assert f"cancel the add to position order {str(resting_add.pk)[:8]}: buy limit 0.05 of 0.05 @ 44500" in text
    assert "the stop-loss order" in text
    assert "stays (protection)" in text
    assert 'name="remove_protection"' not in plan.content.decode()  # not allowed to change protection
    resting_add.refresh_from_db()
    assert resting_add.status == "cancelled"
    assert resting_add.events.filter(type="cancel_requested", actor="admin:op").exists()
    assert live_orders(book.alice) == [("stop_loss", D("44000"), D("0.1"))]
    assert any(f"{str(resting_add.pk)[:8]} cancelled" in message for message in messages_of(done))


def test_cancelling_with_protection_removes_the_stop_loss_too(book: Book, resting_add: Order) -> None:
    client = operator("orders.cancel_order", "positions.change_protection")

    plan = show_plan(client, CANCEL, [book.alice.pk], remove_protection="on")
    confirm(client, CANCEL, [book.alice.pk], remove_protection="on")

    assert "remove the stop-loss at 44000: its order is cancelled and the price cleared" in text_of(plan)
    alice = Position.objects.get(pk=book.alice.pk)
    assert alice.stop_loss_price is None
    assert live_orders(alice) == []
    assert PositionEvent.objects.filter(position=alice, type="protection_changed", actor="admin:op").exists()


def test_asking_to_remove_protection_without_the_permission_does_nothing_to_it(book: Book) -> None:
    client = operator("orders.cancel_order")

    done = client.post(CANCEL, {"ids": book.alice.pk, "remove_protection": "on", "_confirm": "1"}, follow=True)

    assert Position.objects.get(pk=book.alice.pk).stop_loss_price == D("44000")
    assert live_orders(book.alice) == [("stop_loss", D("44000"), D("0.1"))]
    assert done.status_code == 200


def test_a_position_without_open_orders_has_nothing_to_cancel(book: Book) -> None:
    plan = show_plan(operator("orders.cancel_order"), CANCEL, [book.bob.pk])

    assert "Nothing will be done: no open order to cancel" in text_of(plan)


def test_cancelling_needs_the_cancel_permission(book: Book, resting_add: Order) -> None:
    client = operator("positions.close_position")

    assert client.get(CANCEL, {"ids": book.alice.pk}).status_code == 403
    assert client.post(CANCEL, {"ids": book.alice.pk, "_confirm": "1"}).status_code == 403
    assert client.post(LIST, {"action": "cancel_orders", "_selected_action": [book.alice.pk]}).status_code == 403
    resting_add.refresh_from_db()
    assert resting_add.status == "open"


# -- stop-loss / take-profit ---------------------------------------------------------------------------


def test_moving_the_stop_places_the_new_one_first_then_cancels_the_old_one(book: Book) -> None:
    client = operator("positions.change_protection")

    form = client.get(PROTECTION, {"ids": book.alice.pk})
    plan = show_plan(client, PROTECTION, [book.alice.pk], stop_loss_price="44800", take_profit_price="47000")
    done = confirm(client, PROTECTION, [book.alice.pk], stop_loss_price="44800", take_profit_price="47000")

    assert 'name="stop_loss_price" value="44000"' in form.content.decode()  # starts from what stands
    text = text_of(plan)
    assert "place a new stop-loss: reduce-only sell for 0.1 at trigger 44800 (the mark is 45500)" in text
    assert "then cancel the stop-loss order" in text
    assert "place a new take-profit: reduce-only sell for 0.1 at trigger 47000" in text
    alice = Position.objects.get(pk=book.alice.pk)
    assert (alice.stop_loss_price, alice.take_profit_price) == (D("44800"), D("47000"))
    assert live_orders(alice) == [("stop_loss", D("44800"), D("0.1")), ("take_profit", D("47000"), D("0.1"))]
    changed = PositionEvent.objects.filter(position=alice, type="protection_changed")
    assert {event.actor for event in changed} == {"admin:op"}
    assert any("now stop-loss 44800, take-profit 47000" in message for message in messages_of(done))


def test_a_stop_through_the_mark_is_refused_before_anything_is_sent(book: Book) -> None:
    client = operator("positions.change_protection")

    plan = show_plan(client, PROTECTION, [book.alice.pk], stop_loss_price="45600", take_profit_price="")
    done = confirm(client, PROTECTION, [book.alice.pk], stop_loss_price="45600", take_profit_price="")

    assert "a long's stop-loss must be below the last mark 45500" in text_of(plan)
    assert any("skipped" in message for message in messages_of(done))
    assert Position.objects.get(pk=book.alice.pk).stop_loss_price == D("44000")
    assert live_orders(book.alice) == [("stop_loss", D("44000"), D("0.1"))]


def test_removing_the_stop_says_the_position_will_be_unprotected(book: Book) -> None:
    client = operator("positions.change_protection")

    plan = show_plan(client, PROTECTION, [book.alice.pk], stop_loss_price="", take_profit_price="")
    confirm(client, PROTECTION, [book.alice.pk], stop_loss_price="", take_profit_price="")

    assert "the position will have no stop-loss" in text_of(plan)
    assert Position.objects.get(pk=book.alice.pk).stop_loss_price is None


def test_unchanged_prices_are_a_form_error(book: Book) -> None:
    response = operator("positions.change_protection").get(
        PROTECTION, {"ids": book.alice.pk, "_preview": "1", "stop_loss_price": "44000", "take_profit_price": ""}
    )

    assert response.context["stage"] == "edit"
    assert "nothing to change" in text_of(response)


def test_protection_is_changed_one_position_at_a_time_and_only_with_the_permission(book: Book) -> None:
    allowed = operator("positions.change_protection")
    looker = operator("positions.close_position", name="closer")

    several = allowed.get(PROTECTION, {"ids": f"{book.alice.pk},{book.bob.pk}"}, follow=True)

    assert any("acts on one position at a time" in message for message in messages_of(several))
    assert looker.get(PROTECTION, {"ids": book.alice.pk}).status_code == 403
    assert looker.post(PROTECTION, {"ids": book.alice.pk, "stop_loss_price": "1", "_confirm": "1"}).status_code == 403


# -- review -----------------------------------------------------------------------------------------------


def test_flagging_with_a_note_records_who_and_when(book: Book) -> None:
    client = staff_client("reviewer", "positions.view_position", "positions.review_position")

    plan = show_plan(client, REVIEW, [book.alice.pk], decision="flagged", note="stop too far")
    confirm(client, REVIEW, [book.alice.pk], decision="flagged", note="stop too far")

    assert "mark it flagged with the note “stop too far”, reviewed by reviewer now (now unreviewed)" in text_of(plan)
    alice = Position.objects.get(pk=book.alice.pk)
    assert (alice.review_status, alice.review_note, alice.reviewed_by) == ("flagged", "stop too far", "reviewer")
    assert alice.reviewed_at is not None
    assert PositionEvent.objects.filter(position=alice, type="reviewed", actor="admin:reviewer").exists()


def test_a_flag_needs_a_note(book: Book) -> None:
    client = staff_client("reviewer", "positions.view_position", "positions.review_position")

    response = client.get(REVIEW, {"ids": book.alice.pk, "_preview": "1", "decision": "flagged", "note": ""})

    assert response.context["stage"] == "edit"
    assert "say why the position is flagged" in text_of(response)


def test_approving_many_positions_reports_each(book: Book) -> None:
    client = staff_client("reviewer", "positions.view_position", "positions.review_position")

    done = confirm(client, REVIEW, [book.bob.pk, book.carol.pk], decision="approved", note="")

    assert {p.review_status for p in Position.objects.filter(pk__in=[book.bob.pk, book.carol.pk])} == {"approved"}
    assert len([m for m in messages_of(done) if "review recorded (approved" in m]) == 2
    assert "Approve or flag on 2 positions: 2 done, 0 failed, 0 skipped." in messages_of(done)


def test_reviewing_needs_the_review_permission(book: Book) -> None:
    client = operator("positions.close_position")

    assert client.get(REVIEW, {"ids": book.alice.pk}).status_code == 403
    assert client.post(REVIEW, {"ids": book.alice.pk, "decision": "approved", "_confirm": "1"}).status_code == 403
    assert Position.objects.get(pk=book.alice.pk).review_status == "unreviewed"


# -- what the page accepts -------------------------------------------------------------------------------


def test_unknown_actions_ids_and_empty_selections_are_handled(book: Book) -> None:
    client = staff_client("root", superuser=True)

    assert client.get(act_url("positions", "position", "explode"), {"ids": book.alice.pk}).status_code == 404
    empty = client.get(CLOSE, {"ids": "not-an-id,also-not"}, follow=True)
    assert any("Nothing selected" in message for message in messages_of(empty))


def test_a_plan_for_an_order_placed_by_a_bot_meanwhile_still_shows(book: Book) -> None:
    OrderManager().create_order(
        **btc(user_id="bob", side="buy", order_type="limit", quantity=D("0.05"), price=D("44000"))
    )  # not linked to bob's position: the position's page does not count it

    plan = show_plan(operator("orders.cancel_order"), CANCEL, [book.bob.pk])

    assert "no open order to cancel" in text_of(plan)
