"""The record of ``verify_redis`` runs (``VerificationRun``): written by the command, read by the admin."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from tradingcore.models import VerificationRun
from tradingcore.redis.verify import Report

KEPT_RUNS = 500
KEPT_LINES = 100


def record(
    *,
    started_at: datetime,
    fix: bool,
    user_ids: Iterable[str] | None,
    outcome: str,
    report: Report | None = None,
    remaining: Report | None = None,
    legacy_checked: int = 0,
    legacy_lines: Iterable[str] = (),
    message: str = "",
) -> VerificationRun:
    """Save one run's outcome (``remaining``: what a --fix run still found after repairing) and
    keep the latest ``KEPT_RUNS`` runs. Never raises for the figures: a run is always recorded."""
    report = report or Report()
    legacy = [f"legacy {line}" for line in legacy_lines]
    found = [str(drift) for drift in (remaining or report).drifts]
    run = VerificationRun.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        fix=fix,
        user_ids=sorted(user_ids or []),
        outcome=outcome,
        users=report.users,
        keys_checked=report.keys_checked,
        differences=len(report.drifts),
        legacy_checked=legacy_checked,
        legacy_mismatches=len(legacy),
        message=message,
        lines=(found + legacy)[:KEPT_LINES],
    )
    stale = VerificationRun.objects.order_by("-started_at", "-id").values_list("id", flat=True)[KEPT_RUNS:]
    VerificationRun.objects.filter(id__in=list(stale)).delete()
    return run


def latest() -> VerificationRun | None:
    """The most recent run, or None when ``verify_redis`` never ran."""
    return VerificationRun.objects.order_by("-started_at", "-id").first()
