"""``create_api_key`` prints a key alone on its last line, stores only its hash; ``revoke_api_key`` ends it."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tradingcore.api.keys import hash_key
from tradingcore.models import ApiKey

pytestmark = pytest.mark.django_db


def create(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def get_positions(key: str) -> int:
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get("/api/v1/positions/").status_code


def test_the_key_is_printed_alone_on_the_last_line_and_only_its_hash_is_stored() -> None:
    key = create("--name", "grid-bot", "--user-id", "u1", "--user-id", "u2")

    stored = ApiKey.objects.get(name="grid-bot")
    assert key.startswith("tc_")
    assert " " not in key
    assert (stored.key_hash, stored.user_ids, stored.all_users) == (hash_key(key), ["u1", "u2"], False)
    assert key not in str(ApiKey.objects.values())
    assert get_positions(key) == 200


def test_a_key_for_every_user() -> None:
    key = create("--name", "ops", "--all-users")

    assert ApiKey.objects.get(key_hash=hash_key(key)).all_users is True


def test_a_key_without_users_is_refused() -> None:
    with pytest.raises(CommandError, match="at least one user id"):
        create("--name", "nobody")


def test_revoking_by_name_or_prefix_stops_the_key_at_once() -> None:
    first, second = create("--name", "a", "--user-id", "u1"), create("--name", "b", "--user-id", "u1")

    call_command("revoke_api_key", "--name", "a", stdout=io.StringIO())
    call_command("revoke_api_key", "--prefix", second[:10], stdout=io.StringIO())

    assert (get_positions(first), get_positions(second)) == (401, 401)
    with pytest.raises(CommandError, match="no active API key"):
        call_command("revoke_api_key", "--name", "a", stdout=io.StringIO())


def test_last_use_is_recorded() -> None:
    key = create("--name", "a", "--user-id", "u1")

    get_positions(key)

    assert ApiKey.objects.get(name="a").last_used_at is not None
