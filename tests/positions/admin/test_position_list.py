"""The position list: compact columns, every filter, search, date drill-down, and who may see it."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from orders.models import Order
from tests.admin_clients import staff_client, viewer
from tests.positions.admin.conftest import Book

LIST = "/admin/positions/position/"


def shown(response: Any) -> set[str]:
    assert response.status_code == 200
    return {position.user_id for position in response.context["cl"].result_list}


def test_the_list_shows_each_position_compactly(book: Book) -> None:
    content = viewer().get(LIST).content.decode()

    assert f'title="{book.alice.pk}">{str(book.alice.pk)[:8]}</span>' in content
    assert '<span class="tc-gain">+50.00</span>' in content  # alice's long at 45500
    assert '<span class="tc-loss">-100.00</span>' in content  # bob's short
    assert '<span class="tc-gain">+50.00</span>' in content
    assert "+11.11 %" in content  # alice's ROE: 50 / (45000 x 0.1 / 10)
    assert "BTC-USDT-SWAP <small" in content  # the grid level beside the symbol
    assert "10x" in content
    assert ">was 0.5</span>" in content  # carol's closed position says it is history
    assert 'tc-badge-flagged" title="lead: too big">flagged' in content


@pytest.mark.parametrize(
    ("query", "users"),
    [
        ({"status__exact": "open"}, {"alice", "bob", "grid-bot"}),
        ({"status__exact": "closed"}, {"carol"}),
        ({"exchange__exact": "okx"}, {"alice", "bob", "grid-bot", "carol"}),
        ({"exchange__exact": "paper"}, set()),
        ({"side__exact": "short"}, {"bob"}),
        ({"review_status__exact": "flagged"}, {"bob"}),
        ({"review_status__exact": "unreviewed"}, {"alice", "grid-bot", "carol"}),
        ({"grid": "yes"}, {"grid-bot"}),
        ({"grid": "no"}, {"alice", "bob", "carol"}),
        ({"stop_loss": "set"}, {"alice"}),
        ({"stop_loss": "none", "status__exact": "open"}, {"bob", "grid-bot"}),
        ({"user_id": "alice", "status__exact": "open"}, {"alice"}),
    ],
)
def test_each_filter_narrows_the_list(book: Book, query: dict[str, str], users: set[str]) -> None:
    assert shown(viewer().get(LIST, query)) == users


def test_the_date_filter_and_the_drill_down(book: Book) -> None:
    today = timezone.now()
    client = viewer()

    midnight = today.replace(hour=0, minute=0, second=0, microsecond=0)
    by_filter = client.get(LIST, {"created_at__gte": midnight.isoformat()})
    drill = client.get(LIST, {"created_at__year": today.year, "created_at__month": today.month,
                              "created_at__day": today.day})  # fmt: skip
    other_year = client.get(LIST, {"created_at__year": today.year - 1})

    assert shown(by_filter) == shown(drill) == {"alice", "bob", "grid-bot", "carol"}
    assert shown(other_year) == set()


def test_realized_pnl_on_a_day_lists_the_positions_that_realized_it(book: Book) -> None:
    today = timezone.now().date().isoformat()

    assert shown(viewer().get(LIST, {"realized_on": today})) == {"carol"}
    assert shown(viewer().get(LIST, {"realized_on": "2001-01-01"})) == set()
    assert shown(viewer().get(LIST, {"realized_on": f"2001-01-01/{today}"})) == {"carol"}
    assert viewer().get(LIST, {"realized_on": "not-a-day"}).status_code == 302  # Django's "?e=1"


def test_search_finds_by_user_symbol_ids_and_order_ids(book: Book) -> None:
    entry = Order.objects.filter(position=book.bob, role="entry").get()
    client = viewer()

    assert shown(client.get(LIST, {"q": "alice"})) == {"alice"}
    assert shown(client.get(LIST, {"q": "ETH-USDT"})) == {"carol"}
    assert shown(client.get(LIST, {"q": str(book.grid.pk)})) == {"grid-bot"}
    assert shown(client.get(LIST, {"q": str(book.grid.pk)[:8]})) == {"grid-bot"}
    assert shown(client.get(LIST, {"q": entry.exchange_order_id})) == {"bob"}
    assert shown(client.get(LIST, {"q": entry.client_order_id})) == {"bob"}
    assert shown(client.get(LIST, {"q": str(entry.pk)[:8]})) == {"bob"}


def test_the_list_offers_only_the_actions_the_user_may_take(book: Book) -> None:
    looker = viewer().get(LIST).content.decode()
    closer = staff_client("closer", "positions.view_position", "positions.close_position").get(LIST)

    assert 'value="refresh"' in looker
    for action in ("close", "cancel_orders", "review"):
        assert f'value="{action}"' not in looker
    assert 'value="close"' in closer.content.decode()
    assert 'value="protection"' not in closer.content.decode()  # one position at a time: its page


def test_without_the_view_permission_the_list_is_forbidden(book: Book) -> None:
    assert staff_client("nobody").get(LIST).status_code == 403
