"""``/healthz`` names the failing part; ``/metrics`` exposes the names the seed migration guide monitors."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.managers import BTC, USER, mark
from tests.tradingcore.api.cases import client_for
from tests.tradingcore.redis.factories import RedisServer
from tradingcore.models import OutboxEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient(SERVER_NAME="localhost")


def cut_redis(settings: Any) -> None:
    """Point the service at a port where no redis-server listens (a network outage)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = RedisServer().url
    settings.CACHES = caches


def test_healthz_is_200_when_database_redis_and_outbox_are_fine(anonymous: APIClient) -> None:
    response = anonymous.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"]["outbox"]["depth"] == 0


def test_healthz_is_503_naming_redis_when_redis_is_down(anonymous: APIClient, settings: Any) -> None:
    cut_redis(settings)

    response = anonymous.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


def test_healthz_is_503_naming_the_outbox_when_the_projection_is_stuck(anonymous: APIClient) -> None:
    OutboxEntry.objects.create(kind="position", object_id="00000000-0000-0000-0000-000000000001", user_id=USER,
                               created_at=timezone.now() - timedelta(hours=1))  # fmt: skip

    response = anonymous.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["outbox"]
    assert response.json()["checks"]["outbox"]["depth"] == 1


def test_metrics_expose_the_seed_names_after_trading(anonymous: APIClient, settings: Any) -> None:
    # given a bot opened a position through the API and Redis failed once
    mark("45000")
    bot = client_for(USER)
    position = bot.post("/api/v1/positions/", {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long",
                                               "size": "0.1"}, format="json").json()  # fmt: skip
    bot.get(f"/api/v1/orders/{position['metadata']['entry_order_id']}/")
    cut_redis(settings)
    anonymous.get("/healthz")

    # when Prometheus scrapes
    text = anonymous.get("/metrics").content.decode()

    # then the manager histograms, the Redis counter by outcome, the gauges and HTTP metrics are there
    assert 'position_manager_latency_seconds_count{operation="open_position"}' in text
    assert 'order_manager_latency_seconds_count{operation="get_order"}' in text
    assert 'redis_operations_total{operation="multi_exec",status="ok"}' in text
    assert 'redis_operations_total{operation="ping",status="error"}' in text
    assert "outbox_depth " in text
    assert 'orders_by_status{status="filled"} 1.0' in text
    assert "django_http_requests_total_by_method_total" in text
