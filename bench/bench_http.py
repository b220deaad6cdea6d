"""Benchmark of the REST API over HTTP through the production server, at 1, 8 and 32 clients.

Run with ``make bench`` (throwaway services), or against a migrated PostgreSQL database and a
Redis server::

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_http.py [--clients 1,8,32] [--seconds 8]

Starts the production server (``harness.server``: the Procfile's ``web`` command, or gunicorn with
uvicorn workers) with ``WEB_CONCURRENCY`` workers (default: one per core) and the fill watcher
beside it, as deployed; then, for each number of closed-loop clients (``harness.load``: asyncio +
aiohttp in this process, one keep-alive connection per client), a warm-up and a measured window of:

- position listing: ``GET /api/v1/positions/?user_id=U&exchange=paper&status=open``, one user
  holding ``--positions`` open positions (default 10: five symbols, long and short), answered from
  the Redis projection; every client sends the same bot's key;
- order creation: ``POST /api/v1/orders/`` with a fresh ``Idempotency-Key`` per order, as a careful
  bot sends them; each client is its own bot (its own user and API key). ``--order-type market``
  (default): a market buy that adds to the user's long, then a reduce-only market sell of the same
  size, in turn: every order fills on the paper exchange, moves the position and is projected to
  Redis, and the user's state stays the same size however long the run. ``limit``: a buy limit
  that rests below the mark (lighter per request, but every resting order is then polled by the
  watcher).

Prints p50 / p99 latency, requests per second and errors (any other status than 200 / 201, or a
failed connection), and where the CPU went: seconds of CPU per request of the server (master and
workers), the watcher, PostgreSQL (every process of its server: meaningful when the server is the
benchmark's own, as under ``make bench``), Redis (``INFO cpu``) and the load generator. ``--json
PATH`` writes the rows for the summary of ``make bench``. Deletes its rows and keys at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from harness import cleanup, conditions, load, server  # noqa: E402

from orders import watcher  # noqa: E402
from positions.services import PositionManager  # noqa: E402
from tradingcore.api.keys import create_api_key  # noqa: E402
from tradingcore.exchange.paper import set_mark  # noqa: E402
from tradingcore.models import ApiKey, IdempotencyRecord  # noqa: E402

EXCHANGE = "paper"
# symbol: (one contract in base units, mark)
MARKETS = {
    "ETH-USDT-SWAP": ("0.1", "3000"),
    "BTC-USDT-SWAP": ("0.01", "60000"),
    "SOL-USDT-SWAP": ("1", "150"),
    "LINK-USDT-SWAP": ("1", "15"),
    "LTC-USDT-SWAP": ("1", "80"),
}
ORDER_SYMBOL = "ETH-USDT-SWAP"
LISTING = "GET /api/v1/positions/ (open, Redis)"
CREATION = "POST /api/v1/orders/"


@dataclass
class Run:
    """The users, keys and rows of one benchmark run (removed at the end)."""

    run_id: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    users: list[str] = field(default_factory=list)
    key_names: list[str] = field(default_factory=list)

    def user(self, role: str) -> str:
        user_id = f"{self.run_id}-{role}"
        self.users.append(user_id)
        return user_id

    def key_for(self, user_id: str) -> str:
        name = f"bench-{user_id}"
        self.key_names.append(name)
        return create_api_key(name=name, user_ids=[user_id])[1]

    def clean(self) -> None:
        ids = cleanup.row_ids(self.users)
        cleanup.delete_rows(self.users)
        cleanup.delete_keys(redis.Redis.from_url(str(settings.REDIS_URL)), self.users, ids)
        keys = ApiKey.objects.filter(name__in=self.key_names)
        IdempotencyRecord.objects.filter(owner__in=[f"key:{pk}" for pk in keys.values_list("pk", flat=True)]).delete()
        keys.delete()


# --- CPU of the services ---------------------------------------------------------------------


def postgres_cpu_probe() -> Callable[[], float]:
    """CPU seconds of every process of the PostgreSQL server this process is connected to."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError):
        return lambda: float("nan")  # another machine, or not visible from here
    return lambda: server.tree_cpu_seconds(postmaster)


