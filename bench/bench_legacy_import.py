"""Benchmark of import_legacy_redis: legacy position keys and GRID levels on loopback, keys per second and memory.

Run against a PostgreSQL database (migrated here if needed); Redis servers are its own::

    DJANGO_SETTINGS_MODULE=config.settings DATABASE_URL=... \\
        .venv/bin/python bench/bench_legacy_import.py [--positions 100000] [--levels 20000] [--batch-size 500]
        [--workers 1] [--trace-memory]

Starts two private redis-server processes on 127.0.0.1 (the legacy source, and the service's Redis
that receives the unified keys), fills the source as the legacy bots write it (HYPERRSI position
hashes as OKXPositionFetcher.fetch_okx_position writes them, GRID levels as update_active_grid
does), then imports, each time from empty tables:

1. a fifth of the keys, then all of them: the process's peak resident memory after each must be
   the same, the importer streams (SCAN, one batch at a time); with ``--trace-memory`` the peak of
   Python's own allocations (tracemalloc, slow) is printed too;
2. all of them, timed: keys per second (target: 5,000 or more) and the CPU time per key of the importer
   (its workers included) and of each Redis server, which a busy machine leaves comparable;
3. a second run over the same keys: everything unchanged, keys per second;
4. with ``--workers N`` above 1, steps 2 and 3 again with N processes, each on a share of the users.

Prints the conditions and the numbers; deletes its rows (users ``bench-legacy-*``) and stops its
Redis servers. Unknown arguments (``--iterations`` from ``make bench``) are ignored.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

USERS_PREFIX = "bench-legacy-"
SYMBOLS = [("BTC-USDT-SWAP", "BTC/USDT:USDT", "0.01", "45123.4"), ("ETH-USDT-SWAP", "ETH/USDT:USDT", "0.1", "3000.5"),
           ("SOL-USDT-SWAP", "SOL/USDT:USDT", "1", "150.25"), ("XRP-USDT-SWAP", "XRP/USDT:USDT", "100", "0.5123"),
           ("DOGE-USDT-SWAP", "DOGE/USDT:USDT", "1000", "0.1234")]  # fmt: skip
GRID_LEVELS_PER_SYMBOL = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on loopback for the length of the block; yields its URL."""
    port, workdir = free_port(), tempfile.mkdtemp(prefix="bench-legacy-redis-")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", workdir]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def fill_source(client: redis.Redis, positions: int, levels: int) -> None:
    """``positions`` HYPERRSI position hashes (five symbols per user) and ``levels`` GRID levels
    (20 per user, signs alternating), written as the legacy bots write them."""
    pipe = client.pipeline(transaction=False)
    for n in range(positions):
        native, unified, contract_size, entry = SYMBOLS[n % len(SYMBOLS)]
        contracts = 1 + n % 50
        quantity = Decimal(contracts) * Decimal(contract_size)
        pipe.hset(f"user:{USERS_PREFIX}h{n // len(SYMBOLS)}:position:{native}:long", mapping={
            "symbol": unified, "side": "long", "size": f"{contracts}.0", "contracts": f"{contracts}.0",
            "contracts_amount": f"{contracts}.0", "contract_size": contract_size, "position_qty": str(quantity),
            "entry_price": entry, "leverage": "10.0", "unrealized_pnl": "0.0", "liquidation_price": "0.0",
            "margin_mode": "cross", "mark_price": entry, "dca_count": "1", "last_update_time": "1714564800",
        })  # fmt: skip
        if n % 1000 == 999:
            pipe.execute()
    for n in range(levels):
        user, level = f"{USERS_PREFIX}g{n // GRID_LEVELS_PER_SYMBOL}", n % GRID_LEVELS_PER_SYMBOL
        pipe.hset(f"okx:user:{user}:symbol:BTC-USDT-SWAP:active_grid:{level}", mapping={
            "entry_price": f"{44000 + level * 10}.0", "position_size": "2.0", "grid_count": "1" if level % 2 else "-1",
            "pnl": "0.00000000", "execution_time": '"2024-05-01T21:00:00"',
        })  # fmt: skip
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


def clear_rows() -> None:
    """Delete the bench's rows (positions, their events, their ledger rows, stray outbox rows)."""
    from django.db import connection

    with connection.cursor() as cursor:
        pattern = f"{USERS_PREFIX}%"
        cursor.execute("DELETE FROM legacy_records WHERE user_id LIKE %s", [pattern])
        cursor.execute("DELETE FROM projection_outbox WHERE user_id LIKE %s", [pattern])
        cursor.execute(
            "DELETE FROM position_events WHERE position_id IN (SELECT id FROM positions WHERE user_id LIKE %s)",
            [pattern],
        )
        cursor.execute("DELETE FROM positions WHERE user_id LIKE %s", [pattern])


def run_import(source_url: str, batch_size: int, workers: int = 1) -> tuple[float, object]:
    """One import of everything in the source; (seconds, report)."""
    from positions.legacy.importer import ImportOptions, run_import
    from positions.legacy.parallel import run_parallel
    from positions.legacy.report import ImportReport

    report, options = ImportReport(), ImportOptions(batch_size=batch_size, workers=workers)
    started = time.perf_counter()
    if workers > 1:
        run_parallel(source_url, options, report, None, lambda count: None)
    else:
        run_import(redis.Redis.from_url(source_url, decode_responses=True), options, report)
    return time.perf_counter() - started, report


