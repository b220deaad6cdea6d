"""A closed-loop HTTP load generator: N clients, each sending its next request when the last answered.

asyncio with aiohttp (on uvloop when installed), one keep-alive connection per client, in the
benchmark's own process. Each client runs for a warm-up (not recorded), then for the measured
window; a request counts in the window it was sent in. The generator's own CPU time over the window
is measured too (``getrusage``): on a small machine it competes with the server for the cores.

A request is an error when it raises (connection refused, reset, timeout) or answers another
status than the one expected; the first few error bodies are kept to be printed.
"""

from __future__ import annotations

import asyncio
import math
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio works too
    uvloop = None


@dataclass(frozen=True)
class Request:
    """One HTTP request: method, path (with query), headers and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None


# (client index, request number of that client) -> the request to send
RequestFactory = Callable[[int, int], Request]
# A counter read at the start and at the end of the window (CPU seconds of a process, ...)
Probe = Callable[[], float]


@dataclass
class LoadResult:
    """What N clients did in the measured window."""

    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, every request of the window
    errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # a few error answers
    generator_cpu: float = 0.0  # CPU seconds of this process over the window
    probed: dict[str, float] = field(default_factory=dict)  # each probe's increase over the window

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """Milliseconds, nearest rank."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else math.nan

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


class _Window:
    """Shared clock of one run: when recording starts and stops."""

    def __init__(self, warmup: float, seconds: float) -> None:
        now = time.perf_counter()
        self.start = now + warmup
        self.stop = self.start + seconds


async def _client(
    index: int, session: aiohttp.ClientSession, make: RequestFactory, expected: int, window: _Window, result: LoadResult
) -> None:
    number = 0
    while True:
        sent = time.perf_counter()
        if sent >= window.stop:
            return
        request = make(index, number)
        number += 1
        status, error = await _send(session, request)
        if sent < window.start:
            continue
        result.latencies.append(time.perf_counter() - sent)
        result.statuses[status] += 1
        if status != expected:
            result.errors += 1
            if len(result.samples) < 5:
                result.samples.append(f"{request.method} {request.path}: {status} {error[:300]}")


async def _send(session: aiohttp.ClientSession, request: Request) -> tuple[int, str]:
    try:
        async with session.request(request.method, request.path, headers=request.headers, data=request.body) as answer:
            body = await answer.read()
            return answer.status, body.decode("utf-8", "replace") if answer.status >= 300 else ""
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        return 0, f"{type(exc).__name__}: {exc}"


async def _run(
    base_url: str,
    make: RequestFactory,
    *,
    clients: int,
    warmup: float,
    seconds: float,
    expected: int,
    probes: dict[str, Probe],
) -> LoadResult:
    result = LoadResult(clients=clients, seconds=seconds)
    connector = aiohttp.TCPConnector(limit=clients, limit_per_host=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        window = _Window(warmup, seconds)
        tasks = [asyncio.create_task(_client(i, session, make, expected, window, result)) for i in range(clients)]
        await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
        before, probed = _cpu(), {name: probe() for name, probe in probes.items()}
        await asyncio.sleep(max(0.0, window.stop - time.perf_counter()))
        result.generator_cpu = _cpu() - before
        result.probed = {name: probe() - probed[name] for name, probe in probes.items()}
        await asyncio.gather(*tasks)  # the requests in flight at the end still count (sent in the window)
    return result


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    base_url: str,
    make: RequestFactory,
    *,
    clients: int,
    warmup: float,
    seconds: float,
    expected: int = 200,
    probes: dict[str, Probe] | None = None,
) -> LoadResult:
    """``clients`` closed-loop clients against ``base_url`` for ``warmup`` + ``seconds`` seconds;
    ``probes`` are read when the measured window opens and closes (from the event loop: keep them quick)."""
    coroutine = _run(base_url, make, clients=clients, warmup=warmup, seconds=seconds, expected=expected,
                     probes=probes or {})  # fmt: skip
    if uvloop is not None:
        return uvloop.run(coroutine)
    return asyncio.run(coroutine)


def loop_name() -> str:
    return "uvloop" if uvloop is not None else "asyncio"
