"""The printed report of a run: what happened when, the rates achieved, what the bots were
answered, and PASS or FAIL for every check."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable

from loadtest.checks import SHOWN
from loadtest.suite import Result


def machine() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load}"


def print_report(result: Result, out: Callable[[str], None] = print) -> None:
    plan, journal = result.plan, result.journal
    faults = ", ".join(f"{fault.kind} at {fault.at:.0%}" for fault in plan.faults) or "none"
    out("")
    out(f"== Load and fault suite: {plan.bots} bots for {plan.seconds:g} s; {plan.api_servers} API servers x "
        f"{plan.workers} workers, {plan.watchers} watchers; faults: {faults}")  # fmt: skip
    out(f"machine: {machine()}")
    out("")
    out("timeline:")
    for line in result.timeline:
        out(f"  {line}")
    rates = journal.rates()
    out("")
    out(f"rates over the {rates['window_seconds']:.1f} s of load: {rates['requests']} HTTP requests "
        f"({rates['requests_per_second']:.1f}/s; market moves not counted), {rates['writes_per_second']:.1f} "
        f"order-placing or cancelling requests/s ({rates['acknowledged_writes']} acknowledged); answered in "
        f"p50 {rates['p50_ms']:.0f} ms, p99 {rates['p99_ms']:.0f} ms")  # fmt: skip
    out("answers by request kind (final answer of each request, after retries):")
    for kind, outcomes in sorted(journal.by_kind().items()):
        shown = ", ".join(f"{outcome}: {count}" for outcome, count in outcomes.most_common())
        out(f"  {kind:<15} {sum(outcomes.values()):>5}  {shown}")
    attempts = ", ".join(f"{status}: {count}" for status, count in journal.status_counts().most_common())
    out(f"every attempt: {attempts}")
    retried = sum(1 for call in journal.calls if len(call.attempts) > 1)
    replayed = sum(1 for _, attempt in journal.attempts() if attempt.replayed)
    out(f"retried requests: {retried}; answers replayed from an idempotency key: {replayed}")
    changes = ", ".join(f"{name} {count}" for name, count in result.watcher_changes.items())
    out(f"order changes booked by each watcher (from its log): {changes}")
    out("")
    out("checks:")
    for item in result.checks:
        out(f"  {'PASS' if item.ok else 'FAIL'}  {item.name}: {item.summary}")
        for problem in item.problems[:SHOWN]:
            out(f"          - {problem}")
        if len(item.problems) > SHOWN:
            out(f"          ... and {len(item.problems) - SHOWN} more")
    passed = sum(1 for item in result.checks if item.ok)
    verdict = "PASS" if result.ok else "FAIL"
    out("")
    out(f"RESULT: {verdict} ({passed}/{len(result.checks)} checks) in {result.seconds_total:.0f} s")
