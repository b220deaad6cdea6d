"""Helpers for admin tests: logged-in staff clients with exactly the permissions a test names."""

from __future__ import annotations

import html
import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

VIEW_ALL = [
    "positions.view_position", "positions.view_positionevent", "orders.view_order", "orders.view_orderfill",
    "orders.view_orderevent", "tradingcore.view_exchangeaccount", "tradingcore.view_apikey",
    "tradingcore.view_papermark", "tradingcore.view_outboxentry", "tradingcore.view_verificationrun",
]  # fmt: skip


def staff_client(username: str, *permissions: str, superuser: bool = False) -> Client:
    """A client logged in as a staff user holding ``permissions`` ("app_label.codename"); the same
    username gives the same user."""
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": superuser}
    )
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def viewer(username: str = "viewer") -> Client:
    """Staff who may look at everything and change nothing."""
    return staff_client(username, *VIEW_ALL)


def messages_of(response: Any) -> list[str]:
    """The messages shown on a page reached with ``follow=True``."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def text_of(response: Any) -> str:
    """The page's text without tags and with collapsed whitespace (for reading, not parsing)."""
    without_tags = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(without_tags))


def act_url(app_label: str, model: str, action: str) -> str:
    return f"/admin/{app_label}/{model}/act/{action}/"


def show_plan(client: Client, url: str, ids: list[Any], **params: Any) -> Any:
    """The action page's plan for ``ids`` with ``params`` (the confirmation stage)."""
    response = client.get(url, {"ids": ",".join(str(pk) for pk in ids), "_preview": "1", **params})
    assert response.status_code == 200, response.status_code
    assert response.context["stage"] == "confirm", response.context["form"].errors
    return response


def confirm(client: Client, url: str, ids: list[Any], **params: Any) -> Any:
    """Show the plan, then confirm it as the page's form does (its fingerprints included); the
    page the confirmation leads to (``follow=True``)."""
    plan = show_plan(client, url, ids, **params)
    fingerprints = {f"fingerprint-{item['pk']}": item["fingerprint"] for item in plan.context["items"]}
    data = {"ids": ",".join(str(pk) for pk in ids), "_confirm": "1", **fingerprints, **params}
    return client.post(url, data, follow=True)
