"""What an import did: counts by kind and result, reasons, the streamed JSON report, the final table.

Memory stays flat however many keys there are: counters hold one number per (kind, result,
reason), and each record's outcome is written to the JSON report file as it comes (an
``entries`` array, then the ``summary``), never kept.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import IO, Any, Protocol

from positions.legacy.store import IMPORTED, INVALID, SKIPPED, UNCHANGED, UPDATED, Outcome

RESULTS = (IMPORTED, UPDATED, UNCHANGED, SKIPPED, INVALID)
SHOWN_INVALID = 20  # invalid records printed with their key (the JSON report lists them all)
# Display order of the kinds of legacy record.
KINDS = ("hyperrsi_position", "grid_level", "grid_exchange_total", "hyperrsi_order", "credentials")


class EntryWriter(Protocol):
    """Where a report's entries go as they come."""

    def write(self, entry: dict[str, Any]) -> None: ...

    def finish(self, summary: dict[str, Any]) -> None: ...


class JsonEntries:
    """A JSON report written as it goes: ``{"entries": [...], "summary": {...}}``."""

    def __init__(self, path: str | Path) -> None:
        self._file: IO[str] = Path(path).open("w", encoding="utf-8")  # noqa: SIM115 (closed by finish)
        self._file.write('{"entries": [\n')
        self._first = True

    def write(self, entry: dict[str, Any]) -> None:
        self.write_text(json.dumps(entry, ensure_ascii=False))

    def write_text(self, text: str) -> None:
        """One entry already encoded as JSON."""
        self._file.write(("" if self._first else ",\n") + text)
        self._first = False

    def finish(self, summary: dict[str, Any]) -> None:
        self._file.write('\n], "summary": ' + json.dumps(summary, ensure_ascii=False) + "}\n")
        self._file.close()


class ImportReport:
    """Counts of outcomes by kind and result, reasons of the skipped and invalid ones."""

    def __init__(self, *, dry_run: bool = False, entries: EntryWriter | None = None) -> None:
        self.dry_run = dry_run
        self.counts: Counter[tuple[str, str]] = Counter()
        self.reasons: Counter[tuple[str, str, str]] = Counter()
        self.warnings: Counter[str] = Counter()
        self.first_invalid: list[Outcome] = []
        self._entries = entries

    def add(self, outcome: Outcome, warnings: tuple[str, ...] = ()) -> None:
        self.counts[(outcome.kind, outcome.result)] += 1
        if outcome.reason:
            self.reasons[(outcome.kind, outcome.result, outcome.reason)] += 1
        self.warnings.update(warnings)
        if outcome.result == INVALID and len(self.first_invalid) < SHOWN_INVALID:
            self.first_invalid.append(outcome)
        if self._entries is not None:
            self._entries.write(outcome.as_json() | ({"warnings": list(warnings)} if warnings else {}))

    @property
    def invalid(self) -> int:
        return sum(count for (_, result), count in self.counts.items() if result == INVALID)

    def total(self, result: str) -> int:
        return sum(count for (_, found), count in self.counts.items() if found == result)

    def kinds(self) -> list[str]:
        seen = {kind for kind, _ in self.counts}
        return [kind for kind in KINDS if kind in seen] + sorted(seen - set(KINDS))

    def summary(self) -> dict[str, Any]:
        by_kind = {kind: {result: self.counts[(kind, result)] for result in RESULTS} for kind in self.kinds()}
        reasons = [
            {"kind": kind, "result": result, "reason": reason, "count": count}
            for (kind, result, reason), count in sorted(self.reasons.items())
        ]
        return {"dry_run": self.dry_run, "by_kind": by_kind, "reasons": reasons, "warnings": dict(self.warnings)}

    def finish(self) -> None:
        if self._entries is not None:
            self._entries.finish(self.summary())

    def state(self) -> tuple[Any, ...]:
        """What another process's report needs to merge this one (``merge``)."""
        return self.counts, self.reasons, self.warnings, self.first_invalid

    def merge(self, state: tuple[Any, ...]) -> None:
        counts, reasons, warnings, first_invalid = state
        self.counts.update(counts)
        self.reasons.update(reasons)
        self.warnings.update(warnings)
        self.first_invalid = (self.first_invalid + list(first_invalid))[:SHOWN_INVALID]

    def table(self) -> list[str]:
        """The final table: one row per kind, a total, then every reason with its count."""
        width = max([len("kind"), len("total"), *map(len, self.kinds())])
        rows = [f"{'kind':<{width}}  " + "  ".join(f"{result:>9}" for result in RESULTS)]
        for kind in self.kinds():
            rows.append(f"{kind:<{width}}  " + "  ".join(f"{self.counts[(kind, r)]:>9}" for r in RESULTS))
        rows.append(f"{'total':<{width}}  " + "  ".join(f"{self.total(result):>9}" for result in RESULTS))
        if self.reasons or self.warnings:
            rows.append("reasons:")
        for (kind, result, reason), count in sorted(self.reasons.items(), key=lambda item: (item[0][1], item[0])):
            rows.append(f"  {result:<8} {kind:<{width}}  {reason:<24} {count:>9}")
        rows += [f"  warning  {text}: {count}" for text, count in sorted(self.warnings.items())]
        if self.first_invalid:
            rows.append(f"invalid records (the first {SHOWN_INVALID}; --report lists every one):")
        rows += [f"  {o.key}  {o.reason}  {o.detail}".rstrip() for o in self.first_invalid]
        return rows
