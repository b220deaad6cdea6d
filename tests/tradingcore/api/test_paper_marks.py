"""``POST /api/v1/paper/marks/`` moves a simulated market; only staff and keys acting for every user may."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.managers import BTC, USER
from tests.tradingcore.api.cases import client_for, error_of
from tradingcore.models import PaperMark

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
