"""The operator's overview: each figure right, and each a link to the list behind it."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from orders.models import Order
from orders.services import OrderManager
from tests.admin_clients import staff_client, text_of, viewer
from tests.managers import BTC
from tests.positions.admin.conftest import Book
from tests.tradingcore.exchange.okx_loopback import PLACE_ORDER, OkxLoopback, loopback_account
from tradingcore.exceptions import OrderOutcomeUnknown
from tradingcore.models import OutboxEntry

OVERVIEW = "/admin/positions/position/overview/"
D = Decimal


def figure(page: str, name: str) -> tuple[str, str]:
    """(count, link) of the attention figure called ``name``."""
    found = re.search(rf"<dt>{re.escape(name)}</dt><dd[^>]*><a href=\"([^\"]+)\"[^>]*>(\d+)</a>", page)
    assert found, name
    return found.group(2), found.group(1).replace("&amp;", "&")


def listed(client: Any, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["cl"].result_count


def test_exposure_by_user_and_by_market_with_links_to_their_positions(book: Book) -> None:
    client = viewer()
    page = client.get(OVERVIEW).content.decode()

    users = re.search(r'id="tc-exposure-user">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]
    rows = re.findall(
        r'<tr><td><a href="([^"]+)">([^<]+)</a></td><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>', users
    )
    by_user = {name: (int(count), long, short) for _, name, count, long, short in rows}
    assert by_user["bob"] == (1, "0.00", "9,100.00")  # 0.2 x 45500
    assert by_user["alice"] == (1, "4,550.00", "0.00")
    assert rows[0][1] == "bob"  # the largest first
    assert listed(client, rows[0][0].replace("&amp;", "&")) == 1
    markets = re.search(r'id="tc-exposure-market">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]
    market_link = re.search(r'<a href="([^"]+)">okx BTC-USDT-SWAP</a></td><td>3</td>', markets).group(1)  # type: ignore[union-attr]
    assert listed(client, market_link.replace("&amp;", "&")) == 3


def test_realized_pnl_by_day_is_charted_and_each_bar_leads_to_its_positions(book: Book) -> None:
    client = viewer()
    page = client.get(OVERVIEW).content.decode()

    today = timezone.now().date().isoformat()
    bars = re.findall(r'<a href="([^"]+)"><rect class="(tc-bar-\w+)"[^>]*data-day="([^"]+)"', page)
    assert len(bars) == 30
    link, css, day = bars[-1]
    assert (css, day) == ("tc-bar-gain", today)
    assert listed(client, link.replace("&amp;", "&")) == 1  # carol's close
    totals = re.search(r'id="tc-realized">(.*?)</dl>', page, re.S).group(1)  # type: ignore[union-attr]
    thirty_days = re.search(r'<dt>last 30 days</dt><dd class="tc-figure"><a href="([^"]+)">', totals).group(1)  # type: ignore[union-attr]
    assert "+50.00" in totals
    assert listed(client, thirty_days.replace("&amp;", "&")) == 1


def test_the_figures_that_need_a_look_count_right_and_link_their_lists(book: Book) -> None:
    client = viewer()
    OutboxEntry.objects.create(kind="position", object_id=uuid.uuid4(), user_id="x")
    stuck = OrderManager().create_order(user_id="dave", exchange="okx", symbol=BTC, side="buy", order_type="limit",
                                        quantity=D("0.01"), price=D("40000"))  # fmt: skip
    Order.objects.filter(pk=stuck.id).update(status="pending", created_at=timezone.now() - timedelta(minutes=5))

    page = client.get(OVERVIEW).content.decode()

    expected = {
        "open positions without a stop-loss": 2,  # bob and the grid level
        "orders pending over 1 min": 1,
        "orders with an unknown outcome": 0,
        "outbox depth (waiting for Redis)": 1,
        "positions flagged in review": 1,
        "open positions not reviewed": 2,
    }
    for name, count in expected.items():
        shown, link = figure(page, name)
        assert int(shown) == count, name
        assert listed(client, link) == count, name


def test_the_last_verify_redis_run_is_shown_with_its_outcome(book: Book) -> None:
    client = viewer()
    before = text_of(client.get(OVERVIEW))

    call_command("verify_redis", stdout=io.StringIO())
    after = client.get(OVERVIEW).content.decode()

    assert "last verify_redis never run" in before
    assert re.search(r'id="tc-last-verification">\s*<a href="/admin/tradingcore/verificationrun/\d+/change/" '
                     r'class="tc-gain">Clean</a>', after)  # fmt: skip


@pytest.fixture
def okx(settings: Any, transactional_db: None) -> Iterator[OkxLoopback]:
    yield from loopback_account(settings, "okx-overview-user")


def test_an_order_whose_placement_timed_out_is_counted_as_unknown(okx: OkxLoopback) -> None:
    okx.fail("POST", PLACE_ORDER, okx_code="50026", stall_seconds=2)  # late, and nothing taken
    with pytest.raises(OrderOutcomeUnknown):
        OrderManager().create_order(user_id="okx-overview-user", exchange="okx", symbol=BTC, side="buy",
                                    order_type="limit", quantity=D("0.01"), price=D("40000"))  # fmt: skip
    client = viewer()

    shown, link = figure(client.get(OVERVIEW).content.decode(), "orders with an unknown outcome")

    assert (shown, listed(client, link)) == ("1", 1)


def test_the_overview_needs_to_see_positions(transactional_db: None) -> None:
    assert staff_client("nobody").get(OVERVIEW).status_code == 403
    assert viewer().get(OVERVIEW).status_code == 200
    assert 'href="/admin/positions/position/overview/"' in viewer().get("/admin/").content.decode()
