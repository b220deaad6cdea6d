"""API keys in the admin: created with the key shown once, revoked after a confirmation, last use shown."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from tests.admin_clients import act_url, confirm, messages_of, staff_client, viewer
from tradingcore.api.keys import create_api_key
from tradingcore.models import ApiKey

pytestmark = pytest.mark.django_db

KEYS = "/admin/tradingcore/apikey/"
REVOKE = act_url("tradingcore", "apikey", "revoke")
KEEPER = ("tradingcore.view_apikey", "tradingcore.add_apikey", "tradingcore.change_apikey")


def bot(raw_key: str) -> APIClient:
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_creating_a_key_shows_it_once_and_it_works() -> None:
    keeper = staff_client("keeper", *KEEPER)

    response = keeper.post(f"{KEYS}add/", {"name": "grid-bot", "user_ids": "alice, bob\ncarol"})

    assert response.status_code == 200
    raw_key = re.search(r'id="tc-new-key">(tc_[^<]+)<', response.content.decode()).group(1)  # type: ignore[union-attr]
    assert "no-cache" in response.headers["Cache-Control"]
    key = ApiKey.objects.get(name="grid-bot")
    assert key.user_ids == ["alice", "bob", "carol"]
    assert raw_key not in keeper.get(f"{KEYS}{key.pk}/change/").content.decode()
    assert raw_key not in keeper.get(KEYS).content.decode()
    assert bot(raw_key).get("/api/v1/positions/?user_id=alice").status_code == 200


def test_a_key_without_users_is_refused_with_the_reason() -> None:
    response = staff_client("keeper", *KEEPER).post(f"{KEYS}add/", {"name": "lost", "user_ids": ""})

    assert response.status_code == 200
    assert "give at least one user id, or all users" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_list_shows_scope_state_and_last_use_and_filters_revoked_keys() -> None:
    used, raw_key = create_api_key(name="used", user_ids=["alice"])
    create_api_key(name="everyone", all_users=True)
    bot(raw_key).get("/api/v1/positions/?user_id=alice")
    keeper = staff_client("keeper", *KEEPER)
    confirm(keeper, REVOKE, [used.pk])

    listing = keeper.get(KEYS).content.decode()
    revoked = keeper.get(KEYS, {"state": "revoked"})
    active = keeper.get(KEYS, {"state": "active"})

    assert "every user" in listing
    assert "never" in listing  # the other key's last use
    used.refresh_from_db()
    assert used.last_used_at is not None
    assert [key.name for key in revoked.context["cl"].result_list] == ["used"]
    assert [key.name for key in active.context["cl"].result_list] == ["everyone"]


def test_revoking_from_the_key_page_needs_a_confirmation_and_stops_the_key() -> None:
    key, raw_key = create_api_key(name="to-stop", user_ids=["alice"])
    keeper = staff_client("keeper", *KEEPER)

    page = keeper.get(f"{KEYS}{key.pk}/change/").content.decode()
    plan = keeper.get(REVOKE, {"ids": key.pk})
    still_working = bot(raw_key).get("/api/v1/positions/?user_id=alice").status_code
    done = confirm(keeper, REVOKE, [key.pk])

    assert f"{REVOKE}?ids={key.pk}" in page
    assert "revoke the key acting for alice" in plan.content.decode()
    assert still_working == 200
    assert any("revoked" in message for message in messages_of(done))
    assert bot(raw_key).get("/api/v1/positions/?user_id=alice").status_code == 401


def test_without_the_permissions_keys_cannot_be_created_or_revoked() -> None:
    key, raw_key = create_api_key(name="kept", user_ids=["alice"])
    looker = viewer()

    page = looker.get(f"{KEYS}{key.pk}/change/").content.decode()
    listing = looker.get(KEYS).content.decode()

    assert REVOKE not in page
    assert 'value="revoke"' not in listing
    assert looker.get(f"{KEYS}add/").status_code == 403
    assert looker.post(f"{KEYS}add/", {"name": "x", "all_users": "on"}).status_code == 403
    assert looker.get(REVOKE, {"ids": key.pk}).status_code == 403
    assert looker.post(REVOKE, {"ids": key.pk, "_confirm": "1"}).status_code == 403
    assert looker.post(KEYS, {"action": "revoke", "_selected_action": [key.pk]}).status_code == 403
    assert bot(raw_key).get("/api/v1/positions/?user_id=alice").status_code == 200
