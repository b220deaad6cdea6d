"""Timed and counted passes over one benchmark case.

A case is one call (``action``) with optional untimed ``setup`` / ``teardown`` around each
iteration. The timed pass warms up, then times only ``action`` with ``perf_counter_ns``; the
counted pass runs it again inside a counting window (``harness.counting``), so counting never
touches a timed sample. Async cases run every iteration in one event loop and take no set-up or
tear-down (Django's ORM refuses to run inside a loop).
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.counting import Counter, Counts

Step = Callable[[int], Any]


@dataclass(frozen=True)
class Case:
    """One benchmarked call; ``is_async`` when ``action`` returns an awaitable."""

    label: str
    action: Step
    setup: Step | None = None
    teardown: Step | None = None
    is_async: bool = False


@dataclass(frozen=True)
class Stats:
    """Latency percentiles in milliseconds over ``n`` samples (p99 by nearest rank)."""

    n: int
    p50: float
    p99: float

    @classmethod
    def of(cls, samples_ns: list[int]) -> Stats:
        ordered = sorted(samples_ns)
        p99_index = max(0, math.ceil(0.99 * len(ordered)) - 1)
        return cls(n=len(ordered), p50=statistics.median(ordered) / 1e6, p99=ordered[p99_index] / 1e6)


@dataclass(frozen=True)
class Plan:
    """How many calls: ``warmup`` untimed, ``iterations`` timed, then ``counted`` in counting windows.

    Call indexes run from ``first`` without repeating, so a case can derive unique keys from them.
    """

    iterations: int
    warmup: int
    counted: int
    first: int = 0

    @property
    def calls(self) -> int:
        return self.warmup + self.iterations + self.counted


def _maybe(step: Step | None, index: int) -> None:
    if step is not None:
        step(index)


def _timed_sync(case: Case, first: int, count: int, samples: list[int]) -> None:
    for index in range(first, first + count):
        _maybe(case.setup, index)
        started = time.perf_counter_ns()
        case.action(index)
        samples.append(time.perf_counter_ns() - started)
        _maybe(case.teardown, index)


async def _timed_async(case: Case, first: int, count: int, samples: list[int]) -> None:
    for index in range(first, first + count):
        started = time.perf_counter_ns()
        await case.action(index)
        samples.append(time.perf_counter_ns() - started)


def _run_sync(case: Case, plan: Plan, counter: Counter) -> list[int]:
    samples: list[int] = []
    _timed_sync(case, plan.first, plan.warmup, [])
    _timed_sync(case, plan.first + plan.warmup, plan.iterations, samples)
    _counted_sync(case, counter, plan.first + plan.warmup + plan.iterations, plan.counted)
    return samples


async def _run_async(case: Case, plan: Plan, counter: Counter) -> list[int]:
    # One loop for every phase: async clients stay bound to the loop that opened them.
    samples: list[int] = []
    await _timed_async(case, plan.first, plan.warmup, [])
    await _timed_async(case, plan.first + plan.warmup, plan.iterations, samples)
    await _counted_async(case, counter, plan.first + plan.warmup + plan.iterations, plan.counted)
    return samples


def _counted_sync(case: Case, counter: Counter, first: int, count: int) -> None:
    for index in range(first, first + count):
        _maybe(case.setup, index)
        with counter.window():
            case.action(index)
        _maybe(case.teardown, index)


async def _counted_async(case: Case, counter: Counter, first: int, count: int) -> None:
    for index in range(first, first + count):
        with counter.window():
            await case.action(index)


def run_case(case: Case, plan: Plan) -> tuple[Stats, Counts]:
    """Time the case, then count it; returns the percentiles and the counts (``calls`` = windows)."""
    counter = Counter()
    if case.is_async:
        samples = asyncio.run(_run_async(case, plan, counter))
    else:
        samples = _run_sync(case, plan, counter)
    return Stats.of(samples), counter.counts
