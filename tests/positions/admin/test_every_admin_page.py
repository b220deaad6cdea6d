"""Every list of the admin, each of its filter links, and every object's page answer for staff who
may see them, and 403 for staff who may not."""

from __future__ import annotations

import re
import uuid

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.admin_clients import staff_client, viewer
from tests.positions.admin.conftest import Book
from tradingcore.api.keys import create_api_key
from tradingcore.models import ExchangeAccount, OutboxEntry, VerificationRun

OURS = ["positions", "orders", "tradingcore"]


@pytest.fixture
def everything(book: Book) -> None:
    ExchangeAccount.objects.create(user_id="alice", exchange="okx", api_key="k", api_secret="s")
    create_api_key(name="bot", user_ids=["alice"])
    OutboxEntry.objects.create(kind="order", object_id=uuid.uuid4(), user_id="alice")
    VerificationRun.objects.create(outcome="clean")


def our_models() -> list[type]:
    return [model for model in admin.site._registry if model._meta.app_label in OURS]


def test_every_list_every_filter_link_and_every_page_answers(everything: None) -> None:
    client = viewer()
    for model in our_models():
        opts = model._meta
        listing = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.label
        filters = re.search(r'id="changelist-filter"(.*?)</nav>', listing.content.decode(), re.S)
        links = set(re.findall(r'href="(\?[^"]*)"', filters.group(1))) if filters else set()
        for link in links:
            filtered = client.get(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + link.replace("&amp;", "&")
            )
            assert filtered.status_code == 200, (opts.label, link)
        for obj in model._default_manager.all()[:3]:
            page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            assert page.status_code == 200, (opts.label, obj.pk)


def test_staff_without_the_view_permissions_see_none_of_it(everything: None) -> None:
    client = staff_client("nobody")
    for model in our_models():
        opts = model._meta
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 403
        obj = model._default_manager.first()
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])).status_code == 403
