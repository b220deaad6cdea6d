"""Speedup per call between two runs of ``bench_managers.py --json`` (make bench: baseline vs today).

    .venv/bin/python bench/compare.py BASELINE.json CURRENT.json [--target 8]

Prints, for every call measured in both runs, p50 and p99 of each and their ratio (baseline /
current: above 1 means today's code is faster), with PostgreSQL and Redis round trips per call
side by side. The target (for the calls section) is only printed against the ratio, never
enforced. The controls, rows that run the same code in both runs (the round-trip floors and the
anchor's reads), come last: how far their ratio strays from 1 is the run-to-run noise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def load(path: Path) -> tuple[dict[str, str], list[Row], list[str]]:
    document = json.loads(path.read_text())
    return document["conditions"], document["rows"], document.get("notes", [])


def _trips(row: Row) -> str:
    return f"{row['pg_round_trips']:.0f}/{row['redis_round_trips']:.0f}"


def _verdict(row: Row, speedup: float, target: float) -> str:
    if row["section"] != "calls":
        return ""
    return "met" if speedup >= target else "not yet"


def is_control(row: Row) -> bool:
    """Same code in both runs: the floors and the anchor's reads."""
    return row["section"] == "floors" or row["label"].startswith("anchor:")


def print_line(row: Row, old: Row | None, width: int, target: float) -> None:
    if old is None:
        print(f"{row['label']:<{width}} {'(not in the baseline)':>30}")
        return
    p50, p99 = old["p50"] / row["p50"], old["p99"] / row["p99"]
    times = f"{old['p50']:9.2f} {row['p50']:9.2f} {p50:6.2f} {old['p99']:9.2f} {row['p99']:9.2f} {p99:6.2f}"
    trips = f"{_trips(old):>17} {_trips(row):>9}"
    print(f"{row['label']:<{width}} {times} {trips}  {_verdict(row, p50, target):>7}")


def print_comparison(baseline: list[Row], current: list[Row], target: float) -> None:
    before = {(row["section"], row["label"]): row for row in baseline}
    width = max(len(row["label"]) for row in current)
    print(
        f"{'call':<{width}} {'p50 base':>9} {'p50 now':>9} {'x':>6} {'p99 base':>9} {'p99 now':>9} {'x':>6}"
        f" {'PG/Redis RT base':>17} {'now':>9}  {f'{target:g}x?':>7}"
    )
    for row in (row for row in current if not is_control(row)):
        print_line(row, before.get((row["section"], row["label"])), width, target)
    print("controls: the same code in both runs, so their x is the run-to-run noise")
    for row in (row for row in current if is_control(row)):
        print_line(row, before.get((row["section"], row["label"])), width, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("current", type=Path)
    parser.add_argument("--target", type=float, default=8.0, help="speedup the issue asks for (printed only)")
    args = parser.parse_args()
    base_conditions, baseline, _ = load(args.baseline)
    now_conditions, current, _ = load(args.current)
    print(f"baseline: {base_conditions['code']}")
    print(f"current:  {now_conditions['code']}")
    print("x = baseline / current (above 1: the current code is faster); times in ms; RT per call")
    print_comparison(baseline, current, args.target)


if __name__ == "__main__":
    main()
