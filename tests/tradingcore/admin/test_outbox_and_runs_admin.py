"""The outbox and the verify_redis runs in the admin: internal, read-only, properly named."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client

from tests.admin_clients import staff_client, viewer
from tradingcore.models import OutboxEntry, VerificationRun

pytestmark = pytest.mark.django_db

OUTBOX = "/admin/tradingcore/outboxentry/"


@pytest.fixture
def entry() -> OutboxEntry:
    return OutboxEntry.objects.create(
        kind="position", object_id=uuid.uuid4(), user_id="alice", event="position.updated", attempts=3,
        last_error="Redis unreachable",
    )  # fmt: skip


def test_the_outbox_list_shows_what_waits_for_redis(entry: OutboxEntry) -> None:
    response = viewer().get(OUTBOX)

    assert response.status_code == 200
    content = response.content.decode()
    assert f"/admin/positions/position/{entry.object_id}/change/" in content
    assert str(entry.object_id)[:8] in content
    assert "Redis unreachable" in content
    assert "Add outbox entry" not in content


@pytest.mark.parametrize("client_of", [viewer, lambda: staff_client("root", superuser=True)])
def test_nobody_adds_changes_or_deletes_outbox_entries(entry: OutboxEntry, client_of: Any) -> None:
    client: Client = client_of()

    assert client.get(f"{OUTBOX}add/").status_code == 403
    assert client.post(f"{OUTBOX}add/", {"kind": "position", "object_id": str(uuid.uuid4())}).status_code == 403
    assert client.post(f"{OUTBOX}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"{OUTBOX}{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    client.post(f"{OUTBOX}{entry.pk}/change/", {"kind": "order", "attempts": "0"})
    assert OutboxEntry.objects.get(pk=entry.pk).attempts == 3


def test_without_the_view_permission_the_outbox_is_forbidden(entry: OutboxEntry) -> None:
    assert staff_client("nobody").get(OUTBOX).status_code == 403


def test_every_registered_model_has_a_proper_plural_name() -> None:
    plurals = {model._meta.verbose_name_plural for model in admin.site._registry}

    assert "outbox entries" in plurals
    assert not [name for name in plurals if re.search(r"[^aeiou]ys$", str(name))]  # "entrys"


def test_the_runs_list_and_page_show_each_outcome_and_what_was_found() -> None:
    run = VerificationRun.objects.create(
        outcome="drift", differences=2, users=3, keys_checked=40,
        lines=["positions:u1:okx:BTC-USDT-SWAP:long  size  expected='0.1'  actual='0.2'"],
    )  # fmt: skip
    client = viewer()

    listing = client.get("/admin/tradingcore/verificationrun/")
    page = client.get(f"/admin/tradingcore/verificationrun/{run.pk}/change/")
    filtered = client.get("/admin/tradingcore/verificationrun/", {"outcome__exact": "clean"})

    assert listing.status_code == page.status_code == 200
    assert "Drift" in listing.content.decode()
    assert "expected=&#x27;0.1&#x27;" in page.content.decode()
    assert filtered.context["cl"].result_count == 0
    assert client.get("/admin/tradingcore/verificationrun/add/").status_code == 403
