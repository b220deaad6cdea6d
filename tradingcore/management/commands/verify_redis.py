"""Compare the Redis projection with PostgreSQL; ``--fix`` repairs it (SPEC section 9)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from redis.exceptions import RedisError
from tqdm import tqdm

from positions.legacy.verification import LegacyCheck, check_migrated
from tradingcore.models import VerificationRun
from tradingcore.redis import verify_runs
from tradingcore.redis.projector import redis_client
from tradingcore.redis.verify import Report, verify


class Command(BaseCommand):
    help = (
        "Compare PostgreSQL with the unified keys and the legacy HYPERRSI / GRID keys and print every "
        "difference as: key, field, expected, actual (a 'collision' line: the newest GRID code's data under our "
        "unified keys). Then check every migrated legacy entity: its legacy key, its unified key and its row agree "
        "on size (legacy in contracts, unified and database in base currency), entry price and leverage. Exit "
        "status 1 on drift. With --fix, re-project the drifted users and delete stale keys (legacy keys of the "
        "bots and GRID's data are never changed), verify again and exit 0 when clean. Exit status 2 when Redis "
        "is unreachable. Every run is recorded (outcome, figures, the first differences) for the admin's overview."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="repair the drift, then verify again")
        parser.add_argument(
            "--user-id", action="append", dest="user_ids", help="only this user (repeatable); skips the stale scan"
        )

    def handle(self, *args: Any, fix: bool, user_ids: list[str] | None, **options: Any) -> None:
        started_at = timezone.now()
        run = partial(verify_runs.record, started_at=started_at, fix=fix, user_ids=user_ids)
        try:
            report = verify(fix=fix, user_ids=user_ids, progress=self._progress)
            legacy = check_migrated(redis_client(), user_ids=user_ids)
        except RedisError as exc:
            run(outcome=VerificationRun.Outcome.REDIS_UNREACHABLE, message=f"Redis unreachable: {exc}")
            raise CommandError(f"Redis unreachable: {exc}", returncode=2) from exc
        self._print(report, legacy)
        run = partial(run, report=report, legacy_checked=legacy.checked, legacy_lines=map(str, legacy.mismatches))
        summary = f"{report.users} users, {report.keys_checked} keys checked, {len(report.drifts)} differences"
        if not report.drifts and not legacy.mismatches:
            run(outcome=VerificationRun.Outcome.CLEAN, message=f"clean: {summary}")
            self.stdout.write(self.style.SUCCESS(f"clean: {summary}"))
            return
        if not fix:
            message = f"drift: {summary}, {len(legacy.mismatches)} legacy mismatches"
            run(outcome=VerificationRun.Outcome.DRIFT, message=message)
            raise CommandError(message, returncode=1)
        after = verify(user_ids=user_ids) if report.drifts else Report()
        for drift in after.drifts:
            self.stdout.write(str(drift))
        if after.drifts or legacy.mismatches:
            message = (
                f"still drifting after --fix: {len(after.drifts)} differences, {len(legacy.mismatches)} legacy "
                "mismatches (the legacy keys are the bots': import again, or let a change through the service "
                "take the key over)"
            )
            run(outcome=VerificationRun.Outcome.STILL_DRIFTING, message=message, remaining=after)
            raise CommandError(message, returncode=1)
        message = f"fixed {len(report.drifts)} differences; clean: {summary}"
        run(outcome=VerificationRun.Outcome.FIXED, message=message, remaining=after)
        self.stdout.write(self.style.SUCCESS(message))

    def _print(self, report: Report, legacy: LegacyCheck) -> None:
        for drift in report.drifts:
            self.stdout.write(str(drift))
        for mismatch in legacy.mismatches:
            self.stdout.write(f"legacy {mismatch}")
        if legacy.checked:
            self.stdout.write(
                f"{legacy.checked} migrated legacy entities checked, {len(legacy.mismatches)} disagreements "
                "(--fix never changes the legacy bots' keys)"
            )

    def _progress(self, users: Iterable[str]) -> Iterable[str]:
        if not self.stdout.isatty():
            return users
        return tqdm(users, desc="users", unit="user")  # on stderr, so stdout stays parseable
