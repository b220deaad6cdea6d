"""Compare the Redis projection with PostgreSQL; ``--fix`` repairs it (SPEC section 9)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError
from tqdm import tqdm

from tradingcore.redis.verify import verify


class Command(BaseCommand):
    help = (
        "Compare PostgreSQL with the unified keys and the legacy HYPERRSI / GRID keys and print every "
        "difference as: key, field, expected, actual. Exit status 1 on drift. With --fix, re-project the "
        "drifted users and delete stale keys, verify again and exit 0 when clean. Exit status 2 when Redis is "
        "unreachable."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--fix", action="store_true", help="repair the drift, then verify again")
        parser.add_argument(
            "--user-id", action="append", dest="user_ids", help="only this user (repeatable); skips the stale scan"
        )

    def handle(self, *args: Any, fix: bool, user_ids: list[str] | None, **options: Any) -> None:
        try:
            report = verify(fix=fix, user_ids=user_ids, progress=self._progress)
        except RedisError as exc:
            raise CommandError(f"Redis unreachable: {exc}", returncode=2) from exc
        for drift in report.drifts:
            self.stdout.write(str(drift))
        summary = f"{report.users} users, {report.keys_checked} keys checked, {len(report.drifts)} differences"
        if not report.drifts:
            self.stdout.write(self.style.SUCCESS(f"clean: {summary}"))
            return
        if not fix:
            raise CommandError(f"drift: {summary}", returncode=1)
        after = verify(user_ids=user_ids)
        for drift in after.drifts:
            self.stdout.write(str(drift))
        if after.drifts:
            raise CommandError(f"still drifting after --fix: {len(after.drifts)} differences", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"fixed {len(report.drifts)} differences; clean: {summary}"))

    def _progress(self, users: Iterable[str]) -> Iterable[str]:
        if not self.stdout.isatty():
            return users
        return tqdm(users, desc="users", unit="user")  # on stderr, so stdout stays parseable
