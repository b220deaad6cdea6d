"""A position's page: understood at a glance, read-only, with its orders, fills and events, a chart of
its fills against the mark, and only the actions the user may take."""

from __future__ import annotations

import re
from decimal import Decimal

from orders.models import OrderFill
from positions.models import Position
from tests.admin_clients import staff_client, text_of, viewer
from tests.positions.admin.conftest import Book

D = Decimal


def page_of(position: Position) -> str:
    return f"/admin/positions/position/{position.pk}/change/"


def test_the_page_sums_the_position_up_and_lists_its_orders_fills_and_events(book: Book) -> None:
    response = viewer().get(page_of(book.alice))

    assert response.status_code == 200
    text = text_of(response)
    summary = re.search(r'id="tc-position-summary">(.*?)</dl>', response.content.decode(), re.S).group(1)  # type: ignore[union-attr]
    assert "long 10x" in summary
    assert "+50.00" in summary  # unrealized at 45500
    assert "+11.11 %" in summary
    assert "44000" in summary  # the stop-loss
    assert "Fills (1)" in text
    assert "paper-fill-" in text
    assert "Stop-loss" in text
    assert "trigger 44000" in text
    assert "Opened" in text
    assert "system:bot" in text


def test_the_page_is_read_only(book: Book) -> None:
    client = staff_client("root", superuser=True)
    page = client.get(page_of(book.alice)).content.decode()

    assert 'name="_save"' not in page
    assert 'name="size"' not in page
    assert 'name="stop_loss_price"' not in page
    assert client.post(page_of(book.alice), {"size": "1", "review_status": "approved"}).status_code == 403
    assert Position.objects.get(pk=book.alice.pk).size == D("0.1")
    assert client.get("/admin/positions/position/add/").status_code == 403
    assert client.post(f"/admin/positions/position/{book.alice.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_chart_draws_each_fill_against_the_mark_and_the_levels(book: Book) -> None:
    page = viewer().get(page_of(book.alice)).content.decode()

    chart = re.search(r'<svg class="tc-chart" id="tc-position-chart".*?</svg>', page, re.S).group(0)  # type: ignore[union-attr]
    fills = re.findall(r'<polygon class="tc-fill tc-fill-(\w+)" points="[^"]+" data-price="([^"]+)"', chart)
    assert fills == [("buy", "45000")]
    assert "stop-loss 44000" in chart
    assert "entry 45000" in chart
    assert 'class="tc-mark-line"' in chart  # sampled marks and the current one


def test_a_closed_position_says_so_and_offers_only_the_review(book: Book) -> None:
    page = staff_client("root", superuser=True).get(page_of(book.carol)).content.decode()

    assert "was 0.5 (closed)" in page
    assert len(re.findall(r'<polygon class="tc-fill', page)) == 2  # bought, then sold
    actions = re.findall(r'class="button tc-action-(\w+)"', page)
    assert actions == ["review"]


def test_the_buttons_are_the_actions_the_user_may_take(book: Book) -> None:
    everything = re.findall(
        r"tc-action-(\w+)", staff_client("root", superuser=True).get(page_of(book.alice)).content.decode()
    )
    closer = staff_client("closer", "positions.view_position", "positions.close_position")
    some = re.findall(r"tc-action-(\w+)", closer.get(page_of(book.alice)).content.decode())

    assert everything == ["close", "protection", "cancel_orders", "refresh", "review"]
    assert some == ["close", "refresh"]


def test_fills_realized_pnl_is_shown_with_the_closing_fill(book: Book) -> None:
    closing = OrderFill.objects.get(order__position=book.carol, order__role="close")

    page = viewer().get(page_of(book.carol)).content.decode()

    assert closing.trade_id in page
    assert '<span class="tc-gain">+50.00</span>' in page  # 0.5 x (2600 - 2500)


def test_without_the_view_permission_the_page_is_forbidden(book: Book) -> None:
    assert staff_client("nobody").get(page_of(book.alice)).status_code == 403
