"""Benchmark of the Redis projection: one position change projected to every layout, one hash read.

Run against a migrated database and a Redis server::

    DJANGO_SETTINGS_MODULE=config.settings DATABASE_URL=... REDIS_URL=... \
        .venv/bin/python bench/bench_projection.py [--iterations 1000]

Creates its own rows (one user, a plain position with a take-profit and a limit order, a grid
level), measures, prints p50 / p99 in microseconds with the conditions, and deletes what it
created in PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from orders.models import Order  # noqa: E402
from positions.models import Position  # noqa: E402
from tradingcore.models import OutboxEntry  # noqa: E402
from tradingcore.redis import codec, keys  # noqa: E402
from tradingcore.redis.outbox import record_position_change  # noqa: E402
from tradingcore.redis.projector import project_order, project_position, redis_client  # noqa: E402

D = Decimal


def measure(label: str, iterations: int, action: Callable[[int], object]) -> None:
    for step in range(min(50, iterations)):  # warm-up: connections, caches
        action(step)
    samples = []
    for step in range(iterations):
        started = time.perf_counter_ns()
        action(step)
        samples.append((time.perf_counter_ns() - started) / 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{label:<58} p50 {p50:9.0f} us   p99 {p99:9.0f} us   (n={iterations})")


def create_rows(user_id: str) -> tuple[Position, Position, Order]:
    now = timezone.now()
    common = {"user_id": user_id, "exchange": "okx", "symbol": "BTC-USDT-SWAP", "leverage": 10}
    position = Position.objects.create(
        **common, side="long", size=D("0.1"), entry_price=D("45000"), entry_price_precise=D("45000"),
        contract_size=D("0.01"), current_price=D("45100"), take_profit_price=D("47000"), created_at=now,
    )  # fmt: skip
    grid = Position.objects.create(
        **common, side="long", size=D("0.05"), entry_price=D("44000"), entry_price_precise=D("44000"),
        contract_size=D("0.01"), grid_level=5, created_at=now,
    )  # fmt: skip
    order_fields = {key: value for key, value in common.items() if key != "leverage"}
    take_profit = Order.objects.create(
        **order_fields, side="sell", order_type="take_profit", quantity=D("0.1"), trigger_price=D("47000"),
        reduce_only=True, status="open", position=position,
    )  # fmt: skip
    Order.objects.create(
        **order_fields, side="buy", order_type="limit", quantity=D("0.1"), price=D("44000"), status="open"
    )
    return position, grid, take_profit


def cleanup(user_id: str) -> None:
    """Delete the bench's rows and every key they were projected to."""
    position_ids = [str(pk) for pk in Position.objects.filter(user_id=user_id).values_list("pk", flat=True)]
    order_ids = [str(pk) for pk in Order.objects.filter(user_id=user_id).values_list("pk", flat=True)]
    symbol = "BTC-USDT-SWAP"
    client = redis_client()
    client.delete(
        keys.position(user_id, "okx", symbol, "long"),
        keys.position(user_id, "okx", symbol, "long", 5),
        keys.position_index(user_id, "okx"),
        keys.position_history(user_id, "okx"),
        keys.order_user_index(user_id, "okx"),
        keys.hyperrsi_position(user_id, symbol, "long"),
        keys.hyperrsi_open_orders(user_id),
        keys.hyperrsi_closed_orders(user_id),
        keys.grid_level("okx", user_id, symbol, 5),
        keys.events(user_id),
        *[keys.order(pk) for pk in order_ids],
    )
    if position_ids:
        client.srem(keys.positions_active(), *position_ids)
    if order_ids:
        client.srem(keys.open_orders("okx", symbol), *order_ids)
    OutboxEntry.objects.filter(user_id=user_id).delete()
    Order.objects.filter(user_id=user_id).delete()
    Position.objects.filter(user_id=user_id).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    iterations = parser.parse_args().iterations
    user_id = f"bench-{uuid.uuid4().hex[:8]}"
    client = redis_client()
    info = client.info("server")
    redis_url = str(settings.REDIS_URL)
    transport = redis_url.split(":", 1)[0]
    where = "loopback" if "127.0.0.1" in redis_url or "localhost" in redis_url else "remote"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"redis {info['redis_version']} over {transport} ({where})")
    print(f"database: {connection.vendor} {getattr(connection, 'pg_version', '')}")
    layouts = (
        settings.TRADING_UNIFIED_WRITE,
        settings.TRADING_LEGACY_HYPERRSI_WRITE,
        settings.TRADING_LEGACY_GRID_WRITE,
    )
    print("layouts: unified={} hyperrsi={} grid={}".format(*layouts))  # noqa: UP032
    position, grid, take_profit = create_rows(user_id)
    position_key = keys.position(user_id, "okx", "BTC-USDT-SWAP", "long")
    try:
        with connection.cursor() as cursor:
            measure("baseline: PostgreSQL round trip (SELECT 1)", iterations, lambda _: cursor.execute("SELECT 1"))
        measure("baseline: Redis round trip (PING)", iterations, lambda _: client.ping())
        measure("project_position (plain: unified + HYPERRSI)", iterations, lambda _: project_position(position.pk))
        measure("project_position (grid level: unified + GRID)", iterations, lambda _: project_position(grid.pk))
        measure(
            "project_order (take-profit: unified + HYPERRSI lists)", iterations, lambda _: project_order(take_profit.pk)
        )
        measure(
            "read position hash + decode to DTO",
            iterations,
            lambda _: codec.decode_position(client.hgetall(position_key)),
        )

        def write_path(step: int) -> None:
            with transaction.atomic():
                Position.objects.filter(pk=position.pk).update(current_price=D(45000 + step % 100))
                record_position_change(position, "position.updated")

        measure("update + commit + outbox + after-commit projection", iterations, write_path)
    finally:
        cleanup(user_id)


if __name__ == "__main__":
    main()
