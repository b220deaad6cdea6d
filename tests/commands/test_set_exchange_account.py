"""Storing exchange credentials from the command line, without ever printing them."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db


def test_credentials_come_from_the_environment_and_are_stored_encrypted(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EXCHANGE_API_KEY", "key-plain-123")
    monkeypatch.setenv("EXCHANGE_API_SECRET", "secret-plain-456")
    monkeypatch.setenv("EXCHANGE_PASSPHRASE", "pass-plain-789")
    output = io.StringIO()

    call_command("set_exchange_account", "--user-id", "u1", "--exchange", "OKX", "--sandbox", stdout=output)

    account = ExchangeAccount.objects.get(user_id="u1", exchange="okx")
    assert account.api_secret.reveal() == "secret-plain-456"
    assert account.sandbox is True
    assert "plain" not in output.getvalue()
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key, api_secret, passphrase FROM exchange_accounts")
        stored = cursor.fetchone()
    assert not any("plain" in value for value in stored)


def test_running_again_updates_the_same_account(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EXCHANGE_API_KEY", "k1")
    monkeypatch.setenv("EXCHANGE_API_SECRET", "s1")
    call_command("set_exchange_account", "--user-id", "u1", "--exchange", "okx", stdout=io.StringIO())
    monkeypatch.setenv("EXCHANGE_API_SECRET", "s2")

    call_command("set_exchange_account", "--user-id", "u1", "--exchange", "okx", stdout=io.StringIO())

    assert ExchangeAccount.objects.get().api_secret.reveal() == "s2"


def test_missing_credentials_and_paper_are_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("EXCHANGE_API_KEY", raising=False)
    monkeypatch.delenv("EXCHANGE_API_SECRET", raising=False)

    with pytest.raises(CommandError, match="required"):
        call_command("set_exchange_account", "--user-id", "u1", "--exchange", "okx")
    with pytest.raises(CommandError, match="paper"):
        call_command("set_exchange_account", "--user-id", "u1", "--exchange", "paper")
    assert not ExchangeAccount.objects.exists()
