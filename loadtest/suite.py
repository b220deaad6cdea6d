"""One run of the load and fault suite: start the processes, run the bots while the faults
happen, drain, check.

The database must exist and be migrated; this process's Django settings must point at it (the
checks read it with the ORM). Everything else the run starts itself, on loopback: a redis-server
of its own (so it can restart it), ``plan.api_servers`` API servers of ``plan.workers`` workers
each, ``plan.watchers`` fill watchers (``manage.py watch_orders``), the bots and the market.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from django.conf import settings

from loadtest import checks
from loadtest.bots import EXCHANGE, INSTRUMENTS, Bot, Http, Market
from loadtest.journal import Journal
from loadtest.processes import (
    PYTHON,
    ROOT,
    Process,
    api_server_command,
    api_server_env,
    free_port,
    production_env,
    redis_server,
    wait_for_port,
    watcher_command,
)

REDIS_RESTART = "redis_restart"
WATCHER_KILL = "watcher_kill"
API_WORKER_KILL = "api_worker_kill"
FAULT_KINDS = (REDIS_RESTART, WATCHER_KILL, API_WORKER_KILL)


@dataclass(frozen=True)
class Fault:
    """A fault injected at ``at`` (a fraction of the load window)."""

    at: float
    kind: str


ALL_FAULTS = (Fault(0.25, REDIS_RESTART), Fault(0.45, WATCHER_KILL), Fault(0.65, API_WORKER_KILL))


@dataclass(frozen=True)
class Plan:
    """What a run does. The defaults are the full suite (``make loadtest``)."""

    seconds: float = 60.0
    bots: int = 50
    api_servers: int = 2
    workers: int = 2
    watchers: int = 2
    faults: tuple[Fault, ...] = ALL_FAULTS
    seed: int = 13
    think: tuple[float, float] = (0.4, 1.2)  # seconds a bot waits between two actions
    redis_downtime: float = 3.0
    watcher_downtime: float = 2.0
    settle_seconds: float = 90.0  # at most this long for the watchers to catch up after the load
    answer_seconds: float = 60.0  # a bot retries an unanswered request this long after the load


@dataclass
class Result:
    """Everything a report needs."""

    plan: Plan
    journal: Journal
    timeline: list[str] = field(default_factory=list)
    checks: list[checks.Check] = field(default_factory=list)
    watcher_changes: dict[str, int] = field(default_factory=dict)
    settled_after: float | None = None
    drained_after_stop: str = ""
    seconds_total: float = 0.0
    work_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(item.ok for item in self.checks)


def database_url() -> str:
    """The URL of this process's database, for the processes the run starts."""
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Suite:
    """One run; ``run()`` returns its ``Result``. Stops every process it started, whatever happens."""

    def __init__(self, plan: Plan, work_dir: Path, *, echo: Callable[[str], None] = lambda line: None) -> None:
        self.plan = plan
        self.work_dir = work_dir
        self.echo = echo
        self.run_id = uuid.uuid4().hex[:6]
        self.users = [f"lt{self.run_id}-{index:02d}" for index in range(plan.bots)]
        self.rng = random.Random(plan.seed)
        self.journal = Journal()
        self.result = Result(plan, self.journal, work_dir=work_dir)
        self.started = time.monotonic()
        redis_port = free_port()
        self.env = {
            **production_env(dict(os.environ)),
            "DATABASE_URL": database_url(),
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "TRADING_DRY_RUN": "true",
            "TRADING_VAR_DIR": str(work_dir / "var"),
        }
        self.redis_port = redis_port
        self.redis = redis_server(redis_port, work_dir / "redis.log", self.env)
        self.ports = [free_port() for _ in range(plan.api_servers)]
        self.servers = [
            Process(f"api-{n + 1}", api_server_command(),
                    {**self.env, **api_server_env(port=port, workers=plan.workers)}, work_dir / f"api-{n + 1}.log")
            for n, port in enumerate(self.ports)
        ]  # fmt: skip
        self.watchers = [
            Process(f"watcher-{n + 1}", watcher_command(), self.env, work_dir / f"watcher-{n + 1}.log")
            for n in range(plan.watchers)
        ]

    # -- the run -----------------------------------------------------------------------------------

    def run(self) -> Result:
        try:
            self.start()
            keys, admin_key = self.prepare()
            self.note(f"load: {self.plan.bots} bots for {self.plan.seconds:g} s on {len(self.servers)} API servers")
            asyncio.run(self.load(keys, admin_key))
            self.journal.dump(self.work_dir / "journal.jsonl")
            self.settle()
            self.stop_processes()
            self.final_drain()
            self.result.checks = self.check()
        finally:
            self.stop_processes()
            self.redis.stop()
            self.result.seconds_total = time.monotonic() - self.started
        return self.result

    def note(self, text: str) -> None:
        line = f"t={time.monotonic() - self.started:6.1f}s  {text}"
        self.result.timeline.append(line)
        self.echo(line)

    def start(self) -> None:
        self.redis.start()
        wait_for_port(self.redis_port, 30, self.redis)
        for process in [*self.servers, *self.watchers]:
            process.start()
        for server, port in zip(self.servers, self.ports, strict=True):
            wait_for_port(port, 120, server)
            _wait_for_http(f"http://127.0.0.1:{port}/healthz", 120, server)
        workers = ", ".join(f"{server.name} pid {server.pid} workers {server.children()}" for server in self.servers)
        self.note(f"started redis :{self.redis_port}; {workers}; {len(self.watchers)} watchers")

    def prepare(self) -> tuple[list[str], str]:
        """An API key per bot (acting for its user), one for the market, and the start marks."""
        from tradingcore.api.keys import create_api_key
        from tradingcore.exchange import paper

        keys = [create_api_key(name=f"load {user}", user_ids=[user])[1] for user in self.users]
        _, admin_key = create_api_key(name=f"load {self.run_id} market", all_users=True)
        for instrument in INSTRUMENTS:
            paper.set_mark(EXCHANGE, instrument.symbol, instrument.start)
        return keys, admin_key

    async def load(self, keys: list[str], admin_key: str) -> None:
        stop = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as session:
            http = Http([f"http://127.0.0.1:{port}" for port in self.ports], self.journal, session)
            market = Market(http, admin_key, random.Random(self.rng.random()))
            bots = [
                Bot(index, user, key, http, market, random.Random(self.rng.random()),
                    tuple(self.rng.sample(INSTRUMENTS, self.rng.randint(1, len(INSTRUMENTS)))), think=self.plan.think)
                for index, (user, key) in enumerate(zip(self.users, keys, strict=True))
            ]  # fmt: skip
            self.journal.load_started = time.monotonic()
            tasks = [asyncio.create_task(bot.run(stop)) for bot in bots]
            market_task = asyncio.create_task(market.run(stop))
            faults = asyncio.create_task(self.inject_faults())
            await asyncio.sleep(self.plan.seconds)
            stop.set()
            self.journal.load_stopped = time.monotonic()
            http.give_up_at = time.monotonic() + self.plan.answer_seconds
            self.note("load stopped; bots finish the requests they started")
            await faults
            await asyncio.gather(market_task, *tasks)
            self.note(f"bots done: {len(self.journal.calls)} requests, market moved {market.moves} times")

    async def inject_faults(self) -> None:
        for fault in sorted(self.plan.faults, key=lambda item: item.at):
            wait = self.journal.load_started + fault.at * self.plan.seconds - time.monotonic()
            await asyncio.sleep(max(0.0, wait))
            await {
                REDIS_RESTART: self.restart_redis,
                WATCHER_KILL: self.kill_watcher,
                API_WORKER_KILL: self.kill_api_worker,
            }[fault.kind]()

    async def restart_redis(self) -> None:
        await asyncio.to_thread(self.redis.stop)
        self.note(
            f"fault: redis stopped (SIGTERM, no persistence: it comes back empty), down {self.plan.redis_downtime:g} s"
        )
        await asyncio.sleep(self.plan.redis_downtime)
        self.redis.start()
        await asyncio.to_thread(wait_for_port, self.redis_port, 30, self.redis)
        self.note("fault: redis started again, empty")

    async def kill_watcher(self) -> None:
        watcher = self.watchers[0]
        pid = watcher.pid
        await asyncio.to_thread(watcher.kill)
        self.note(f"fault: {watcher.name} (pid {pid}) killed with SIGKILL, down {self.plan.watcher_downtime:g} s")
        await asyncio.sleep(self.plan.watcher_downtime)
        watcher.start()
        self.note(f"fault: {watcher.name} restarted (pid {watcher.pid})")

    async def kill_api_worker(self) -> None:
        server = self.servers[0]
        workers = server.children()
        if not workers:
            self.note(f"fault: {server.name} has no worker to kill")
            return
        victim = self.rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        self.note(f"fault: {server.name} worker pid {victim} killed with SIGKILL")
        while time.monotonic() - killed < 60:
            now = server.children()
            if victim not in now and len(now) >= self.plan.workers:
                self.note(
                    f"fault: {server.name}'s master replaced it (workers {now}) in {time.monotonic() - killed:.1f} s"
                )
                return
            await asyncio.sleep(0.2)
        self.note(f"fault: {server.name}'s master did not replace worker {victim} within 60 s")

    # -- after the load --------------------------------------------------------------------------------

    def settle(self) -> None:
        """Wait until the watchers have caught up: nothing pending, every order as the paper
        exchange has it, every paper fill booked, the outbox empty."""
        deadline = time.monotonic() + self.plan.settle_seconds
        began = time.monotonic()
        state = ""
        while time.monotonic() < deadline:
            done, state = _caught_up(self.users)
            if done:
                self.result.settled_after = time.monotonic() - began
                self.note(f"watchers caught up in {self.result.settled_after:.1f} s")
                return
            time.sleep(1.0)
        self.note(f"watchers did not catch up within {self.plan.settle_seconds:g} s: {state}")

    def stop_processes(self) -> None:
        for process in [*self.servers, *self.watchers]:
            process.stop()
        self.result.watcher_changes = {watcher.name: _orders_changed(watcher.log) for watcher in self.watchers}

    def final_drain(self) -> None:
        result = self.manage(["drain_outbox"])
        output = (result.stdout + result.stderr).strip().splitlines()
        self.result.drained_after_stop = output[-1] if output else f"exit status {result.returncode}"
        self.note(f"drain_outbox after the watchers stopped: {self.result.drained_after_stop}")

    def manage(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip

    def check(self) -> list[checks.Check]:
        owners = checks.owners_of(self.users)
        return [
            checks.no_undocumented_5xx(self.journal),
            checks.every_call_answered(self.journal),
            checks.no_lost_order(self.journal, owners),
            checks.no_duplicate_order(self.users),
            checks.no_order_processed_twice(self.users),
            checks.no_live_order_unresolved(self.users),
            checks.positions_replay_their_fills(self.users),
            checks.paper_agrees(self.users),
            checks.verify_redis(self.manage),
            checks.outbox_empty(),
        ]


def _wait_for_http(url: str, seconds: float, process: Process) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited while starting:\n{process.tail()}")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except urllib.error.HTTPError:
            return  # it answers (503 while Redis or the outbox is unwell is still an answer)
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{process.name} did not answer {url} within {seconds}s:\n{process.tail()}")


def _caught_up(users: list[str]) -> tuple[bool, str]:
    from orders.models import Order, OrderFill
    from tradingcore.models import OutboxEntry, PaperFill, PaperOrder

    pending = Order.objects.filter(user_id__in=users, status="pending").count()
    paper = {
        (row["exchange"], row["client_order_id"]): (row["status"], row["filled_qty"])
        for row in PaperOrder.objects.filter(user_id__in=users).values(
            "exchange", "client_order_id", "status", "filled_qty"
        )
    }
    behind = sum(
        1
        for row in Order.objects.filter(user_id__in=users)
        .exclude(exchange_order_id=None)
        .values("exchange", "client_order_id", "status", "filled_qty")
        if paper.get((row["exchange"], row["client_order_id"])) != (row["status"], row["filled_qty"])
    )
    unbooked = (
        PaperFill.objects.filter(order__user_id__in=users).count()
        - OrderFill.objects.filter(order__user_id__in=users).count()
    )
    outbox = OutboxEntry.objects.count()
    state = f"{pending} pending, {behind} orders behind the exchange, {unbooked} fills unbooked, {outbox} outbox rows"
    return pending == behind == unbooked == outbox == 0, state


# A pass that changed something logs its counts: ``"orders_changed": 3`` in JSON lines (production
# mode), ``orders_changed=3`` in console lines.
_CHANGED = re.compile(r'\borders_changed"?\s*[=:]\s*(\d+)')


def _orders_changed(log: Path) -> int:
    """How many order changes a watcher reported over its lives (its log lines)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0
    return sum(int(found) for found in _CHANGED.findall(text))
