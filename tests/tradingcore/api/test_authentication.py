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

    admin = session_of(staff=True)

    # the change list's action leads to the confirmation page; the key works until it is confirmed
    plan = admin.post("/admin/tradingcore/apikey/", {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert b"What will happen" in plan.content
    assert bot.get("/api/v1/positions/").status_code == 200
    fingerprint = plan.context["items"][0]["fingerprint"]
    response = admin.post(
        "/admin/tradingcore/apikey/act/revoke/", {"ids": key.pk, f"fingerprint-{key.pk}": fingerprint, "_confirm": "1"}
    )

    assert response.status_code == 302
    assert bot.get("/api/v1/positions/").status_code == 401
