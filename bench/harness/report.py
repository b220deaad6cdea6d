"""Tables of results, and the JSON a later comparison reads (``bench/compare.py``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.counting import Counts
from harness.timing import Stats

COLUMNS = (
    ("statements", "SQL"),
    ("tx_control", "tx"),
    ("pg_round_trips", "PG RT"),
    ("pg_connects", "PG conn"),
    ("redis_round_trips", "Redis RT"),
    ("redis_commands", "cmds"),
    ("redis_multi", "MULTI"),
)
LEGEND = (
    "per call: SQL = statements, tx = BEGIN/COMMIT/SAVEPOINT/RELEASE/ROLLBACK, PG RT = PostgreSQL round trips "
    "(statements and tx), PG conn = connections opened (their start-up is not in PG RT), Redis RT = Redis "
    "round trips, cmds = Redis commands, MULTI = MULTI/EXEC blocks"
)


@dataclass(frozen=True)
class Row:
    """One measured call: latency and counts per call."""

    section: str
    label: str
    stats: Stats
    counts: Counts

    def as_dict(self) -> dict[str, Any]:
        return {"section": self.section, "label": self.label, **asdict(self.stats), **self.counts.per_call()}


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def header(title: str, width: int) -> None:
    print()
    print(title)
    print(f"{'call':<{width}} {'p50 ms':>8} {'p99 ms':>8} " + " ".join(f"{name:>8}" for _, name in COLUMNS))


def print_row(row: Row, width: int) -> None:
    per_call = row.counts.per_call()
    counts = " ".join(f"{_number(per_call[key]):>8}" for key, _ in COLUMNS)
    print(f"{row.label:<{width}} {row.stats.p50:8.2f} {row.stats.p99:8.2f} {counts}")


def print_table(title: str, rows: list[Row]) -> None:
    width = max([len(row.label) for row in rows] + [40])
    header(title, width)
    for row in rows:
        print_row(row, width)


def write_json(path: Path, *, conditions: dict[str, str], rows: list[Row], notes: list[str]) -> None:
    document = {"conditions": conditions, "rows": [row.as_dict() for row in rows], "notes": notes}
    path.write_text(json.dumps(document, indent=2))
