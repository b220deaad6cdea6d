"""The legacy-migration app: its idempotency ledger (``LegacyRecord``) and its commands."""

from django.apps import AppConfig


class LegacyConfig(AppConfig):
    name = "positions.legacy"
    label = "legacy"
    verbose_name = "Legacy migration"
    default_auto_field = "django.db.models.BigAutoField"
