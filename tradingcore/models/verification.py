"""The outcome of each ``verify_redis`` run, for the operators' overview."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class VerificationRun(models.Model):
    """One run of ``manage.py verify_redis``: when, with which options, and what it found.

    Written by the command at the end of every run, whatever the outcome (``tradingcore.redis.
    verify_runs.record``); the admin's overview shows the latest. ``lines`` keeps the first
    differences the command printed (projection data only: Redis never holds a credential).
    """

    class Outcome(models.TextChoices):
        # PostgreSQL and Redis agree.
        CLEAN = "clean", "Clean"
        # Differences found; nothing repaired (run without --fix). The command exits 1.
        DRIFT = "drift", "Drift"
        # Differences found and repaired by --fix; clean afterwards.
        FIXED = "fixed", "Fixed"
        # --fix ran and differences remain (the legacy bots' keys, which are never changed). Exit 1.
        STILL_DRIFTING = "still_drifting", "Still drifting after --fix"
        # Redis could not be reached; nothing was compared. Exit 2.
        REDIS_UNREACHABLE = "redis_unreachable", "Redis unreachable"

    id = models.BigAutoField(primary_key=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(default=timezone.now)
    fix = models.BooleanField(default=False)
    user_ids = models.JSONField(default=list, blank=True, help_text="the users checked; empty: every user")
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    users = models.PositiveIntegerField(default=0)
    keys_checked = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    legacy_checked = models.PositiveIntegerField(default=0)
    legacy_mismatches = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    lines = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "redis_verification_runs"
        ordering = ["-started_at", "-id"]
        verbose_name = "Redis verification run"
        indexes = [models.Index(fields=["-started_at"], name="verification_runs_started_idx")]

    @property
    def is_clean(self) -> bool:
        return self.outcome in (self.Outcome.CLEAN, self.Outcome.FIXED)

    def __str__(self) -> str:
        return f"verify_redis {self.started_at:%Y-%m-%d %H:%M:%S}: {self.get_outcome_display()}"