def redis_cpu_probe() -> Callable[[], float]:
    client = redis.Redis.from_url(str(settings.REDIS_URL))

    def probe() -> float:
        info = client.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    return probe


# --- the two scenarios -------------------------------------------------------------------------


def seed_listing(run: Run, positions: int) -> tuple[str, str]:
    """A user holding ``positions`` open positions, and its bot's key."""
    user_id, manager = run.user("list"), PositionManager(actor="system:bench")
    symbols = list(MARKETS)
    for index in range(positions):
        symbol = symbols[index % len(symbols)]
        side = ("long", "short")[index // len(symbols) % 2]
        grid_level = index // (2 * len(symbols)) if positions > 2 * len(symbols) else None
        manager.open_position(user_id=user_id, exchange=EXCHANGE, symbol=symbol, side=side,
                              size=MARKETS[symbol][0], grid_level=grid_level)  # fmt: skip
    return user_id, run.key_for(user_id)


def listing_requests(user_id: str, key: str) -> load.RequestFactory:
    request = load.Request(
        "GET", f"/api/v1/positions/?user_id={user_id}&exchange={EXCHANGE}&status=open",
        {"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    return lambda client, number: request


def seed_order_bots(run: Run, bots: int, order_type: str) -> list[tuple[str, str]]:
    """One (user, key) per client; for market orders each holds a long that the orders add to and reduce."""
    manager, found = PositionManager(actor="system:bench"), []
    for index in range(bots):
        user_id = run.user(f"bot{index}")
        if order_type == "market":
            manager.open_position(user_id=user_id, exchange=EXCHANGE, symbol=ORDER_SYMBOL, side="long",
                                  size=MARKETS[ORDER_SYMBOL][0])  # fmt: skip
        found.append((user_id, run.key_for(user_id)))
    return found


def order_requests(bots: list[tuple[str, str]], order_type: str, tag: str) -> load.RequestFactory:
    unit, mark = MARKETS[ORDER_SYMBOL]
    resting_price = str(Decimal(mark) / 2)

    def make(client: int, number: int) -> load.Request:
        user_id, key = bots[client]
        body: dict[str, Any] = {"user_id": user_id, "exchange": EXCHANGE, "symbol": ORDER_SYMBOL, "quantity": unit}
        if order_type == "market":
            selling = number % 2 == 1
            body.update(order_type="market", side="sell" if selling else "buy", reduce_only=selling)
        else:
            body.update(order_type="limit", side="buy", price=resting_price)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                   "Idempotency-Key": f"{tag}-{client}-{number}"}  # fmt: skip
        return load.Request("POST", "/api/v1/orders/", headers, json.dumps(body).encode())

    return make


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Row:
    """One scenario at one number of clients."""

    scenario: str
    result: load.LoadResult
    cpu: dict[str, float]  # CPU seconds over the window, by process group

    def cpu_ms_per_request(self, name: str) -> float:
        return self.cpu[name] / self.result.requests * 1000 if self.result.requests else float("nan")

    def as_dict(self) -> dict[str, Any]:
        result = self.result
        return {
            "scenario": self.scenario, "clients": result.clients, "p50": result.p50, "p99": result.p99,
            "per_second": result.per_second, "requests": result.requests, "errors": result.errors,
            "statuses": {str(status): count for status, count in sorted(result.statuses.items())},
            "cpu_seconds": self.cpu, "seconds": result.seconds,
            "cpu_ms_per_request": {name: self.cpu_ms_per_request(name) for name in self.cpu},
        }  # fmt: skip


PROCESS_GROUPS = ("server", "watcher", "postgres", "redis", "generator")


def measure(
    scenario: str, make: load.RequestFactory, clients: int, args: argparse.Namespace, probes: dict[str, load.Probe]
) -> Row:
    expected = 201 if scenario == CREATION else 200
    result = load.run(
        args.base_url, make, clients=clients, warmup=args.warmup, seconds=args.seconds, expected=expected,
        probes=probes,
    )  # fmt: skip
    cpu = {**result.probed, "generator": result.generator_cpu}
    row = Row(scenario, result, cpu)
    print_row(row)
    return row


def print_header() -> None:
    cpu = " ".join(f"{name[:9]:>9}" for name in PROCESS_GROUPS)
    print(
        f"{'request':<38} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7}   CPU ms/request: {cpu}"
    )


def print_row(row: Row) -> None:
    result = row.result
    cpu = " ".join(f"{row.cpu_ms_per_request(name):9.2f}" for name in PROCESS_GROUPS)
    print(
        f"{row.scenario:<38} {result.clients:>7} {result.p50:8.1f} {result.p99:8.1f} {result.per_second:8.0f} "
        f"{result.errors:>7}   {'':15} {cpu}"
    )
    for sample in result.samples[:3]:
        print(f"    error: {sample}")


# --- main --------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,32", help="numbers of concurrent clients (default 1,8,32)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per row (default 8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per row (default 2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="WEB_CONCURRENCY (default: cores)")
    parser.add_argument("--positions", type=int, default=10, help="open positions of the listing user (default 10)")
    parser.add_argument("--order-type", choices=("market", "limit"), default="market")
    parser.add_argument("--only", choices=("listing", "orders"), help="one scenario only")
    parser.add_argument("--json", type=Path, help="also write the rows to this file (for the summary)")
    args, _ = parser.parse_known_args()  # make bench passes every bench the same arguments
    args.levels = [int(level) for level in args.clients.split(",") if level.strip()]
    if not args.levels or min(args.levels) < 1 or args.seconds <= 0 or args.workers < 1 or args.positions < 0:
        parser.error("clients, seconds and workers must be positive")
    return args


def main() -> None:
    args = parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench_http needs PostgreSQL: set DATABASE_URL (and REDIS_URL), or run make bench")
    run, rows = Run(), []
    log_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    processes = server.Processes(root=ROOT, port=server.free_port(), workers=args.workers, log_dir=log_dir)
    facts = conditions.collect(code_root=ROOT, label=None, iterations=0, counted=0)
    del facts["n"]  # the windows are printed instead
    try:
        for symbol, (_, mark) in MARKETS.items():
            set_mark(EXCHANGE, symbol, Decimal(mark))
        list_user, list_key = seed_listing(run, args.positions)
        bots = seed_order_bots(run, max(args.levels), args.order_type)
        watcher.run_pass(refresh_marks=False)
        processes.start()
        args.base_url = processes.base_url
        print_conditions(facts, processes, args)
        probes = {
            "server": processes.server_cpu, "watcher": processes.watcher_cpu,
            "postgres": postgres_cpu_probe(), "redis": redis_cpu_probe(),
        }  # fmt: skip
        print_header()
        if args.only != "orders":
            for clients in args.levels:
                rows.append(measure(LISTING, listing_requests(list_user, list_key), clients, args, probes))
        if args.only != "listing":
            for clients in args.levels:
                make = order_requests(bots, args.order_type, f"{run.run_id}-{clients}")
                rows.append(measure(CREATION, make, clients, args, probes))
    finally:
        processes.stop()
        run.clean()
    print(f"  server logs: {log_dir}")
    if args.json:
        document = {"conditions": facts, "server": processes.describe(), "rows": [row.as_dict() for row in rows]}
        args.json.write_text(json.dumps(document, indent=2))


def print_conditions(facts: dict[str, str], processes: server.Processes, args: argparse.Namespace) -> None:
    print("REST API over HTTP through the production server")
    conditions.print_conditions({
        **facts,
        "server": processes.describe(),
        "load generator": f"{load.loop_name()} + aiohttp {load.aiohttp.__version__}, in this process; closed loop, "
        f"one keep-alive connection per client; {args.warmup:g} s warm-up + {args.seconds:g} s measured per row",
        "listing": f"one user holding {args.positions} open positions, every client with its key",
        "order creation": f"{args.order_type} orders ({ORDER_SYMBOL}), one user and key per client, "
        "a new Idempotency-Key per order",
    })  # fmt: skip


if __name__ == "__main__":
    main()
