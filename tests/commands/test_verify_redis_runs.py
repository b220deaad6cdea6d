"""Every ``verify_redis`` run is recorded for the admin's overview, whatever its outcome."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.tradingcore.redis.factories import make_position, point_cache_at, populate
from tradingcore.models import VerificationRun
from tradingcore.redis import verify_runs

pytestmark = pytest.mark.django_db


def verify_redis(*args: str) -> int:
    try:
        call_command("verify_redis", *args, stdout=io.StringIO())
    except CommandError as error:
        return error.returncode
    return 0


def test_a_clean_run_is_recorded_with_its_figures() -> None:
    populate()

    assert verify_redis() == 0

    run = verify_runs.latest()
    assert run is not None
    assert (run.outcome, run.fix, run.differences, run.lines) == ("clean", False, 0, [])
    assert run.users == 3
    assert run.keys_checked > 0
    assert run.is_clean
    assert run.finished_at >= run.started_at


def test_drift_is_recorded_with_the_differences_then_fix_records_fixed(redis_client: Any) -> None:
    populate()
    redis_client.flushdb()

    assert verify_redis() == 1
    drift = verify_runs.latest()
    assert verify_redis("--fix") == 0
    fixed = verify_runs.latest()

    assert drift is not None
    assert fixed is not None
    assert (drift.outcome, drift.is_clean) == ("drift", False)
    assert drift.differences > 0
    assert drift.lines
    assert "expected=" in drift.lines[0]
    assert (fixed.outcome, fixed.fix, fixed.lines) == ("fixed", True, [])
    assert fixed.differences == drift.differences


def test_an_unreachable_redis_is_recorded(settings: Any) -> None:
    make_position()
    point_cache_at(settings, "redis://127.0.0.1:1/0")

    assert verify_redis("--user-id", "user-1") == 2

    run = verify_runs.latest()
    assert run is not None
    assert (run.outcome, run.user_ids) == ("redis_unreachable", ["user-1"])
    assert "Redis unreachable" in run.message


def test_only_the_latest_runs_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_runs, "KEPT_RUNS", 2)

    for _ in range(3):
        verify_redis()

    assert VerificationRun.objects.count() == 2
