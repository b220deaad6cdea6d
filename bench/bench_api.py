"""Benchmark of the REST API in process (no network): what the HTTP layer adds to the managers.

Run with ``make bench`` (throwaway services), or against a migrated database and a Redis server::

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_api.py [--iterations 200]

Each request goes through Django and DRF as a bot's would, minus the socket: middleware
(metrics, sessions), API key lookup, validation, the idempotency lock and record, the manager
call and the JSON rendering. Compare with ``bench_managers.py`` for the managers alone. Prints
p50 / p99 in milliseconds with the conditions; deletes its rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from bench_managers import SYMBOL, cleanup, measure  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from tradingcore.api.keys import create_api_key  # noqa: E402
from tradingcore.exchange import paper  # noqa: E402
from tradingcore.models import ApiKey, IdempotencyRecord  # noqa: E402
from tradingcore.redis import rebuild  # noqa: E402


def client_for(user_id: str) -> APIClient:
    _, raw_key = create_api_key(name=f"bench-{user_id}", user_ids=[user_id])
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    iterations = parser.parse_args().iterations
    user_id = f"bench-{uuid.uuid4().hex[:8]}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"database: {connection.vendor}; redis: {str(settings.REDIS_URL).split(':', 1)[0]}; exchange: paper")
    paper.set_mark("paper", SYMBOL, Decimal("3000"))
    client = client_for(user_id)
    body = {"user_id": user_id, "exchange": "paper", "symbol": SYMBOL, "side": "long", "size": "0.1"}

    def open_with_key(step: int) -> object:
        return client.post("/api/v1/positions/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{step}")

    try:
        measure("POST /api/v1/positions/ (add, new Idempotency-Key)", iterations, open_with_key)
        measure("POST /api/v1/positions/ (retry, replayed)", iterations, open_with_key)
        rebuild.rebuild()  # marks Redis as holding the whole projection: the fast path may answer
        measure("GET /api/v1/positions/?user_id&exchange&status=open (Redis)", iterations,
                lambda _: client.get("/api/v1/positions/", {"user_id": user_id, "exchange": "paper",
                                                            "status": "open"}))  # fmt: skip
        measure("GET /api/v1/positions/?user_id (PostgreSQL)", iterations,
                lambda _: client.get("/api/v1/positions/", {"user_id": user_id}))  # fmt: skip
        measure("GET /api/v1/orders/?user_id (PostgreSQL, page of 100)", iterations,
                lambda _: client.get("/api/v1/orders/", {"user_id": user_id}))  # fmt: skip
    finally:
        cleanup(user_id)
        IdempotencyRecord.objects.filter(owner__in=[f"key:{key.pk}" for key in ApiKey.objects.filter(
            name=f"bench-{user_id}")]).delete()  # fmt: skip
        ApiKey.objects.filter(name=f"bench-{user_id}").delete()


if __name__ == "__main__":
    main()
