"""PostgreSQL connections of the production server come from a bounded pool per worker process
(config/settings.py). Under ASGI each request's synchronous code runs in a thread of its own; a
connection kept with that thread (``CONN_MAX_AGE`` above 0) would stay open, never reused, until
PostgreSQL's max_connections was reached (found by the load suite). Here many more requests than
the pool holds arrive at once, several times over, and the connections stay within the pools."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.embedded import free_port, wait_for_http
from tests.managers import USER
from tests.production import GUNICORN, production_env, running
from tradingcore.api.keys import create_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
WORKERS = 2


def server_connections() -> int:
    """Connections to the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def test_requests_through_the_production_server_use_at_most_the_pools_connections() -> None:
    # given the production server with two workers, and a bot's key
    _, key = create_api_key(name="pool-probe", user_ids=[USER])
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    clients = 3 * settings.DATABASE_POOL_MAX_SIZE
    before = server_connections()

    with running(GUNICORN, production_env(PORT=str(port), WEB_CONCURRENCY=str(WORKERS))) as server:
        wait_for_http(base_url, server, 60)

        # when three times as many clients as a pool holds read orders at once, five times each
        def five_reads(_: int) -> list[int]:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {key}"
                return [session.get(f"{base_url}/api/v1/orders/", params={"user_id": USER}, timeout=60).status_code
                        for _ in range(5)]  # fmt: skip

        with ThreadPoolExecutor(clients) as pool:
            statuses = [status for answers in pool.map(five_reads, range(clients)) for status in answers]
        during = server_connections()

    # then every request was answered, and the server never held more than its pools
    assert statuses == [200] * (5 * clients)
    assert during - before <= WORKERS * settings.DATABASE_POOL_MAX_SIZE
    # and nothing is left behind once it stopped
    assert server_connections() <= before