def fresh(source_url: str, target: redis.Redis, positions: int, levels: int) -> None:
    """Empty tables and target; the source holding exactly ``positions`` + ``levels`` keys."""
    source = redis.Redis.from_url(source_url, decode_responses=True)
    source.flushdb(asynchronous=True)  # ASYNC: a big keyspace is freed in the background (no 5 s client timeout)
    target.flushdb(asynchronous=True)
    clear_rows()
    fill_source(source, positions, levels)


def memory(source_url: str, target: redis.Redis, args: argparse.Namespace) -> None:
    """The process's peak RSS after importing a fifth of the keys, then all of them."""
    sizes = [(args.positions // 5, args.levels // 5), (args.positions, args.levels)]
    peaks = []
    for positions, levels in sizes:
        fresh(source_url, target, positions, levels)
        if args.trace_memory:
            tracemalloc.start()
        run_import(source_url, args.batch_size)
        traced = tracemalloc.get_traced_memory()[1] if args.trace_memory else 0
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peaks.append(f"{rss:.0f} MiB" + (f" (Python allocations {traced / 2**20:.1f} MiB)" if traced else ""))
    counts = [f"{positions + levels:,} keys" for positions, levels in sizes]
    print(f"peak resident memory of the importing process: {peaks[0]} after {counts[0]}, {peaks[1]} after {counts[1]}")


def conditions(source: redis.Redis, batch_size: int, workers: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous = cursor.fetchone()[0]
    version = source.info("server")["redis_version"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}"
    print(f"machine: {machine}, load average {' '.join(f'{load:.2f}' for load in os.getloadavg())} at the start")
    print(f"database: PostgreSQL {connection.pg_version} (fsync={fsync}, synchronous_commit={synchronous})")  # type: ignore[attr-defined]
    print(f"redis {version}, two private servers on 127.0.0.1 over TCP (legacy source, unified target)")
    print(f"batch size {batch_size} keys; one transaction (COPY) and one MULTI/EXEC per batch; {workers} workers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=100_000)
    parser.add_argument("--levels", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="above 1: also a run with that many processes")
    parser.add_argument("--trace-memory", action="store_true", help="also trace Python's allocations (slow)")
    args, _ = parser.parse_known_args()
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database (make bench does)")
    with redis_server() as source_url, redis_server() as target_url:
        os.environ["REDIS_URL"] = target_url  # the service's Redis: before Django reads its settings
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        measure(source_url, target_url, args)


def measure(source_url: str, target_url: str, args: argparse.Namespace) -> None:
    source = redis.Redis.from_url(source_url, decode_responses=True)
    target = redis.Redis.from_url(target_url, decode_responses=True)
    conditions(source, args.batch_size, args.workers)
    total = args.positions + args.levels
    try:
        memory(source_url, target, args)
        for workers in sorted({1, args.workers}):
            timed(source_url, target, args, workers, total)
    finally:
        clear_rows()


def timed(source_url: str, target: redis.Redis, args: argparse.Namespace, workers: int, total: int) -> None:
    fresh(source_url, target, args.positions, args.levels)
    source = redis.Redis.from_url(source_url, decode_responses=True)
    before = cpu_seconds(source, target)
    elapsed, _ = run_import(source_url, args.batch_size, workers)
    cpu = cpu_per_key(before, source, target, total)
    print(f"import of {args.positions:,} position keys + {args.levels:,} GRID levels, {workers} worker(s): "
          f"{elapsed:6.1f} s, {total / elapsed:8,.0f} keys/s; {cpu}")  # fmt: skip
    before = cpu_seconds(source, target)
    again, report = run_import(source_url, args.batch_size, workers)
    unchanged, cpu = report.total("unchanged"), cpu_per_key(before, source, target, total)  # type: ignore[attr-defined]
    print(f"  second run, {workers} worker(s) (all {unchanged:,} unchanged, nothing written): {again:6.1f} s, "
          f"{total / again:8,.0f} keys/s; {cpu}")  # fmt: skip


def cpu_seconds(source: redis.Redis, target: redis.Redis) -> tuple[float, float, float]:
    """CPU seconds used so far by this process and its finished workers, and by each Redis server:
    on a busy machine the CPU per key compares runs where the wall time does not."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    importer = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    servers = [client.info("cpu") for client in (source, target)]
    return importer, *(float(info["used_cpu_user"]) + float(info["used_cpu_sys"]) for info in servers)  # type: ignore[return-value]


def cpu_per_key(before: tuple[float, float, float], source: redis.Redis, target: redis.Redis, total: int) -> str:
    importer, read, written = (
        (after - start) / total * 1e6 for after, start in zip(cpu_seconds(source, target), before, strict=True)
    )
    return f"CPU per key: importer {importer:.0f} µs, source Redis {read:.0f} µs, target Redis {written:.0f} µs"


if __name__ == "__main__":
    main()
