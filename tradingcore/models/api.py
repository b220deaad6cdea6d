"""Models of the REST API's plumbing: per-bot API keys and the stored first responses of
idempotent requests."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKey(models.Model):
    """A strategy bot's key to the REST API, scoped to the user ids it may act for.

    Only the SHA-256 of the key is stored (``key_hash``): the key itself is shown once, by
    ``create_api_key``, and can never be recovered. ``prefix`` (its first characters) lets an
    operator tell keys apart. A key acts for ``user_ids``, or for every user with ``all_users``;
    another user's object answers 404 to it. A revoked key (``revoked_at`` set) authenticates
    nothing. ``last_used_at`` is refreshed at most once a minute.
    """

    name = models.CharField(max_length=100, help_text="who uses the key; events record it as api:<name>")
    prefix = models.CharField(max_length=16, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    user_ids = models.JSONField(default=list, blank=True, help_text="the user ids the key may act for")
    all_users = models.BooleanField(default=False, help_text="the key acts for every user")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_keys"
        verbose_name = "API key"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["name"], name="api_keys_name_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(all_users=True) | ~Q(user_ids=[]), name="api_keys_scope_not_empty"),
        ]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> str:
        """How the event log names what this key did."""
        return f"api:{self.name}"

    def acts_for(self, user_id: str) -> bool:
        return self.all_users or user_id in self.user_ids

    def __str__(self) -> str:
        state = "" if self.is_active else " (revoked)"
        return f"{self.name} {self.prefix}...{state}"


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an idempotency key, replayed to its retries.

    Unique per (owner, key): the owner is the API key (``key:<id>``) or the staff user
    (``staff:<id>``) that sent it. ``fingerprint`` is the SHA-256 of the method, path and body, so
    the same key with another request is told apart. Written once the first request finished with
    a status below 500; until ``expires_at`` a retry gets ``status_code`` and ``content`` back, the
    bytes first answered with their ``content_type`` (``body`` holds the same as JSON for reading:
    jsonb does not keep the order of keys; records made before ``content`` existed replay it).
    """

    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True, blank=True)
    content = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=255, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "api_idempotency_records"
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="api_idempotency_unique_key")]
        indexes = [models.Index(fields=["expires_at"], name="api_idempotency_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.owner} {self.key} -> {self.status_code}"
