"""Shared fixtures: the suite runs on the real PostgreSQL and Redis that ``make test`` starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _forget_cached_position_modes() -> None:
    """The paper gateway caches accounts' position modes per process; a flushed database between
    tests does not send the signals that clear it."""
    from tradingcore.exchange.paper.gateway import forget_position_modes

    forget_position_modes()


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Every test starts with an empty Redis database."""
    from django_redis import get_redis_connection

    connection = get_redis_connection("default")
    connection.flushdb()
    yield
    connection.flushdb()


@pytest.fixture(scope="session", autouse=True)
def _close_the_async_orm_connection(django_db_setup: None) -> Iterator[None]:
    """Django's async ORM runs queries in asgiref's one sync thread, whose connection stays open
    on purpose (no reconnect per call); close it before the test database is dropped."""
    yield
    import asyncio

    from asgiref.sync import sync_to_async
    from django.db import connections

    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


@pytest.fixture
def redis_client():  # type: ignore[no-untyped-def]
    """The projector's own client (django-redis pool), string responses."""
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    return [f"database: {db['ENGINE']} {db.get('HOST', '')}:{db.get('PORT', '')}", f"redis: {settings.REDIS_URL}"]
