"""The request id: taken from a valid ``X-Request-ID`` or made up, returned in ``X-Request-ID``,
and on every log line of the request, the managers' own included, with the async stack too."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from rest_framework.test import APIClient

from tests.config.test_logs import formatter
from tests.managers import BTC, USER, mark
from tests.tradingcore.api.test_health_and_metrics import cut_redis
from tradingcore.api.keys import create_api_key

OPEN = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1"}


@pytest.fixture
def log_lines(settings: Any) -> Iterator[io.StringIO]:
    """Every line logged during the test, as the production server writes it (JSON)."""
    settings.DJANGO_STRUCTLOG_STATUS_2XX_LOG_LEVEL = logging.INFO  # the tests run with console levels
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json_lines=True))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "kept"),
    [("bot-7:open-42", True), ("two words", False), ("x" * 129, False), ("a\nb", False), (None, False)],
)
def test_a_valid_request_id_is_kept_and_any_other_replaced_by_a_new_uuid(given: str | None, kept: bool) -> None:
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}

    response = APIClient().get("/healthz", **headers)

    returned = response["X-Request-ID"]
    if kept:
        assert returned == given
    else:
        assert str(uuid.UUID(returned)) == returned


@pytest.mark.django_db(transaction=True)
def test_lines_logged_inside_the_managers_carry_the_request_id(settings: Any, log_lines: io.StringIO) -> None:
    # given a bot's key and a Redis the service cannot reach (the projection logs a warning)
    mark("45000")
    _, key = create_api_key(name="alice-bot", user_ids=[USER])
    cut_redis(settings)

    # when the bot opens a position through the async (ASGI) stack with its request id
    response = async_to_sync(AsyncClient().post)(
        "/api/v1/positions/", OPEN, content_type="application/json",
        headers={"Authorization": f"Bearer {key}", "X-Request-ID": "alice:open-1"},
    )  # fmt: skip

    # then the warning from inside the manager carries it, and so does the request's own line
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "alice:open-1"
    lines = parsed(log_lines)
    outbox = [line for line in lines if line["logger"] == "tradingcore.redis.outbox"]
    assert outbox, lines
    assert {line["request_id"] for line in outbox} == {"alice:open-1"}
    [finished] = [line for line in lines if line["event"] == "request_finished"]
    assert (finished["request_id"], finished["code"], finished["actor"]) == ("alice:open-1", 201, "api:alice-bot")
    assert finished["duration_ms"] > 0
    assert key not in log_lines.getvalue()
