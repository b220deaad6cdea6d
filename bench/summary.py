"""The one table at the end of ``make bench``: every benchmark's headline figures side by side.

    .venv/bin/python bench/summary.py --managers M.json --http H.json --legacy L.log

Reads what the benchmarks of the run wrote (``bench_managers.py --json``, ``bench_http.py --json``
and the output of ``bench_legacy_import.py``) and prints, one row each: p50 and p99 latency,
throughput, errors and, for HTTP, the CPU each request cost the whole machine (server, watcher,
PostgreSQL, Redis and the load generator: what bounds throughput on a small machine), with the
targets of issue 13 checked. A missing input is named, never fatal: the rest is still printed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

# (section of bench_managers, label prefix) -> what the summary calls it
MANAGER_ROWS = (
    ("managers", "calls", "open_position (market, new position)", "open_position, market, new position"),
    ("managers", "calls", "close_position (full, market)", "close_position, full, market"),
    ("reads", "reads", "ours: get_positions, one position", "get_positions, one position (projection)"),
    ("reads", "scale 100", "get_positions (user, exchange), 100 open", "get_positions, 100 open (projection)"),
)
HTTP_TARGETS = {"GET": 800.0, "POST": 200.0}  # requests per second, issue 13
LEGACY_LINE = re.compile(
    r"import of ([\d,]+) position keys \+ ([\d,]+) GRID levels, (\d+) worker\(s\): +([\d.]+) s, +([\d,]+) keys/s"
)
LEGACY_AGAIN = re.compile(r"second run, (\d+) worker\(s\).*: +([\d.]+) s, +([\d,]+) keys/s")

Line = tuple[str, str, float, float, str, str, str, str]  # area, what, p50, p99, per second, errors, CPU, note


def manager_lines(path: Path | None) -> tuple[list[Line], list[str]]:
    if path is None or not path.exists():
        return [], ["managers and reads: no result (bench_managers.py did not finish)"]
    rows = json.loads(path.read_text())["rows"]
    lines: list[Line] = []
    for area, section, prefix, name in MANAGER_ROWS:
        row = next((r for r in rows if r["section"] == section and r["label"].startswith(prefix)), None)
        if row is None:
            lines.append((area, name, math.nan, math.nan, "-", "-", "-", "not measured"))
            continue
        per_second = f"{1000 / row['p50']:,.0f}" if row["p50"] else "-"
        note = f"one caller; {row['pg_round_trips']:.0f} PG / {row['redis_round_trips']:.0f} Redis round trips"
        lines.append((area, name, row["p50"], row["p99"], per_second, "0", "-", note))
    return lines, []


def http_lines(path: Path | None) -> tuple[list[Line], list[str]]:
    if path is None or not path.exists():
        return [], ["HTTP: no result (bench_http.py did not finish)"]
    lines: list[Line] = []
    for row in json.loads(path.read_text())["rows"]:
        method, _, rest = row["scenario"].partition(" ")
        cpu = sum(value for value in row["cpu_ms_per_request"].values() if not math.isnan(value))
        target = HTTP_TARGETS.get(method)
        note = f"{row['clients']} client{'s' if row['clients'] > 1 else ''}"
        if target is not None:
            met = row["per_second"] >= target and not row["errors"]
            note += f"; target {target:.0f}/s {'met' if met else 'missed'}"
        what = f"{method} {rest}"
        lines.append(("HTTP", what, row["p50"], row["p99"], f"{row['per_second']:,.0f}", str(row["errors"]),
                      f"{cpu:.1f}", note))  # fmt: skip
    return lines, []


def legacy_lines(path: Path | None) -> tuple[list[Line], list[str]]:
    text = path.read_text() if path is not None and path.exists() else ""
    lines: list[Line] = []
    for match in LEGACY_LINE.finditer(text):
        positions, levels, workers, _, rate = match.groups()
        keys = int(positions.replace(",", "")) + int(levels.replace(",", ""))
        lines.append(("legacy", f"import_legacy_redis, {keys:,} keys, {workers} process(es)", math.nan, math.nan,
                      f"{rate} keys", "-", "-", "from empty; target 5,000 keys/s"))  # fmt: skip
    for match in LEGACY_AGAIN.finditer(text):
        workers, _, rate = match.groups()
        lines.append(("legacy", f"the same import again, {workers} process(es)", math.nan, math.nan,
                      f"{rate} keys", "-", "-", "all unchanged, nothing written"))  # fmt: skip
    return lines, ([] if lines else ["legacy import: no result (bench_legacy_import.py did not finish)"])


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def print_table(lines: list[Line]) -> None:
    width = max([len(line[1]) for line in lines] + [30])
    print(f"{'area':<9} {'what':<{width}} {'p50 ms':>8} {'p99 ms':>8} {'per second':>12} {'errors':>6} "
          f"{'CPU ms/req':>10}  notes")  # fmt: skip
    for area, what, p50, p99, per_second, errors, cpu, note in lines:
        print(f"{area:<9} {what:<{width}} {_ms(p50):>8} {_ms(p99):>8} {per_second:>12} {errors:>6} {cpu:>10}  {note}")


def conditions(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    document = json.loads(path.read_text())
    return {**document.get("conditions", {}), "server": document.get("server", "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--managers", type=Path)
    parser.add_argument("--http", type=Path)
    parser.add_argument("--legacy", type=Path)
    parser.add_argument("--load-after", default="", help="load averages when the benchmarks ended")
    args = parser.parse_args()
    lines, missing = [], []
    for found, notes in (manager_lines(args.managers), http_lines(args.http), legacy_lines(args.legacy)):
        lines += found
        missing += notes
    facts = conditions(args.http) or conditions(args.managers)
    print("Summary of make bench")
    for name in ("date", "code", "machine", "python", "postgresql", "postgresql_settings", "redis", "server"):
        if facts.get(name):
            print(f"  {name + ':':<22}{facts[name]}")
    if facts.get("load average"):
        print(f"  {'load average:':<22}{facts['load average']}; {args.load_after or '?'} at the end")
    print("  per second: HTTP = requests answered per second by the server (closed loop, keep-alive); managers and")
    print("  reads = 1000 / p50 of one caller; CPU ms/req = CPU of the server, watcher, PostgreSQL, Redis and load")
    print("  generator together per HTTP request (2 cores = 2000 ms of CPU per second: 2000 / CPU is the ceiling)")
    print()
    print_table(lines)
    for note in missing:
        print(f"  missing: {note}")


if __name__ == "__main__":
    main()
