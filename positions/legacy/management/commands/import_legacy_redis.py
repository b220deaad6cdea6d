"""Import the legacy HYPERRSI and GRID Redis data into the service (SPEC 9; the runbook in the README)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError
from tqdm import tqdm

from positions.legacy.importer import DEFAULT_BATCH_SIZE, STEPS, ImportOptions, Progress, run_import
from positions.legacy.parallel import WorkerFailed, run_parallel
from positions.legacy.report import ImportReport, JsonEntries
from tradingcore.redis.projector import redis_client


class Command(BaseCommand):
    help = (
        "Read the legacy HYPERRSI position records, GRID levels and HYPERRSI open-order lists (and, with "
        "--only credentials, the legacy credentials) from a Redis, and write positions, orders and encrypted "
        "exchange accounts to PostgreSQL and the unified keys. Legacy keys are only read. Idempotent: a second "
        "run reports everything unchanged. Prints a table by kind (imported / updated / unchanged / skipped / "
        "invalid) with the reasons; exit status 1 when a record was invalid, 2 when Redis is unreachable."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--source-url", help="the legacy Redis (default: the service's own REDIS_URL)")
        parser.add_argument("--dry-run", action="store_true", help="decide and report, write nothing")
        parser.add_argument("--user", dest="user_id", help="only this user's keys")
        parser.add_argument("--only", choices=STEPS, help="one kind of record (credentials only when asked for)")
        parser.add_argument("--report", dest="report_path", help="also write every outcome to this JSON file")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="keys per round trip")
        parser.add_argument(
            "--legacy-key", help="the bots' Fernet key for enc_v1: credentials (default: TRADING_LEGACY_ENCRYPTION_KEY)"
        )
        parser.add_argument(
            "--naive-timezone", default="UTC", help="zone of the bots' timestamps without an offset (e.g. Asia/Seoul)"
        )
        parser.add_argument("--workers", type=int, default=1, help="processes, each on a share of the users")

    def handle(self, *args: Any, **options: Any) -> None:
        import_options = self._options(options)
        entries = JsonEntries(options["report_path"]) if options["report_path"] else None
        report = ImportReport(dry_run=import_options.dry_run, entries=entries)
        try:
            with self._progress() as progress:
                self._run(options["source_url"], import_options, report, entries, progress)
        except RedisError as exc:
            raise CommandError(f"Redis unreachable: {exc}", returncode=2) from exc
        except WorkerFailed as exc:
            raise CommandError(f"import failed: {exc}", returncode=2 if exc.redis_down else 1) from exc
        finally:
            report.finish()
        self._print(report)

    def _run(
        self,
        source_url: str | None,
        options: ImportOptions,
        report: ImportReport,
        entries: JsonEntries | None,
        progress: Progress,
    ) -> None:
        if options.workers > 1:
            run_parallel(source_url, options, report, entries, progress)
            return
        source = redis.Redis.from_url(source_url, decode_responses=True) if source_url else redis_client()
        run_import(source, options, report, progress)

    def _options(self, options: dict[str, Any]) -> ImportOptions:
        try:
            zone = ZoneInfo(options["naive_timezone"])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CommandError(f"unknown time zone {options['naive_timezone']!r}") from exc
        if options["batch_size"] < 1 or options["workers"] < 1:
            raise CommandError("--batch-size and --workers must be at least 1")
        return ImportOptions(
            only=options["only"],
            user_id=options["user_id"],
            dry_run=options["dry_run"],
            batch_size=options["batch_size"],
            legacy_key=options["legacy_key"] or settings.TRADING_LEGACY_ENCRYPTION_KEY,
            naive_zone=zone,
            workers=options["workers"],
        )

    @contextmanager
    def _progress(self) -> Iterator[Progress]:
        if not self.stderr.isatty():
            yield lambda count: None
            return
        with tqdm(desc="legacy keys", unit="key") as bar:  # on stderr: stdout stays parseable
            yield bar.update

    def _print(self, report: ImportReport) -> None:
        for line in report.table():
            self.stdout.write(line)
        if report.dry_run:
            self.stdout.write("dry run: nothing was written")
        if report.invalid:
            raise CommandError(f"{report.invalid} invalid legacy record(s): see the reasons above", returncode=1)
        self.stdout.write(self.style.SUCCESS("import finished: no invalid record"))
