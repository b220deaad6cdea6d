"""Shared fixtures: the suite runs on the real PostgreSQL and Redis that ``make test`` starts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Every test starts with an empty Redis database."""
    from django_redis import get_redis_connection

    connection = get_redis_connection("default")
    connection.flushdb()
    yield
    connection.flushdb()


@pytest.fixture
def redis_client():  # type: ignore[no-untyped-def]
    """The projector's own client (django-redis pool), string responses."""
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    return [f"database: {db['ENGINE']} {db.get('HOST', '')}:{db.get('PORT', '')}", f"redis: {settings.REDIS_URL}"]
