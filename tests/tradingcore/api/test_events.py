"""Live events of ``events:{user_id}``: Server-Sent Events (resumable) and polling."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from positions.services import PositionManager
from tests.managers import BTC, OTHER_USER, USER, btc, mark
from tests.tradingcore.api.cases import client_for, error_of
from tests.tradingcore.api.test_health_and_metrics import cut_redis

pytestmark = pytest.mark.django_db(transaction=True)
POLL = "/api/v1/events/"
STREAM = "/api/v1/events/stream"


@pytest.fixture
def client() -> Any:
    mark("45000")
    return client_for(USER)


def open_and_close() -> None:
    manager = PositionManager()
    manager.close_position(manager.open_position(**btc(side="long", size="0.1")).id)


def read_stream(client: Any, *, headers: dict[str, str], until: str, seconds: float = 10) -> str:
    """What the SSE stream sent until ``until`` appeared (the connection is then dropped)."""

    async def read() -> str:
        key = client._credentials["HTTP_AUTHORIZATION"]
        response = await AsyncClient().get(STREAM, headers={"Authorization": key, **headers})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        text = ""
        async for chunk in response.streaming_content:
            text += chunk.decode()
            if until in text:
                break
        return text

    async def bounded() -> str:
        return await asyncio.wait_for(read(), seconds)

    return async_to_sync(bounded)()


def test_polling_returns_the_events_in_order_and_continues_after_an_id(client: Any) -> None:
    open_and_close()

    page = client.get(POLL).json()  # the key acts for one user: no user_id needed
    after = client.get(POLL, {"after": page["last_id"]}).json()

    names = [event["event"] for event in page["events"]]
    assert names[0] == "order.created"
    assert {"position.opened", "position.closed", "order.filled"} <= set(names)
    assert after == {"events": [], "last_id": page["last_id"]}


def test_polling_another_users_events_is_404_and_a_many_user_key_must_name_one(client: Any) -> None:
    assert client.get(POLL, {"user_id": OTHER_USER}).status_code == 404

    response = client_for(USER, OTHER_USER, name="two").get(POLL)

    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["user_id"]


def test_the_stream_resumes_after_last_event_id(client: Any) -> None:
    # given a bot saw events up to some id, then disconnected, and more happened
    open_and_close()
    seen = client.get(POLL, {"limit": 2}).json()["events"]

    # when it reconnects with Last-Event-ID
    text = read_stream(client, headers={"Last-Event-ID": seen[-1]["id"]}, until="event: position.closed")

    # then the stream continues right after that event, with ids and seed event names
    assert f"id: {seen[-1]['id']}\n" not in text
    assert text.startswith("retry: 3000")
    assert "event: position.opened" in text
    assert "event: position.closed" in text


def test_the_stream_sends_heartbeats_while_nothing_happens(client: Any, settings: Any) -> None:
    settings.API_EVENTS_HEARTBEAT_SECONDS = 0.1

    text = read_stream(client, headers={}, until=": heartbeat")

    assert ": heartbeat\n\n" in text


def test_the_stream_needs_a_key_and_hides_other_users() -> None:
    async def get(headers: dict[str, str], path: str = STREAM) -> Any:
        return await AsyncClient().get(path, headers=headers)

    anonymous = async_to_sync(get)({})
    assert anonymous.status_code == 401
    assert error_of(anonymous)["code"] == "not_authenticated"

    key = client_for(USER)._credentials["HTTP_AUTHORIZATION"]
    other = async_to_sync(get)({"Authorization": key}, f"{STREAM}?user_id={OTHER_USER}")
    assert other.status_code == 404


def test_a_position_opened_through_the_api_appears_in_the_poll(client: Any) -> None:
    client.post("/api/v1/positions/", {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long",
                                       "size": "0.1"}, format="json")  # fmt: skip

    events = client.get(POLL).json()["events"]

    opened = next(event for event in events if event["event"] == "position.opened")
    assert (opened["kind"], opened["data"]["size"], opened["data"]["user_id"]) == ("position", "0.1", USER)


def test_under_wsgi_the_stream_says_it_needs_asgi_instead_of_hanging(client: Any) -> None:
    response = client.get(STREAM)

    assert response.status_code == 501
    assert error_of(response)["code"] == "needs_asgi"


def test_polling_while_redis_is_down_is_a_503_with_retry_after(client: Any, settings: Any) -> None:
    cut_redis(settings)

    response = client.get(POLL, {"user_id": USER})

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert error_of(response)["code"] == "redis_unavailable"
