"""``POST /api/v1/paper/marks/`` moves a simulated market; only staff and keys acting for every user may."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, mark
from tests.tradingcore.api.cases import client_for, error_of
from tradingcore.models import PaperFill, PaperMark

pytestmark = pytest.mark.django_db
MARK = {"exchange": "okx", "symbol": "BTC/USDT:USDT", "price": "45000.5"}


def test_a_key_for_every_user_sets_the_mark() -> None:
    response = client_for(name="ops", all_users=True).post("/api/v1/paper/marks/", MARK, format="json")

    assert response.status_code == 201
    assert response.json() == {"exchange": "okx", "symbol": BTC, "price": "45000.50000000", "fills": 0}
    assert PaperMark.objects.get(exchange="okx", symbol=BTC).price == Decimal("45000.5")


def test_a_bots_key_may_not_move_the_market_and_nobody_anonymous() -> None:
    refused = client_for(USER).post("/api/v1/paper/marks/", MARK, format="json")
    anonymous = APIClient(SERVER_NAME="localhost").post("/api/v1/paper/marks/", MARK, format="json")

    assert (refused.status_code, error_of(refused)["code"]) == (403, "user_not_allowed")
    assert anonymous.status_code == 401


def test_an_unknown_symbol_is_a_400_naming_it() -> None:
    response = client_for(name="ops", all_users=True).post(
        "/api/v1/paper/marks/", {**MARK, "symbol": "NOPE-USDT-SWAP"}, format="json"
    )

    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["symbol"]


@pytest.mark.django_db(transaction=True)  # the position is opened as a bot opens it, committing
def test_a_mark_whose_fills_would_overflow_a_column_is_a_400_and_changes_nothing() -> None:
    # given a large long whose take-profit the new mark crosses: the fill would realize ~1e14 USDT
    mark("45000")
    PositionManager().open_position(
        user_id=USER, exchange="okx", symbol=BTC, side="long", size=Decimal(1000), take_profit_price=Decimal(50000)
    )

    response = client_for(name="ops", all_users=True).post(
        "/api/v1/paper/marks/", {**MARK, "price": "99999999999.99999999"}, format="json"
    )

    assert response.status_code == 400, response.content
    assert list(error_of(response)["details"]) == ["price"]
    assert PaperMark.objects.get(exchange="okx", symbol=BTC).price == Decimal(45000)
    assert PaperFill.objects.count() == 1  # the entry's only
    assert Position.objects.get().status == "open"


def test_a_mark_beyond_numeric_20_8_is_a_400() -> None:
    response = client_for(name="ops", all_users=True).post(
        "/api/v1/paper/marks/", {**MARK, "price": "1000000000000"}, format="json"
    )

    assert response.status_code == 400
    assert error_of(response)["details"] == {"price": ["too large"]}
