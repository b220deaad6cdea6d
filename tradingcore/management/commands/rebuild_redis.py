"""Rewrite the whole Redis projection from PostgreSQL (SPEC section 9)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError
from tqdm import tqdm

from tradingcore.redis.rebuild import rebuild


class Command(BaseCommand):
    help = (
        "Rewrite every projected key from PostgreSQL: open positions, the recent closed history, live and "
        "recently ended orders, the legacy HYPERRSI position hashes and order lists and the GRID levels "
        "(each layout only when its TRADING_*_WRITE setting is on), then delete unified keys with no row "
        "behind them (SCAN, in batches). Legacy keys of entities unknown to PostgreSQL are left alone. "
        "Prints a summary; raises on Redis errors."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--user-id", action="append", dest="user_ids", help="only this user (repeatable); skips the stale scan"
        )

    def handle(self, *args: Any, user_ids: list[str] | None, **options: Any) -> None:
        try:
            report = rebuild(user_ids=user_ids, progress=self._progress)
        except RedisError as exc:
            raise CommandError(f"Redis unreachable: {exc}", returncode=2) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"rebuilt {report.users} users: {report.keys_written} keys written, {report.keys_removed} emptied, "
                f"{report.stale_keys} stale keys and {report.stale_members} stale set members removed"
            )
        )

    def _progress(self, users: Iterable[str]) -> Iterable[str]:
        if not self.stdout.isatty():
            return users
        return tqdm(users, desc="users", unit="user")  # on stderr, so stdout stays parseable
