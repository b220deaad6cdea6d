"""Benchmark of the managers end to end on the paper exchange: latency and what each call costs.

Run with ``make bench`` (throwaway services, today's tree and the baseline commit in one run), or
against a migrated database and a Redis server::

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_managers.py [--iterations 100]

``BENCH_CODE_ROOT`` (default: this file's repository) is the tree whose code is measured; it goes
first on ``sys.path``, so the same script measures an older commit's code unchanged. Only the
public manager API is called (``PositionManager`` / ``OrderManager`` and their ``a``-twins),
plus the paper exchange's ``set_mark`` to price the markets and, guarded, the projector's
``project_position`` / ``project_order``; anything an older tree lacks is skipped with a note.

Sections, each printed with p50 / p99 in milliseconds and, per call, SQL statements, transaction
control, PostgreSQL round trips and connects, Redis round trips, commands and MULTI/EXEC blocks
(``harness.counting``; counted in a separate untimed pass):

- floors: one PostgreSQL and one Redis round trip;
- calls: ``open_position`` (market, new / add), ``close_position`` (partial / full),
  ``create_order`` (limit, rests) + ``cancel_order``;
- reads: ``get_positions`` of one position (user, exchange, symbol, side), then ``get_positions``
  and ``aget_positions`` (user, exchange, symbol; a long and a short) against the anchor, the seeds'
  Redis read (``harness.anchor``) of the same two positions;
- projection (if the tree has it): ``project_position`` / ``project_order``;
- scale: ``open_position`` + ``close_position`` and ``get_positions`` (user, exchange) while the
  user already holds 10, 100, 1,000 open positions and as many resting limit orders. Holdings are
  seeded through the same API, so code whose cost grows with them takes minutes to reach 1,000:
  a level whose seeding is forecast past ``--scale-budget`` seconds is skipped with a note.

Needs PostgreSQL (the counts read psycopg's libpq trace) and a Redis server (``REDIS_URL``).
``--json PATH`` writes the rows for ``bench/compare.py``. Deletes its rows and keys at the end.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CODE_ROOT = Path(os.environ.get("BENCH_CODE_ROOT") or BENCH_DIR.parent).resolve()
sys.path.insert(0, str(CODE_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from harness import counting  # noqa: E402

counting.install()  # before the first database connection

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from harness import anchor, cleanup, conditions, report  # noqa: E402
from harness.report import Row  # noqa: E402
from harness.timing import Case, Plan, run_case  # noqa: E402

from orders.services import OrderManager  # noqa: E402
from positions.services import PositionManager  # noqa: E402

if not Path(sys.modules[PositionManager.__module__].__file__ or "").resolve().is_relative_to(CODE_ROOT):
    sys.exit(f"positions.services was not imported from {CODE_ROOT}: check sys.path / PYTHONPATH")
if connection.vendor != "postgresql":
    sys.exit("bench_managers needs PostgreSQL: set DATABASE_URL (and REDIS_URL), or run make bench")

EXCHANGE = "paper"
SYMBOL = "ETH-USDT-SWAP"
ANCHOR_EXCHANGE = "okx"  # the seed's model knows no "paper"
# symbol: (one contract in base units, mark, price of a buy limit that rests)
MARKETS = {
    "ETH-USDT-SWAP": ("0.1", "3000", "2000"),
    "BTC-USDT-SWAP": ("0.01", "60000", "40000"),
    "SOL-USDT-SWAP": ("1", "150", "100"),
    "LINK-USDT-SWAP": ("1", "15", "10"),
    "LTC-USDT-SWAP": ("1", "80", "50"),
}
SCALE_SYMBOLS = tuple(MARKETS)
MAX_SCALE = len(SCALE_SYMBOLS) * 2 * 101  # distinct (symbol, side, grid level 0..100) keys
UNIT = MARKETS[SYMBOL][0]


@dataclass
class Bench:
    """What every section shares: the managers, the run's users, the plans and the rows so far."""

    plan: Plan
    scale_plan: Plan
    run_id: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")
    positions: Any = field(default_factory=PositionManager)
    orders: Any = field(default_factory=OrderManager)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)

    @property
    def redis_url(self) -> str:
        return str(settings.REDIS_URL)

    def user(self, role: str) -> str:
        user_id = f"{self.run_id}-{role}"
        if user_id not in self.users:
            self.users.append(user_id)
        return user_id

    def measure(self, section: str, case: Case, plan: Plan | None = None) -> Row:
        stats, counts = run_case(case, plan or self.plan)
        row = Row(section=section, label=case.label, stats=stats, counts=counts)
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}")


def market(user_id: str, symbol: str = SYMBOL) -> dict[str, str]:
    return {"user_id": user_id, "exchange": EXCHANGE, "symbol": symbol}


