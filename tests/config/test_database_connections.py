"""Under ASGI, the production server's protocol, Django runs each request's synchronous code in a
thread of its own; a connection kept open for reuse (``CONN_MAX_AGE`` > 0) stays behind with its
thread, never reused, until the garbage collector happens to free it. Found by the load and fault
suite: 50 bots on four workers held PostgreSQL's 200 connections within 20 seconds ("sorry, too
many clients already", 500s). Django's documentation: "When using ASGI, persistent connections
should be disabled." Connections come from a bounded pool per process instead
(``DATABASE_POOL_MAX_SIZE``): idle ones stay in the pool by design, never more than its size.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.db import connection

from tests.managers import USER
from tradingcore.api.keys import create_api_key

pytestmark = pytest.mark.django_db(transaction=True)


def open_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


async def asgi_get(app: Any, path: str, query: str, key: str) -> int:
    """One GET through the ASGI application, as an ASGI server sends it; the response status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"localhost"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    received = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not received.is_set():
            received.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays connected until the handler is done
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


def connections_once_settled(at_most: int, seconds: float = 5.0) -> int:
    """The open connections, once the backends of the connections just closed have exited (a backend
    stays in ``pg_stat_activity`` a moment after its client closed it)."""
    deadline = time.monotonic() + seconds
    while (count := open_connections()) > at_most and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


def test_requests_served_over_asgi_leave_no_connection_beyond_the_pool() -> None:
    # given a bot's key, the ASGI application and the connections open before the requests
    _, key = create_api_key(name="bot", user_ids=[USER])
    app = get_asgi_application()
    before = open_connections()

    # when ten requests arrive at once
    async def ten_at_once() -> list[int]:
        requests = (asgi_get(app, "/api/v1/orders/", f"user_id={USER}", key) for _ in range(10))
        return list(await asyncio.gather(*requests))

    assert asyncio.run(ten_at_once()) == [200] * 10

    # then none of them left a connection behind beyond the process's pool
    bound = before + settings.DATABASE_POOL_MAX_SIZE
    assert connections_once_settled(at_most=bound) <= bound


def test_connections_are_not_kept_for_reuse() -> None:
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 0
