"""Exchange accounts in the admin: credentials set through write-only fields, never saved missing,
never shown again (page, list, history)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from tests.admin_clients import staff_client, text_of, viewer
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db

ACCOUNTS = "/admin/tradingcore/exchangeaccount/"
SECRETS = {"api_key": "key-3b9f1c", "api_secret": "secret-Qz7LmN0p", "passphrase": "pass-Hunter2"}


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "user_id": "alice", "exchange": "okx", "label": "main", "position_mode": "hedge", "margin_mode": "cross",
        "rest_base_url": "", "is_active": "on", "api_key": "", "api_secret": "", "passphrase": "",
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.fixture
def editor() -> Client:
    return staff_client(
        "editor", "tradingcore.view_exchangeaccount", "tradingcore.add_exchangeaccount",
        "tradingcore.change_exchangeaccount",
    )  # fmt: skip


def test_an_account_without_credentials_is_not_saved(editor: Client) -> None:
    response = editor.post(f"{ACCOUNTS}add/", form())

    assert response.status_code == 200
    assert "an API key and secret are required" in text_of(response)
    assert not ExchangeAccount.objects.exists()


def test_a_secret_given_alone_is_not_enough(editor: Client) -> None:
    response = editor.post(f"{ACCOUNTS}add/", form(api_secret="only-the-secret"))

    assert response.status_code == 200
    assert not ExchangeAccount.objects.exists()
    assert "only-the-secret" not in response.content.decode()  # not rendered back after the error


def test_the_paper_exchange_takes_no_account(editor: Client) -> None:
    response = editor.post(f"{ACCOUNTS}add/", form(exchange="paper", **SECRETS))

    assert "the paper exchange needs no credentials" in text_of(response)
    assert not ExchangeAccount.objects.exists()


def test_credentials_are_stored_encrypted_and_never_shown_again(editor: Client) -> None:
    created = editor.post(f"{ACCOUNTS}add/", form(**SECRETS), follow=True)

    account = ExchangeAccount.objects.get()
    assert [getattr(account, name).reveal() for name in SECRETS] == list(SECRETS.values())
    pages = [
        created,
        editor.get(ACCOUNTS),
        editor.get(f"{ACCOUNTS}{account.pk}/change/"),
        editor.get(f"{ACCOUNTS}{account.pk}/history/"),
    ]
    for page in pages:
        assert page.status_code == 200
        for value in SECRETS.values():
            assert value not in page.content.decode()
    assert "key, secret, passphrase" in editor.get(ACCOUNTS).content.decode()
    for entry in LogEntry.objects.all():
        for value in SECRETS.values():
            assert value not in entry.change_message


def test_empty_credential_fields_keep_the_stored_ones_and_a_new_secret_replaces_its_own(editor: Client) -> None:
    editor.post(f"{ACCOUNTS}add/", form(**SECRETS))
    account = ExchangeAccount.objects.get()

    kept = editor.post(f"{ACCOUNTS}{account.pk}/change/", form(label="renamed"))
    replaced = editor.post(f"{ACCOUNTS}{account.pk}/change/", form(label="renamed", api_secret="rotated-secret"))

    assert kept.status_code == replaced.status_code == 302
    account.refresh_from_db()
    assert account.label == "renamed"
    assert (account.api_key.reveal(), account.api_secret.reveal(), account.passphrase.reveal()) == (
        SECRETS["api_key"], "rotated-secret", SECRETS["passphrase"]
    )  # fmt: skip


def test_an_account_stored_without_credentials_cannot_be_saved_again_without_them(editor: Client) -> None:
    account = ExchangeAccount.objects.create(user_id="bob", exchange="okx")  # e.g. written by an old script

    response = editor.post(f"{ACCOUNTS}{account.pk}/change/", form(user_id="bob"))

    assert response.status_code == 200
    assert "an API key and secret are required" in text_of(response)


def test_the_list_filters_and_searches(editor: Client) -> None:
    editor.post(f"{ACCOUNTS}add/", form(**SECRETS))
    editor.post(f"{ACCOUNTS}add/", form(user_id="bob", exchange="binance", **SECRETS))

    by_exchange = editor.get(ACCOUNTS, {"exchange__exact": "binance"})
    by_search = editor.get(ACCOUNTS, {"q": "alice"})

    assert [row.user_id for row in by_exchange.context["cl"].result_list] == ["bob"]
    assert [row.user_id for row in by_search.context["cl"].result_list] == ["alice"]


def test_without_the_permissions_accounts_are_only_seen_or_forbidden() -> None:
    account = ExchangeAccount.objects.create(user_id="bob", exchange="okx", api_key="k", api_secret="s")

    assert viewer().get(f"{ACCOUNTS}add/").status_code == 403
    assert viewer("viewer-2").post(f"{ACCOUNTS}{account.pk}/change/", form(user_id="eve")).status_code == 403
    assert staff_client("nobody").get(ACCOUNTS).status_code == 403
    assert ExchangeAccount.objects.get(pk=account.pk).user_id == "bob"


def test_an_account_can_be_deleted_with_its_credentials(editor: Client) -> None:
    account = ExchangeAccount.objects.create(user_id="bob", exchange="okx", api_key="k", api_secret="s")
    deleter = staff_client("deleter", "tradingcore.view_exchangeaccount", "tradingcore.delete_exchangeaccount")

    refused = editor.post(f"{ACCOUNTS}{account.pk}/delete/", {"post": "yes"})
    deleted = deleter.post(f"{ACCOUNTS}{account.pk}/delete/", {"post": "yes"})

    assert (refused.status_code, deleted.status_code) == (403, 302)
    assert not ExchangeAccount.objects.exists()
