"""Exchange accounts: the credentials the gateway uses to act for one user on one exchange."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tradingcore.enums import Exchange, MarginMode, PositionMode
from tradingcore.fields import EncryptedTextField, EndpointURLField


class ExchangeAccount(models.Model):
    """API credentials of one user on one exchange, encrypted at rest.

    ``api_key``, ``api_secret`` and ``passphrase`` read back as ``crypto.Secret`` and are never
    shown by ``str()``, ``repr()``, forms or the admin. ``rest_base_url`` optionally sends every
    REST request of this account elsewhere (a regional domain, a proxy, a test server).
    """

    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    label = models.CharField(max_length=64, default="default")
    api_key = EncryptedTextField()
    api_secret = EncryptedTextField()
    passphrase = EncryptedTextField()
    sandbox = models.BooleanField(default=False)
    position_mode = models.CharField(max_length=16, choices=PositionMode.choices, default=PositionMode.HEDGE)
    margin_mode = models.CharField(max_length=16, choices=MarginMode.choices, default=MarginMode.CROSS)
    rest_base_url = EndpointURLField(blank=True, default="", max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "exchange_accounts"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "exchange", "label"], name="exchange_account_unique_label"),
        ]
        indexes = [models.Index(fields=["user_id", "exchange"], name="exchange_account_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.exchange} ({self.label})"

    def __repr__(self) -> str:
        return f"<ExchangeAccount {self.pk} {self}>"
