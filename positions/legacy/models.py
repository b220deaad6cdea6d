"""``LegacyRecord``: what each imported legacy Redis record became (the importer's idempotency ledger)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LegacyRecord(models.Model):
    """One legacy Redis record imported into the service, and what it became.

    ``source_key`` is the legacy key, with ``#{item}`` for a record inside one (an order of a
    HYPERRSI ``open_orders`` list, a level of GRID's older single ``active_grid`` hash). The
    ``fingerprint`` (SHA-256 of the record as parsed; of credentials, an HMAC keyed by the service's
    secret key) tells a re-run whether the record changed; ``entity_version`` is the version the
    import left on the position, so a later change made through the services is never overwritten
    by a re-run. ``seen_fingerprint`` / ``seen_since`` are ``cleanup_legacy_keys``' observation of
    the legacy writer's own fields: unchanged since then means the writer has been quiet.
    """

    class Kind(models.TextChoices):
        HYPERRSI_POSITION = "hyperrsi_position", "HYPERRSI position"
        GRID_LEVEL = "grid_level", "GRID level"
        HYPERRSI_ORDER = "hyperrsi_order", "HYPERRSI open order"
        CREDENTIALS = "credentials", "Credentials"

    id = models.BigAutoField(primary_key=True)
    source_key = models.CharField(max_length=512, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32)
    position = models.ForeignKey(
        "positions.Position", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        "tradingcore.ExchangeAccount", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fingerprint = models.CharField(max_length=64)
    entity_version = models.PositiveIntegerField(default=1)
    seen_fingerprint = models.CharField(max_length=64, blank=True, default="")
    seen_since = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "legacy_records"
        ordering = ["id"]
        indexes = [models.Index(fields=["kind", "user_id"], name="legacy_records_kind_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_key}"
