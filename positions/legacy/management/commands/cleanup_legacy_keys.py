"""Remove the legacy keys of migrated entities: the last migration phase (SPEC 9; the README runbook)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from positions.legacy.cleanup import REMOVED, Decision, cleanup
from positions.legacy.report import JsonEntries
from tradingcore.redis.projector import redis_client

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Remove the legacy key of every migrated entity whose legacy writer has been quiet for --quiet-for "
        "seconds: verified migrated, its layout's dual-write off, its bot not running, its key untouched (or "
        "unchanged since an earlier run saw it) for that long. A dry run unless --confirm (every run records what "
        "it saw, so a later run can tell a quiet key). Prints the counts by kind, action and reason, then the "
        "keys removed and kept with the reason; exit status 2 when Redis is unreachable."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--confirm", action="store_true", help="remove (without it nothing is removed)")
        parser.add_argument("--quiet-for", type=int, default=86400, help="seconds without a legacy write (1 day)")
        parser.add_argument("--user-id", action="append", dest="user_ids", help="only this user (repeatable)")
        parser.add_argument("--report", dest="report_path", help="also write every decision to this JSON file")

    def handle(self, *args: Any, confirm: bool, quiet_for: int, user_ids: list[str] | None, **options: Any) -> None:
        if quiet_for < 0:
            raise CommandError("--quiet-for must not be negative")
        entries = JsonEntries(options["report_path"]) if options["report_path"] else None
        counts: Counter[tuple[str, str, str]] = Counter()
        shown: list[Decision] = []
        try:
            for decision in cleanup(redis_client(), confirm=confirm, quiet_for=timedelta(seconds=quiet_for),
                                    user_ids=user_ids):  # fmt: skip
                counts[(decision.kind, decision.action, decision.reason)] += 1
                shown += [decision] if len(shown) < SHOWN else []
                if entries is not None:
                    entries.write(decision.as_json())
        except RedisError as exc:
            raise CommandError(f"Redis unreachable: {exc}", returncode=2) from exc
        finally:
            if entries is not None:
                entries.finish({f"{k}/{a}/{r}": n for (k, a, r), n in sorted(counts.items())})
        self._print(counts, shown, confirm)

    def _print(self, counts: Counter[tuple[str, str, str]], shown: list[Decision], confirm: bool) -> None:
        for (kind, action, reason), count in sorted(counts.items()):
            verb = action if confirm or action != REMOVED else "would remove"
            self.stdout.write(f"{kind:<18} {verb:<13} {reason:<20} {count:>9}")
        for decision in shown:
            verb = decision.action if confirm or decision.action != REMOVED else "would remove"
            self.stdout.write(f"  {verb:<13} {decision.key}  {decision.reason}  {decision.detail}".rstrip())
        removed = sum(n for (_, action, _), n in counts.items() if action == REMOVED)
        kept = sum(counts.values()) - removed
        tail = "removed" if confirm else "would be removed (dry run: nothing removed; --confirm removes)"
        self.stdout.write(f"{removed} legacy keys {tail}, {kept} kept")
