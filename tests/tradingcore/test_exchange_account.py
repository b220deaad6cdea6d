"""Exchange account credentials: encrypted at rest, never shown back (SPEC section 3)."""

from __future__ import annotations

import logging
import re

import pytest
from django.core import serializers
from django.core.exceptions import FieldError
from django.db import connection
from django.forms import modelform_factory
from django.test import Client
from django.urls import reverse

from tradingcore import crypto
from tradingcore.exceptions import ConfigurationError
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db

API_KEY = "okx-api-key-7f3a91c2"
API_SECRET = "okx-api-secret-Zq81LmN0pW"
PASSPHRASE = "okx-passphrase-Hunter2!"
PLAINTEXTS = (API_KEY, API_SECRET, PASSPHRASE)
CREDENTIAL_FIELDS = ("api_key", "api_secret", "passphrase")
FERNET_TOKEN_PREFIX = "gAAAAA"  # version byte 0x80, base64url


@pytest.fixture
def account() -> ExchangeAccount:
    """An account saved with credentials and read back from the database."""
    created = ExchangeAccount.objects.create(
        user_id="user-1", exchange="okx", label="main", api_key=API_KEY, api_secret=API_SECRET, passphrase=PASSPHRASE
    )
    return ExchangeAccount.objects.get(pk=created.pk)


def stored_tokens(account: ExchangeAccount) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key, api_secret, passphrase FROM exchange_accounts WHERE id = %s", [account.pk])
        return cursor.fetchone()


def assert_shows_no_credential(text: str, tokens: tuple[str, ...] = ()) -> None:
    for secret in (*PLAINTEXTS, *tokens):
        assert secret not in text


