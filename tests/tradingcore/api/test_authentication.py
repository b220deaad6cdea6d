"""Who may use the API: bots by key, staff by their admin session; keys revoked from the admin stop."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.tradingcore.api.cases import client_for
from tradingcore.models import ApiKey

pytestmark = pytest.mark.django_db


def session_of(*, staff: bool) -> Client:
    user = get_user_model().objects.create_user(username=f"person-{staff}", password="x", is_staff=staff,
                                                is_superuser=staff)  # fmt: skip
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def test_a_staff_session_uses_the_browsable_api() -> None:
    response = session_of(staff=True).get("/api/v1/positions/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"Django REST framework" in response.content


def test_a_session_without_staff_rights_is_refused() -> None:
    response = session_of(staff=False).get("/api/v1/positions/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_revoking_from_the_admin_stops_the_key(settings: Any) -> None:
    bot = client_for("u1", name="to-revoke")
    key = ApiKey.objects.get(name="to-revoke")

    response = session_of(staff=True).post(
        "/admin/tradingcore/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True
    )

    assert response.status_code == 200
    assert bot.get("/api/v1/positions/").status_code == 401
