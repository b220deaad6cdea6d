"""Paper marks in the admin: set through ``paper.set_mark``, so the simulated market moves with them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orders.services import OrderManager
from tests.admin_clients import messages_of, staff_client, text_of, viewer
from tests.managers import BTC, btc, mark
from tradingcore.exchange import paper
from tradingcore.models import PaperMark, PaperOrder

pytestmark = pytest.mark.django_db(transaction=True)

MARKS = "/admin/tradingcore/papermark/"
MARKER = ("tradingcore.view_papermark", "tradingcore.add_papermark", "tradingcore.change_papermark")


def test_adding_a_mark_sets_it_for_the_simulated_market() -> None:
    response = staff_client("marker", *MARKER).post(
        f"{MARKS}add/", {"exchange": "okx", "symbol": "btc/usdt:usdt", "price": "45000"}, follow=True
    )

    assert response.status_code == 200
    assert paper.get_mark("okx", BTC) == Decimal("45000")
    assert any("okx BTC-USDT-SWAP mark set to 45000: no orders filled" in m for m in messages_of(response))


def test_changing_a_mark_fills_the_resting_orders_it_crosses_and_says_so() -> None:
    mark("45000")
    OrderManager().create_order(**btc(side="buy", order_type="limit", quantity=Decimal("0.1"), price=Decimal("44000")))
    book = PaperMark.objects.get(exchange="okx", symbol=BTC)

    response = staff_client("marker", *MARKER).post(f"{MARKS}{book.pk}/change/", {"price": "43900"}, follow=True)

    assert paper.get_mark("okx", BTC) == Decimal("43900")
    assert PaperOrder.objects.get().status == "filled"
    assert any("filled buy 0.1 @ 44000 for user123 (filled)" in m for m in messages_of(response))


def test_the_list_edits_prices_in_place_through_the_simulator() -> None:
    mark("45000")
    mark("2500", symbol="ETH-USDT-SWAP")
    btc_book, eth_book = PaperMark.objects.order_by("symbol")
    data: dict[str, Any] = {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "_save": "Save",
        "form-0-id": btc_book.pk, "form-0-price": "46000", "form-1-id": eth_book.pk, "form-1-price": "2500",
    }  # fmt: skip

    response = staff_client("marker", *MARKER).post(MARKS, data, follow=True)

    assert response.status_code == 200
    assert paper.get_mark("okx", BTC) == Decimal("46000")
    assert paper.get_mark("okx", "ETH-USDT-SWAP") == Decimal("2500")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"exchange": "okx", "symbol": "NOPE-USDT-SWAP", "price": "1"}, "does not list"),
        ({"exchange": "okx", "symbol": BTC, "price": "-5"}, "a mark must be a positive number"),
        ({"exchange": "okx", "symbol": BTC, "price": ""}, "This field is required"),
    ],
)
def test_a_bad_mark_is_a_form_error(data: dict[str, str], error: str) -> None:
    response = staff_client("marker", *MARKER).post(f"{MARKS}add/", data)

    assert response.status_code == 200
    assert error in text_of(response)
    assert not PaperMark.objects.exists()


def test_an_exchange_that_trades_for_real_takes_no_paper_mark(settings: Any) -> None:
    settings.TRADING_DRY_RUN = False

    response = staff_client("marker", *MARKER).post(f"{MARKS}add/", {"exchange": "okx", "symbol": BTC, "price": "1"})

    assert "trades for real" in text_of(response)
    assert not PaperMark.objects.exists()


def test_without_the_permission_marks_are_only_seen() -> None:
    mark("45000")
    book = PaperMark.objects.get()
    looker = viewer()

    assert looker.get(MARKS).status_code == 200
    assert looker.post(f"{MARKS}{book.pk}/change/", {"price": "1"}).status_code == 403
    assert looker.get(f"{MARKS}add/").status_code == 403
    assert staff_client("root", superuser=True).post(f"{MARKS}{book.pk}/delete/", {"post": "yes"}).status_code == 403
    assert paper.get_mark("okx", BTC) == Decimal("45000")
