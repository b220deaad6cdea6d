"""What the bots asked and what they were told: every logical request with all its attempts.

The checks compare this record with the database: what a bot was acknowledged (a 2xx) must exist,
what it was refused must not have happened.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Kinds of request that place an order (and so carry a client order id derived from their key).
PLACING_KINDS = frozenset({"open", "add", "limit_entry", "close_part", "close_all", "order"})
# 503 error codes the API documents (exchange unreachable, outcome unknown); a bot retries them.
DOCUMENTED_503_CODES = frozenset({"exchange_unavailable", "order_outcome_unknown", "exchange_error", "rate_limited"})


@dataclass
class Attempt:
    """One HTTP attempt: which server, the status (None: no answer, see ``error``), how long."""

    server: int
    status: int | None
    code: str
    error: str
    replayed: bool
    retry_after: str | None
    seconds: float


@dataclass
class Call:
    """One logical request of a bot (same idempotency key for every attempt) and its outcome."""

    bot: int
    user_id: str
    kind: str
    method: str
    path: str
    body: dict[str, Any] | None
    key: str | None
    started: float
    attempts: list[Attempt] = field(default_factory=list)
    status: int | None = None  # the final answer's; None while unresolved
    response: Any = None
    finished: float | None = None

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500

    @property
    def error_code(self) -> str:
        if isinstance(self.response, dict) and isinstance(self.response.get("error"), dict):
            return str(self.response["error"].get("code", ""))
        return ""


@dataclass
class Journal:
    """Every call of the run, in the order they started."""

    calls: list[Call] = field(default_factory=list)
    load_started: float = 0.0
    load_stopped: float = 0.0

    def add(self, call: Call) -> Call:
        self.calls.append(call)
        return call

    def dump(self, path: Path) -> None:
        """Every call with its attempts, one JSON object a line (for reading a failure afterwards)."""
        with path.open("w") as out:
            for call in self.calls:
                out.write(json.dumps(asdict(call), default=str) + "\n")

    def attempts(self) -> list[tuple[Call, Attempt]]:
        return [(call, attempt) for call in self.calls for attempt in call.attempts]

    def status_counts(self) -> Counter[str]:
        return Counter(
            str(attempt.status) if attempt.status is not None else f"no answer ({attempt.error})"
            for _, attempt in self.attempts()
        )

    def undocumented_5xx(self) -> list[tuple[Call, Attempt]]:
        """5xx answers other than a 503 with Retry-After and a documented error code."""
        bad = []
        for call, attempt in self.attempts():
            if attempt.status is None or attempt.status < 500:
                continue
            documented = attempt.status == 503 and attempt.retry_after and attempt.code in DOCUMENTED_503_CODES
            if not documented:
                bad.append((call, attempt))
        return bad

    def rates(self) -> dict[str, Any]:
        """Achieved rates during the load window, and latencies of answered attempts."""
        window = max(self.load_stopped - self.load_started, 1e-9)
        in_window = [(c, a) for c, a in self.attempts() if c.started <= self.load_stopped and c.kind != "mark"]
        answered = [a.seconds for _, a in in_window if a.status is not None]
        writes = [c for c in self.calls if c.kind in PLACING_KINDS | {"cancel"} and c.started <= self.load_stopped]
        return {
            "window_seconds": window,
            "requests": len(in_window),
            "requests_per_second": len(in_window) / window,
            "writes_per_second": len(writes) / window,
            "acknowledged_writes": sum(1 for c in writes if c.acknowledged),
            "p50_ms": 1000 * statistics.median(answered) if answered else 0.0,
            "p99_ms": 1000 * _quantile(answered, 0.99) if answered else 0.0,
        }

    def by_kind(self) -> dict[str, Counter[str]]:
        kinds: dict[str, Counter[str]] = {}
        for call in self.calls:
            outcome = str(call.status) if call.status is not None else "unresolved"
            if call.refused and call.error_code:
                outcome = f"{call.status} {call.error_code}"
            kinds.setdefault(call.kind, Counter())[outcome] += 1
        return kinds


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
