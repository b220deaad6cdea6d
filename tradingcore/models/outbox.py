"""The transactional outbox of the Redis projection (SPEC section 6.4)."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class OutboxEntry(models.Model):
    """One pending projection of one entity to Redis, written in the transaction of the change.

    After commit the projector publishes the entity's current state and deletes the row; while
    Redis is unreachable rows accumulate and are drained in ``id`` order later. Publishing is
    full-state and idempotent, so a row delivered twice does no harm.
    """

    class Kind(models.TextChoices):
        POSITION = "position", "Position"
        ORDER = "order", "Order"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.UUIDField()
    user_id = models.CharField(max_length=64)
    event = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "projection_outbox"
        ordering = ["id"]
        verbose_name = "outbox entry"
        verbose_name_plural = "outbox entries"
        indexes = [models.Index(fields=["kind", "object_id"], name="outbox_object_idx")]

    def __str__(self) -> str:
        return f"outbox #{self.pk} {self.kind} {self.object_id} {self.event}"
