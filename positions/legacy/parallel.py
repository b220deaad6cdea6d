"""Running ``import_legacy_redis`` in several processes, each on its share of the users.

For millions of keys: parsing and building rows is Python work, so one process per core multiplies
the throughput. The users are shared out by a hash of their id (``ImportOptions.owns``): all the
keys of one user, and so all of its slots, are handled by one worker, so workers never compete
for a slot. Each worker is a forked copy with its own database and Redis connections; it reports
its progress and, at its end, its counts to the parent, and writes its report entries to a file of
its own that the parent copies into the JSON report. A worker's failure fails the import.
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis
from django.db import connections
from redis.exceptions import RedisError

from positions.legacy.importer import ImportOptions, Progress, run_import
from positions.legacy.report import ImportReport, JsonEntries
from tradingcore.redis.projector import redis_client


class WorkerFailed(Exception):
    """A worker stopped on an error; ``redis_down`` when it was Redis."""

    def __init__(self, message: str, *, redis_down: bool) -> None:
        super().__init__(message)
        self.redis_down = redis_down


class _Lines:
    """A worker's report entries: one JSON document per line."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8")

    def write(self, entry: dict[str, Any]) -> None:
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def finish(self, summary: dict[str, Any]) -> None:
        self._file.close()


def run_parallel(
    source_url: str | None,
    options: ImportOptions,
    report: ImportReport,
    entries: JsonEntries | None,
    progress: Progress,
) -> ImportReport:
    """Import with ``options.workers`` processes; their counts are merged into ``report`` and their
    entries copied into ``entries``. Raises ``WorkerFailed``."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    connections.close_all()  # each worker opens its own
    with tempfile.TemporaryDirectory(prefix="import-legacy-") as directory:
        paths = [Path(directory) / f"worker-{n}.jsonl" for n in range(options.workers)]
        workers = [
            context.Process(target=_work, args=(source_url, replace(options, worker=n), paths[n], queue))
            for n in range(options.workers)
        ]
        for worker in workers:
            worker.start()
        failures = _collect(queue, len(workers), report, progress)
        for worker in workers:
            worker.join()
        _copy_entries(paths, entries)
    if failures:
        raise WorkerFailed("; ".join(message for message, _ in failures), redis_down=any(down for _, down in failures))
    return report


def _collect(queue: Any, count: int, report: ImportReport, progress: Progress) -> list[tuple[str, bool]]:
    failures: list[tuple[str, bool]] = []
    finished = 0
    while finished < count:
        kind, payload = queue.get()
        if kind == "progress":
            progress(payload)
        elif kind == "done":
            report.merge(payload)
            finished += 1
        else:
            failures.append(payload)
            finished += 1
    return failures


def _copy_entries(paths: list[Path], entries: JsonEntries | None) -> None:
    if entries is None:
        return
    for path in paths:
        if path.exists():
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    entries.write_text(line.rstrip("\n"))


def _work(source_url: str | None, options: ImportOptions, path: Path, queue: Any) -> None:
    """One worker's share (in the forked process)."""
    report = ImportReport(dry_run=options.dry_run, entries=_Lines(path))
    try:
        client = redis.Redis.from_url(source_url, decode_responses=True) if source_url else redis_client()
        run_import(client, options, report, lambda count: queue.put(("progress", count)))
        report.finish()
        queue.put(("done", report.state()))
    except Exception as exc:  # reported to the parent, which fails the import
        queue.put(("failed", (f"worker {options.worker}: {type(exc).__name__}: {exc}", isinstance(exc, RedisError))))
    finally:
        connections.close_all()