def assert_write_only_input(html: str, name: str) -> None:
    """The page has an input for the credential: a password input that renders no value."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert len(inputs) == 1, inputs
    assert 'type="password"' in inputs[0]
    assert "value=" not in inputs[0]


class TestEncryptionAtRest:
    def test_the_table_holds_fernet_tokens_not_the_plaintext(self, account: ExchangeAccount) -> None:
        # when the raw columns are selected, bypassing the model field
        tokens = stored_tokens(account)

        # then each is a Fernet token of our key that decrypts to the credential, never the credential
        for token, plaintext in zip(tokens, PLAINTEXTS, strict=True):
            assert token.startswith(FERNET_TOKEN_PREFIX)
            assert plaintext not in token
            assert crypto.decrypt(token) == plaintext

    def test_the_same_secret_encrypts_differently_each_time(self, account: ExchangeAccount) -> None:
        other = ExchangeAccount.objects.create(user_id="user-2", exchange="okx", api_secret=API_SECRET)

        assert stored_tokens(account)[1] != stored_tokens(other)[1]

    def test_an_empty_passphrase_stays_empty(self) -> None:
        created = ExchangeAccount.objects.create(user_id="user-1", exchange="binance", api_key=API_KEY)

        assert stored_tokens(created)[2] == ""
        assert ExchangeAccount.objects.get(pk=created.pk).passphrase.reveal() == ""

    def test_saving_again_keeps_the_credentials(self, account: ExchangeAccount) -> None:
        account.label = "renamed"
        account.save()

        reloaded = ExchangeAccount.objects.get(pk=account.pk)
        assert [getattr(reloaded, name).reveal() for name in CREDENTIAL_FIELDS] == list(PLAINTEXTS)

    def test_a_wrong_encryption_key_is_a_clear_configuration_error(self, account: ExchangeAccount, settings) -> None:  # type: ignore[no-untyped-def]
        # given the service restarted with another TRADING_ENCRYPTION_KEY
        settings.TRADING_ENCRYPTION_KEY = "not-the-key-the-credentials-were-stored-with"

        # when the account is loaded
        with pytest.raises(ConfigurationError) as excinfo:
            ExchangeAccount.objects.get(pk=account.pk)

        # then the error names the setting and leaks nothing
        assert excinfo.value.code == "configuration_error"
        assert "TRADING_ENCRYPTION_KEY" in excinfo.value.message
        assert_shows_no_credential(str(excinfo.value), stored_tokens(account))


class TestReadingBack:
    def test_credentials_read_back_as_secrets_that_reveal_the_plaintext(self, account: ExchangeAccount) -> None:
        for name, plaintext in zip(CREDENTIAL_FIELDS, PLAINTEXTS, strict=True):
            value = getattr(account, name)
            assert isinstance(value, crypto.Secret)
            assert value.reveal() == plaintext

    @pytest.mark.parametrize("name", CREDENTIAL_FIELDS)
    def test_str_repr_and_formatting_of_a_credential_show_a_mask(self, account: ExchangeAccount, name: str) -> None:
        value = getattr(account, name)

        assert str(value) == crypto.MASK
        assert repr(value) == f"Secret({crypto.MASK!r})"
        assert f"{value}" == "%s" % value == crypto.MASK  # noqa: UP031 - old-style formatting is a path too

    def test_str_and_repr_of_the_account_show_no_credential(self, account: ExchangeAccount) -> None:
        assert_shows_no_credential(str(account) + repr(account) + repr(vars(account)), stored_tokens(account))

    def test_the_account_just_created_shows_no_credential_either(self) -> None:
        # given the instance create() returns, before any reload
        created = ExchangeAccount.objects.create(user_id="user-1", exchange="okx", api_secret=API_SECRET)

        # then its attribute is already a masked secret
        assert isinstance(created.api_secret, crypto.Secret)
        assert_shows_no_credential(repr(vars(created)) + str(created.api_secret))

    def test_assigning_a_new_credential_masks_it_and_stores_it_encrypted(self, account: ExchangeAccount) -> None:
        # when an operator's code rotates the secret
        account.api_secret = "rotated-secret-42"  # type: ignore[assignment]
        account.save()

        # then the attribute is masked at once and the table holds a new token of the new value
        assert isinstance(account.api_secret, crypto.Secret)
        assert "rotated-secret-42" not in repr(vars(account))
        token = stored_tokens(account)[1]
        assert "rotated-secret-42" not in token
        assert crypto.decrypt(token) == "rotated-secret-42"

    def test_serialising_the_account_shows_a_mask(self, account: ExchangeAccount) -> None:
        dumped = serializers.serialize("json", [account])

        assert_shows_no_credential(dumped, stored_tokens(account))
        assert crypto.MASK in dumped

    def test_secrets_cannot_be_pickled(self, account: ExchangeAccount) -> None:
        import pickle

        with pytest.raises(TypeError):
            pickle.dumps(account.api_secret)


class TestLogging:
    def test_logging_an_account_or_its_fields_never_shows_the_plaintext(
        self, account: ExchangeAccount, caplog: pytest.LogCaptureFixture
    ) -> None:
        logger = logging.getLogger("tradingcore.tests.accounts")

        # when the account and its fields are logged in every usual way
        with caplog.at_level(logging.DEBUG, logger=logger.name):
            logger.info("account %s", account)
            logger.info("account %r", account)
            logger.info("fields %s %s %s", account.api_key, account.api_secret, account.passphrase)
            logger.info("fields %r", [account.api_key, account.api_secret, account.passphrase])
            logger.info("state %s", vars(account))
            logger.info(f"inline {account.api_secret}")  # noqa: G004 - the f-string path must be safe too

        # then the records hold the masks, never a credential or its token
        assert len(caplog.records) == 6
        assert crypto.MASK in caplog.text
        assert_shows_no_credential(caplog.text, stored_tokens(account))


class TestForms:
    def test_a_model_form_for_the_account_has_no_credential_fields(self) -> None:
        form_class = modelform_factory(ExchangeAccount, fields="__all__")

        assert not set(CREDENTIAL_FIELDS) & set(form_class.base_fields)

    @pytest.mark.parametrize("name", CREDENTIAL_FIELDS)
    def test_a_model_form_cannot_be_built_on_a_credential(self, name: str) -> None:
        with pytest.raises(FieldError):
            modelform_factory(ExchangeAccount, fields=[name])

    def test_the_admin_add_page_renders_the_credentials_as_empty_write_only_inputs(self, admin_client: Client) -> None:
        response = admin_client.get(reverse("admin:tradingcore_exchangeaccount_add"))

        assert response.status_code == 200
        for name in CREDENTIAL_FIELDS:
            assert_write_only_input(response.content.decode(), name)

    def test_the_admin_change_page_never_shows_a_credential_or_its_token(
        self, account: ExchangeAccount, admin_client: Client
    ) -> None:
        # given a logged-in superuser
        # when they open the account's change page
        response = admin_client.get(reverse("admin:tradingcore_exchangeaccount_change", args=[account.pk]))

        # then the page is there, shows the account, and neither the credentials nor the tokens
        assert response.status_code == 200
        content = response.content.decode()
        assert "user-1" in content
        assert_shows_no_credential(content, stored_tokens(account))
        for name in CREDENTIAL_FIELDS:
            assert_write_only_input(content, name)
        assert "key, secret, passphrase" in content  # which credentials are set, never what they are

    def test_the_admin_list_and_history_never_show_a_credential(
        self, account: ExchangeAccount, admin_client: Client
    ) -> None:
        pages = [
            reverse("admin:tradingcore_exchangeaccount_changelist"),
            reverse("admin:tradingcore_exchangeaccount_history", args=[account.pk]),
        ]

        for page in pages:
            response = admin_client.get(page)
            assert response.status_code == 200
            assert_shows_no_credential(response.content.decode(), stored_tokens(account))

    def test_saving_the_admin_change_form_keeps_the_credentials(
        self, account: ExchangeAccount, admin_client: Client
    ) -> None:
        # when an operator renames the account through the admin
        response = admin_client.post(
            reverse("admin:tradingcore_exchangeaccount_change", args=[account.pk]),
            {
                "user_id": "user-1",
                "exchange": "okx",
                "label": "renamed",
                "position_mode": "hedge",
                "margin_mode": "cross",
                "rest_base_url": "",
                "is_active": "on",
            },
        )

        # then the change is saved and the credentials are untouched
        assert response.status_code == 302
        reloaded = ExchangeAccount.objects.get(pk=account.pk)
        assert reloaded.label == "renamed"
        assert [getattr(reloaded, name).reveal() for name in CREDENTIAL_FIELDS] == list(PLAINTEXTS)
