"""Exchange accounts in the admin: credentials can be set, never seen again.

The form's credential fields are write-only password inputs that never render a value back (not
after a failed validation either); an empty field keeps the stored credential. An account is never
saved without an API key and secret (``tradingcore.accounts.store_exchange_account``). Lists,
pages and history show which credentials are set, never what they are.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from tradingcore import accounts
from tradingcore.exceptions import InvalidInput
from tradingcore.models import ExchangeAccount

CREDENTIALS = ("api_key", "api_secret", "passphrase")


def _secret_input(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: stored encrypted, never shown again. Leave empty to keep the stored value.",
    )


class ExchangeAccountForm(forms.ModelForm):
    api_key = _secret_input("API key")
    api_secret = _secret_input("API secret")
    passphrase = _secret_input("Passphrase")

    class Meta:
        model = ExchangeAccount
        fields = [
            "user_id",
            "exchange",
            "label",
            "sandbox",
            "position_mode",
            "margin_mode",
            "rest_base_url",
            "is_active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Not model fields (the model's are not editable): ``store_exchange_account`` sets them.
        self.credentials = {name: data.get(name) or "" for name in CREDENTIALS}
        stored = self.instance if self.instance.pk else None
        key = data.get("api_key") or (stored.api_key if stored else "")
        secret = data.get("api_secret") or (stored.api_secret if stored else "")
        if data.get("exchange"):
            try:
                accounts.check_credentials(data["exchange"], api_key=key, api_secret=secret)
            except InvalidInput as error:
                raise ValidationError(error.message) from error
        return data


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(admin.ModelAdmin):
    form = ExchangeAccountForm
    list_display = [
        "user_id",
        "exchange",
        "label",
        "credentials",
        "sandbox",
        "position_mode",
        "is_active",
        "updated_at",
    ]
    list_filter = ["exchange", "sandbox", "is_active", "position_mode"]
    search_fields = ["user_id", "label"]
    readonly_fields = ["credentials", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["user_id", "exchange", "label", "is_active"]}),
        ("Credentials", {"fields": ["credentials", "api_key", "api_secret", "passphrase"]}),
        ("Trading", {"fields": ["position_mode", "margin_mode", "sandbox", "rest_base_url"]}),
        ("Times", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The credentials are fields of the form, not of the model form (the model's are not editable).
        shown = flatten_fieldsets(self.get_fieldsets(request, obj))
        kwargs["fields"] = [name for name in shown if name not in (*CREDENTIALS, *self.readonly_fields)]
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description="credentials set")
    def credentials(self, account: ExchangeAccount) -> str:
        names = {"api_key": "key", "api_secret": "secret", "passphrase": "passphrase"}
        present = [label for name, label in names.items() if getattr(account, name)]
        return ", ".join(present) if present else "none"

    def save_model(self, request: HttpRequest, obj: ExchangeAccount, form: Any, change: bool) -> None:
        accounts.store_exchange_account(obj, **form.credentials)
