"""Benchmark of the managers end to end on the paper exchange (PostgreSQL, Redis, projection).

Run with ``make bench`` (throwaway services), or against a migrated database and a Redis server::

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_managers.py [--iterations 200]

Each iteration is what a bot's call costs: validation, the pending order and its commit, the
paper exchange (in PostgreSQL), fills applied under row locks, events, the outbox and the Redis
projection after commit. Prints p50 / p99 in milliseconds with the conditions; deletes its rows.
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
from django.db import connection  # noqa: E402

from orders.models import Order  # noqa: E402
from orders.services import OrderManager  # noqa: E402
from positions.models import Position  # noqa: E402
from positions.services import PositionManager  # noqa: E402
from tradingcore.exchange import paper  # noqa: E402
from tradingcore.models import OutboxEntry, PaperFill, PaperOrder, PaperPosition  # noqa: E402

SYMBOL = "ETH-USDT-SWAP"


def measure(label: str, iterations: int, action: Callable[[int], object]) -> None:
    samples = []
    for step in range(iterations):
        started = time.perf_counter_ns()
        action(step)
        samples.append((time.perf_counter_ns() - started) / 1_000_000)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{label:<52} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   (n={iterations})")


def cleanup(user_id: str) -> None:
    Order.objects.filter(user_id=user_id).update(position=None)
    Order.objects.filter(user_id=user_id).delete()
    Position.objects.filter(user_id=user_id).delete()
    OutboxEntry.objects.filter(user_id=user_id).delete()
    PaperFill.objects.filter(order__user_id=user_id).delete()
    PaperOrder.objects.filter(user_id=user_id).delete()
    PaperPosition.objects.filter(user_id=user_id).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    iterations = parser.parse_args().iterations
    user_id = f"bench-{uuid.uuid4().hex[:8]}"
    positions, orders = PositionManager(actor="system:bench"), OrderManager(actor="system:bench")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"database: {connection.vendor}; redis: {str(settings.REDIS_URL).split(':', 1)[0]}; exchange: paper")
    paper.set_mark("paper", SYMBOL, Decimal("3000"))
    common = {"user_id": user_id, "exchange": "paper", "symbol": SYMBOL}
    opened: list[object] = []
    try:
        measure(
            "open_position (market, new position)",
            iterations,
            lambda i: opened.append(positions.open_position(**common, side="long", size="0.1", grid_level=i % 100)),
        )
        measure("open_position (market, add to open position)", iterations,
                lambda _: positions.open_position(**common, side="short", size="0.1"))  # fmt: skip
        measure("close_position (partial, market)", iterations,
                lambda _: positions.close_position(**common, side="short", size="0.1"))  # fmt: skip

        def limit_then_cancel(_: int) -> None:
            order = orders.create_order(**common, side="buy", order_type="limit", quantity="0.1", price="2000")
            orders.cancel_order(order.id)

        measure("create_order (limit, rests) + cancel_order", iterations, limit_then_cancel)
        measure("get_positions (user, exchange; open)", iterations,
                lambda _: positions.get_positions(user_id=user_id, exchange="paper"))  # fmt: skip
    finally:
        cleanup(user_id)


if __name__ == "__main__":
    main()