def price_markets(bench: Bench) -> None:
    set_mark = getattr(importlib.import_module("tradingcore.exchange.paper"), "set_mark", None)
    if set_mark is None:
        bench.note("this tree's paper exchange has no set_mark: markets keep whatever marks they have")
        return
    for symbol, (_, mark, _) in MARKETS.items():
        set_mark(EXCHANGE, symbol, Decimal(mark))


# --- floors ----------------------------------------------------------------------------------


def floors(bench: Bench) -> None:
    client = anchor.sync_client(bench.redis_url)

    def select_one(_: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    rows = [
        bench.measure("floors", Case("PostgreSQL round trip (SELECT 1)", select_one)),
        bench.measure("floors", Case("Redis round trip (PING)", lambda _: client.ping())),
    ]
    report.print_table("Floors: one round trip", rows)


# --- the calls -------------------------------------------------------------------------------


def call_cases(bench: Bench, user_id: str) -> list[Case]:
    positions, orders, where = bench.positions, bench.orders, market(user_id)

    def open_long(_: int) -> Any:
        return positions.open_position(**where, side="long", size=UNIT)

    def close_long(_: int) -> Any:
        return positions.close_position(**where, side="long")

    def limit_then_cancel(_: int) -> None:
        order = orders.create_order(**where, side="buy", order_type="limit", quantity=UNIT, price=MARKETS[SYMBOL][2])
        orders.cancel_order(order.id)

    def add_short(_: int) -> Any:
        return positions.open_position(**where, side="short", size=UNIT)

    def close_part_of_short(_: int) -> Any:
        return positions.close_position(**where, side="short", size=UNIT)

    return [
        Case("open_position (market, new position)", open_long, teardown=close_long),
        Case("open_position (market, add to open)", add_short),
        Case("close_position (partial, market)", close_part_of_short),
        Case("close_position (full, market)", close_long, setup=open_long),
        Case("create_order (limit, rests) + cancel_order", limit_then_cancel),
    ]


def calls(bench: Bench) -> None:
    user_id = bench.user("calls")
    cases = call_cases(bench, user_id)
    # The short position that "add" grows and "partial" shrinks: never closed in full.
    bench.positions.open_position(**market(user_id), side="short", size=UNIT)
    rows = [bench.measure("calls", case) for case in cases[:2]]
    bench.positions.open_position(**market(user_id), side="short", size=Decimal(UNIT) * bench.plan.calls)
    rows += [bench.measure("calls", case) for case in cases[2:]]
    report.print_table("Calls (paper exchange; the user holds at most a long and a short)", rows)


# --- reads against the anchor ----------------------------------------------------------------


def anchor_twin(user_id: str, side: str) -> anchor.AnchorPosition:
    now = datetime.now(UTC)
    unit, mark, _ = MARKETS[SYMBOL]
    return anchor.AnchorPosition(
        user_id=user_id, exchange=ANCHOR_EXCHANGE, symbol=SYMBOL, side=side, size=Decimal(unit),
        entry_price=Decimal(mark), current_price=Decimal(mark), created_at=now, updated_at=now,
    )  # fmt: skip


READS = {
    "ours one": "ours: get_positions, one position (symbol and side)",
    "ours sync": "ours: get_positions (sync)",
    "ours async": "ours: aget_positions (async)",
    "anchor sync": "anchor: get_positions (sync)",
    "anchor async": "anchor: get_positions (async)",
}


def read_cases(bench: Bench, ours_user: str, anchor_user: str) -> list[Case]:
    positions = bench.positions
    ours, theirs = market(ours_user), {**market(anchor_user), "exchange": ANCHOR_EXCHANGE}
    client, reader = anchor.sync_client(bench.redis_url), anchor.AsyncReader(bench.redis_url)
    cases = [
        Case(READS["ours one"], lambda _: positions.get_positions(**ours, side="long")),
        Case(READS["ours sync"], lambda _: positions.get_positions(**ours)),
    ]
    if hasattr(positions, "aget_positions"):
        cases.append(Case(READS["ours async"], lambda _: positions.aget_positions(**ours), is_async=True))
    else:
        bench.note("this tree has no aget_positions: the async read is not measured")
    cases.append(Case(READS["anchor sync"], lambda _: anchor.read_positions(client, **theirs)))
    cases.append(Case(READS["anchor async"], lambda _: reader.read_positions(**theirs), is_async=True))
    return cases


def check_reads(bench: Bench, ours_user: str, anchor_user: str) -> None:
    """Both reads must find the same two positions, or the race means nothing."""
    ours = bench.positions.get_positions(**market(ours_user))
    client = anchor.sync_client(bench.redis_url)
    theirs = anchor.read_positions(client, **{**market(anchor_user), "exchange": ANCHOR_EXCHANGE})
    if len(ours) != 2 or len(theirs) != 2:
        bench.note(f"read check: ours found {len(ours)} positions, the anchor {len(theirs)}; 2 expected")


def print_ratios(rows: list[Row]) -> None:
    by_label = {row.label: row for row in rows}
    for mode in ("sync", "async"):
        ours, theirs = by_label.get(READS[f"ours {mode}"]), by_label.get(READS[f"anchor {mode}"])
        if ours and theirs:
            print(
                f"  ours / anchor, {mode:<6} p50 {ours.stats.p50 / theirs.stats.p50:6.2f}x   "
                f"p99 {ours.stats.p99 / theirs.stats.p99:6.2f}x   (below 1: ours is faster)"
            )


def watcher_pass() -> None:
    """One pass of the fill watcher, as a deployment runs it beside the service: it drains the
    outbox and (in trees that have it) confirms the Redis projection current, which the fast read
    path requires."""
    from orders import watcher

    watcher.run_pass(refresh_marks=False)


def reads(bench: Bench) -> None:
    ours_user, anchor_user = bench.user("read"), bench.user("anchor")
    for side in ("long", "short"):
        bench.positions.open_position(**market(ours_user), side=side, size=UNIT)
    watcher_pass()  # first: a rebuild would remove the anchor's keys, which have no row behind them
    for side in ("long", "short"):
        anchor.write_position(anchor.sync_client(bench.redis_url), anchor_twin(anchor_user, side))
    check_reads(bench, ours_user, anchor_user)
    rows = [bench.measure("reads", case) for case in read_cases(bench, ours_user, anchor_user)]
    report.print_table("Reads: one symbol, a long and a short open (ours vs the seeds' Redis read)", rows)
    print_ratios(rows)


# --- projection (while the tree has a projector) ---------------------------------------------


def projector_functions(bench: Bench) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    try:
        projector = importlib.import_module("tradingcore.redis.projector")
    except ImportError:
        projector = None
    found = tuple(getattr(projector, name, None) for name in ("project_position", "project_order"))
    if None in found:
        bench.note("this tree has no tradingcore.redis.projector.project_position/project_order: skipped")
        return None
    return found  # type: ignore[return-value]


def projection(bench: Bench) -> None:
    functions = projector_functions(bench)
    if functions is None:
        return
    project_position, project_order = functions
    user_id = bench.user("projection")
    unit, mark, rest = MARKETS[SYMBOL]
    plain = bench.positions.open_position(**market(user_id), side="long", size=unit, take_profit_price=int(mark) * 2)
    grid = bench.positions.open_position(**market(user_id), side="long", size=unit, grid_level=5)
    order = bench.orders.create_order(**market(user_id), side="buy", order_type="limit", quantity=unit, price=rest)
    cases = [
        Case("project_position (plain, with take-profit)", lambda _: project_position(plain.id)),
        Case("project_position (grid level)", lambda _: project_position(grid.id)),
        Case("project_order (resting limit)", lambda _: project_order(order.id)),
    ]
    try:
        for case in cases:
            case.action(0)  # the signatures may have changed with the projector
    except TypeError as error:
        bench.note(f"projection skipped: the projector's functions take other arguments now ({error})")
        return
    report.print_table("Projection: one object to every Redis layout", [bench.measure("projection", c) for c in cases])


# --- scale: cost per change against what the user already holds ------------------------------


def scale_key(index: int) -> dict[str, Any]:
    symbol = SCALE_SYMBOLS[index % len(SCALE_SYMBOLS)]
    side = ("long", "short")[index // len(SCALE_SYMBOLS) % 2]
    return {"symbol": symbol, "side": side, "grid_level": index // (2 * len(SCALE_SYMBOLS))}


def seed_holdings(bench: Bench, user_id: str, start: int, stop: int) -> None:
    """Open positions ``start..stop-1`` (each its own key) and as many resting buy limits."""
    for index in range(start, stop):
        key = scale_key(index)
        unit, _, rest = MARKETS[key["symbol"]]
        bench.positions.open_position(user_id=user_id, exchange=EXCHANGE, size=unit, **key)
        bench.orders.create_order(
            **market(user_id, key["symbol"]), side="buy", order_type="limit", quantity=unit, price=rest
        )


def scale_cases(bench: Bench, user_id: str, held: int) -> list[Case]:
    positions, where = bench.positions, market(user_id)

    def open_then_close(_: int) -> None:
        positions.open_position(**where, side="long", size=UNIT)  # no grid level: not a seeded key
        positions.close_position(**where, side="long")

    return [
        Case(f"open_position + close_position (full), {held:,} held", open_then_close),
        Case(f"get_positions (user, exchange), {held:,} open", lambda _: positions.get_positions(**where)),
    ]


@dataclass
class SeedClock:
    """Seeding time so far and a forecast for the next level, to keep a run within its budget.

    Seeding goes through the public API, so it costs what the code under test makes it cost; in
    code whose cost per change grows with the holdings, 1,000 positions can take many minutes.
    The forecast fits ``a + b * held`` seconds per position to the last two levels seeded.
    """

    budget: float  # seconds for all seeding of the run; 0 means no limit
    spent: float = 0.0
    rates: list[tuple[float, float]] = field(default_factory=list)  # (mean holdings, seconds per position)

    def record(self, start: int, stop: int, seconds: float) -> None:
        self.spent += seconds
        if stop > start:
            self.rates.append(((start + stop) / 2, seconds / (stop - start)))

    def forecast(self, start: int, stop: int) -> float:
        if not self.rates:
            return 0.0
        (held_a, rate_a), (held_b, rate_b) = self.rates[-2:] if len(self.rates) > 1 else self.rates * 2
        slope = (rate_b - rate_a) / (held_b - held_a) if held_b != held_a else 0.0
        return (stop - start) * max(rate_b + slope * ((start + stop) / 2 - held_b), rate_b)

    def allows(self, start: int, stop: int) -> bool:
        return not self.budget or self.spent + self.forecast(start, stop) <= self.budget


def seed_level(bench: Bench, clock: SeedClock, user_id: str, held: int, level: int) -> bool:
    """Seed up to ``level`` holdings if the budget allows it; False (with a note) when it does not."""
    if not clock.allows(held, level):
        bench.note(
            f"scale {level:,} skipped: seeding {level - held} more positions would take about "
            f"{clock.forecast(held, level):.0f} s at the rate measured so far, past the {clock.budget:.0f} s "
            f"budget (--scale-budget 0 lifts it)"
        )
        return False
    started = time.monotonic()
    seed_holdings(bench, user_id, held, level)
    seconds = time.monotonic() - started
    clock.record(held, level, seconds)
    print(f"  seeded {level - held} positions and {level - held} resting limits in {seconds:.1f} s")
    return True


def scale(bench: Bench, levels: list[int], budget: float) -> None:
    user_id, held, rows, clock = bench.user("scale"), 0, [], SeedClock(budget)
    for level in levels:
        if level > held and not seed_level(bench, clock, user_id, held, level):
            break
        held = level
        watcher_pass()
        rows += [bench.measure(f"scale {level}", case, bench.scale_plan) for case in scale_cases(bench, user_id, held)]
    if rows:
        plan = bench.scale_plan
        title = (
            f"Scale: one user holding N open positions and N resting limit orders ({len(SCALE_SYMBOLS)} symbols); "
            f"n = {plan.iterations}, counts over {plan.counted} calls"
        )
        report.print_table(title, rows)


# --- main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100, help="timed calls per row (default 100)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls before each row (default 5)")
    parser.add_argument("--count", type=int, default=10, help="calls in the counting pass of each row (default 10)")
    parser.add_argument("--scale", default="10,100,1000", help="open positions held in the scale section")
    parser.add_argument("--scale-iterations", type=int, default=20, help="timed calls per scale row (default 20)")
    parser.add_argument(
        "--scale-budget", type=float, default=60, help="seconds of seeding per run, 0 = no limit (default 60)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file (for bench/compare.py)")
    parser.add_argument("--label", default=os.environ.get("BENCH_LABEL"), help="name of the measured tree")
    args, _ = parser.parse_known_args()  # make bench passes every bench the same arguments
    args.levels = sorted({int(level) for level in args.scale.split(",") if level.strip()})
    counts = (args.iterations, args.count, args.scale_iterations, args.warmup + 1)
    if min(counts) < 1 or not args.levels or min(args.levels) < 0 or max(args.levels) > MAX_SCALE:
        parser.error(f"iterations and counts must be positive, scale levels 0..{MAX_SCALE}")
    return args


def make_bench(args: argparse.Namespace) -> Bench:
    return Bench(
        plan=Plan(iterations=args.iterations, warmup=args.warmup, counted=args.count),
        scale_plan=Plan(iterations=args.scale_iterations, warmup=min(args.warmup, 3), counted=min(args.count, 5)),
    )


def main() -> None:
    args = parse_args()
    bench = make_bench(args)
    facts = conditions.collect(code_root=CODE_ROOT, label=args.label, iterations=args.iterations, counted=args.count)
    print("Managers end to end on the paper exchange")
    conditions.print_conditions(facts)
    print(f"  {report.LEGEND}")
    price_markets(bench)
    try:
        for section in (floors, calls, reads, projection):
            section(bench)
        scale(bench, args.levels, args.scale_budget)
    finally:
        ids = cleanup.row_ids(bench.users)
        cleanup.delete_rows(bench.users)
        cleanup.delete_keys(anchor.sync_client(bench.redis_url), bench.users, ids)
    if args.json:
        report.write_json(args.json, conditions=facts, rows=bench.rows, notes=bench.notes)


if __name__ == "__main__":
    main()
