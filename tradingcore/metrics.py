"""Prometheus metrics of the service (names from the seed migration guide), exposed at ``/metrics``.

- ``position_manager_latency_seconds`` / ``order_manager_latency_seconds``: histograms of the
  manager facades' calls, by ``operation`` (the method name), errors included (``timed``);
- ``redis_operations_total{operation, status}``: every Redis command (a pipeline counts once, as
  ``multi_exec`` or ``pipeline``) by outcome ``ok`` / ``error`` (``InstrumentedRedis``, the
  django-redis client class);
- ``exchange_errors_total{exchange, error}``: failed requests to real exchanges (through ccxt), by
  our error code (``exchange_unavailable``, ``rate_limited``, ``order_rejected``, ...);
- ``outbox_depth``: projection changes committed but not yet written to Redis;
- ``projection_confirmed_seconds_ago``: since a fill watcher's pass last found the projection caught
  up (every pass does, every 2 seconds): large when no watcher runs or the projection lags;
- ``orders_by_status{status}`` (registered by the orders app) and django-prometheus's HTTP request
  metrics (``django_http_requests_*``).
"""

from __future__ import annotations

import functools
import inspect
import math
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import redis
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

T = TypeVar("T", bound=type)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
POSITION_MANAGER_LATENCY = Histogram(
    "position_manager_latency_seconds", "Latency of PositionManager calls", ["operation"], buckets=LATENCY_BUCKETS
)
ORDER_MANAGER_LATENCY = Histogram(
    "order_manager_latency_seconds", "Latency of OrderManager calls", ["operation"], buckets=LATENCY_BUCKETS
)
REDIS_OPERATIONS = Counter("redis_operations_total", "Redis commands by outcome", ["operation", "status"])
EXCHANGE_ERRORS = Counter(
    "exchange_errors_total", "Failed exchange requests by exchange and error code (ccxt)", ["exchange", "error"]
)


def timed(histogram: Histogram) -> Callable[[T], T]:
    """Class decorator: observe every public method's duration in ``histogram`` by method name
    (coroutines too; generators are left alone: their time is the caller's)."""

    def decorate(cls: T) -> T:
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not inspect.isfunction(member):
                continue
            if inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member):
                continue
            setattr(cls, name, _timed_method(member, histogram.labels(operation=name)))
        return cls

    return decorate


def _timed_method(method: Callable[..., Any], observer: Any) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                observer.observe(time.perf_counter() - started)

        return timed_coroutine

    @functools.wraps(method)
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            observer.observe(time.perf_counter() - started)

    return timed_call


def _count(operation: str, call: Callable[[], Any]) -> Any:
    try:
        result = call()
    except redis.RedisError:
        REDIS_OPERATIONS.labels(operation=operation, status="error").inc()
        raise
    REDIS_OPERATIONS.labels(operation=operation, status="ok").inc()
    return result


class InstrumentedPipeline(redis.client.Pipeline):
    """A pipeline counted once per ``execute``."""

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        operation = "multi_exec" if getattr(self, "transaction", True) is True else "pipeline"
        return _count(operation, lambda: super(InstrumentedPipeline, self).execute(raise_on_error))


class InstrumentedRedis(redis.Redis):
    """redis-py's client counting each command in ``redis_operations_total``."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        operation = str(args[0]).lower() if args else "unknown"
        return _count(operation, lambda: super(InstrumentedRedis, self).execute_command(*args, **options))

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> InstrumentedPipeline:
        return InstrumentedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


class GaugeCollector(Collector):
    """A gauge read at scrape time from ``read()``: a number, or label values -> number. A failing
    read (the database is down) leaves the gauge out of that scrape; ``/healthz`` reports it."""

    def __init__(self, name: str, documentation: str, read: Callable[[], Any], labels: tuple[str, ...] = ()) -> None:
        self.name, self.documentation, self.read, self.labels = name, documentation, read, labels

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            value = self.read()
        except Exception:  # noqa: BLE001 - a scrape never fails because one gauge cannot be read
            return
        family = GaugeMetricFamily(self.name, self.documentation, labels=list(self.labels) or None)
        if self.labels:
            for label_values, number in value.items():
                family.add_metric(list(label_values), number)
        else:
            family.add_metric([], value)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # read lazily: no database query when the collector is registered


_scrape_time_gauges: dict[str, GaugeCollector] = {}


def register_gauge(name: str, documentation: str, read: Callable[[], Any], labels: tuple[str, ...] = ()) -> None:
    """Register a scrape-time gauge once per process."""
    if name not in _scrape_time_gauges:
        _scrape_time_gauges[name] = GaugeCollector(name, documentation, read, labels)
        REGISTRY.register(_scrape_time_gauges[name])


def scrape_registry() -> CollectorRegistry:
    """What ``/metrics`` shows. In one process (``make run``, the tests) its own registry. Under the
    production server (``PROMETHEUS_MULTIPROC_DIR``, set by config/gunicorn.py) the counters and
    histograms of every worker, summed from the files they write there, and the gauges read now:
    a scrape answered by any worker shows the whole server."""
    from django.conf import settings

    if not settings.PROMETHEUS_MULTIPROC_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    for gauge in _scrape_time_gauges.values():
        registry.register(gauge)
    return registry


def _outbox_depth() -> int:
    from tradingcore.redis.outbox import pending_count

    return pending_count()


def register_outbox_depth() -> None:
    register_gauge("outbox_depth", "Projection changes committed but not yet written to Redis", _outbox_depth)


def _projection_confirmed_seconds_ago() -> float:
    from tradingcore.redis import keys, projector

    confirmed_ms = projector.redis_client().get(keys.projection_current())
    if confirmed_ms is None:  # expired: no watcher confirmed it for CURRENT_TTL_SECONDS, or never
        return math.inf
    return max(0.0, time.time() - int(confirmed_ms) / 1000)


def register_projection_freshness() -> None:
    register_gauge(
        "projection_confirmed_seconds_ago",
        "Seconds since a fill watcher last confirmed the Redis projection current (+Inf: not for a while)",
        _projection_confirmed_seconds_ago,
    )
