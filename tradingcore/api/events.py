"""Live events for bots, from the Redis stream ``events:{user_id}`` (capped, newest 10 000 kept).

Each change of a position or order is published there after commit with the seeds' event names
(``position.opened``, ``order.filled``, ...) and the entity's current state. Two ways to read it:

- ``GET /api/v1/events/stream?user_id=U``: Server-Sent Events, one stream per user. Each event
  carries ``id:`` (the stream entry id), ``event:`` (the seed name) and ``data:`` (JSON); a
  comment line is sent as a heartbeat every ``API_EVENTS_HEARTBEAT_SECONDS``. A reconnecting
  client sends ``Last-Event-ID`` (or ``?after=``) and resumes right after it; without either the
  stream starts with the next event. An async view: under ASGI one worker holds many streams.
- ``GET /api/v1/events/?user_id=U&after=ID&limit=N``: the next events after ``ID`` (from the
  oldest kept without it), for bots that cannot hold a connection.

``user_id`` may be left out when the API key acts for exactly one user; a user outside the key's
scope answers 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import weakref
from collections.abc import AsyncIterator
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from redis import asyncio as redis_asyncio
from redis.exceptions import RedisError
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from tradingcore.api.authentication import Scope, ascope_of, scope_of
from tradingcore.api.errors import REDIS_RETRY_SECONDS, error_body, status_of
from tradingcore.api.schema import error_responses
from tradingcore.api.views import validated
from tradingcore.exceptions import ObjectNotFound, TradingError
from tradingcore.redis import keys
from tradingcore.redis.projector import redis_client
from tradingcore.validation import invalid

logger = logging.getLogger(__name__)

ENTRY_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")
STREAM_BATCH = 100
MAX_POLL = 1000


def stream_user(scope: Scope, requested: str | None) -> str:
    """The user whose stream is read: ``requested``, or the key's only user."""
    if requested is None:
        if scope.all_users or len(scope.user_ids) != 1:
            raise invalid("user_id", "required unless the API key acts for exactly one user")
        return next(iter(scope.user_ids))
    if not scope.allows(requested):
        raise ObjectNotFound(f"no events for user {requested}")
    return requested


def entry_id(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not ENTRY_ID.match(value):
        raise invalid(field, "a stream entry id such as 1700000000000-0")
    return value


def event_of(entry: str, fields: dict[str, str]) -> dict[str, Any]:
    """One stream entry as the API shows it."""
    try:
        data = json.loads(fields.get("data") or "{}")
    except ValueError:
        data = {}
    return {"id": entry, "event": fields.get("event", ""), "kind": fields.get("kind", ""),
            "object_id": fields.get("id", ""), "status": fields.get("status", ""), "data": data}  # fmt: skip


# -- polling -------------------------------------------------------------------------------------


class StreamEventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="stream entry id; pass it as `after` to continue")
    event = serializers.CharField(help_text="position.opened, position.updated, position.closed, order.created, ...")
    kind = serializers.ChoiceField(choices=["position", "order"])
    object_id = serializers.CharField()
    status = serializers.CharField()
    data = serializers.DictField(help_text="the position or order as projected (the unified Redis hash)")  # type: ignore[assignment]


class EventPageSerializer(serializers.Serializer):
    events = StreamEventSerializer(many=True)
    last_id = serializers.CharField(allow_null=True, help_text="the id to pass as `after` next time")


class EventQuerySerializer(serializers.Serializer):
    user_id = serializers.CharField(required=False, max_length=64)
    after = serializers.RegexField(ENTRY_ID, required=False, help_text="return events after this entry id")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_POLL, default=100)


@extend_schema(
    summary="Events after an id (polling)",
    parameters=[EventQuerySerializer],
    responses={200: EventPageSerializer, **error_responses(400, 404)},
)
@api_view(["GET"])
def poll_events(request: Request) -> Response:
    """Up to ``limit`` events after ``after`` (from the oldest kept without it); ``last_id`` continues."""
    query = validated(EventQuerySerializer, request.query_params)
    user_id = stream_user(scope_of(request), query.get("user_id"))
    after = query.get("after")
    start = "-" if after is None else f"({after}"
    entries: Any = redis_client().xrange(keys.events(user_id), min=start, max="+", count=query["limit"])
    events = [event_of(entry, fields) for entry, fields in entries]
    return Response({"events": events, "last_id": events[-1]["id"] if events else after})


# -- Server-Sent Events -------------------------------------------------------------------------------

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis_asyncio.Redis] = weakref.WeakKeyDictionary()


def _async_client() -> Any:
    """One redis.asyncio client per event loop (a stream blocks one pooled connection while it waits)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        redis_client()  # starts the embedded server first when there is one
        client = _clients[loop] = redis_asyncio.from_url(settings.REDIS_URL, decode_responses=True)
    return client


def sse_event(entry: str, fields: dict[str, str]) -> str:
    event = event_of(entry, fields)
    return f"id: {entry}\nevent: {event['event']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


async def sse_events(user_id: str, after: str | None) -> AsyncIterator[str]:
    """The SSE text of ``events:{user_id}`` after ``after`` (from the next event without it), with
    heartbeats; runs until the client goes away."""
    client, key = _async_client(), keys.events(user_id)
    reply: Any
    if after is None:
        newest = await client.xrevrange(key, count=1)
        after = newest[0][0] if newest else "0-0"
    heartbeat_ms = int(settings.API_EVENTS_HEARTBEAT_SECONDS * 1000)
    yield f"retry: 3000\n: events of user {user_id}\n\n"
    while True:
        try:
            reply = await client.xread({key: after}, count=STREAM_BATCH, block=heartbeat_ms)
        except RedisError as exc:  # Redis restarting: keep the stream, say so, and read on from ``after``
            logger.warning("event stream of %s: Redis unavailable: %s", user_id, exc)
            yield ": redis unavailable, retrying\n\n"
            await asyncio.sleep(REDIS_RETRY_SECONDS)
            continue
        if not reply:
            yield ": heartbeat\n\n"
            continue
        for entry, fields in reply[0][1]:
            after = entry
            yield sse_event(entry, fields)


def _error(exc: TradingError) -> JsonResponse:
    return JsonResponse(error_body(exc.code, exc.message, exc.details), status=status_of(exc))


async def event_stream(request: HttpRequest) -> HttpResponseBase:
    """``text/event-stream`` of one user's events; see the module docstring. Under WSGI (runserver)
    a stream would never start (Django collects a whole async stream first): 501 there."""
    if not isinstance(request, ASGIRequest):
        body = error_body("needs_asgi", "the event stream needs an ASGI server; poll GET /api/v1/events/")
        return JsonResponse(body, status=501)
    scope = await ascope_of(request)
    if scope is None:
        body = error_body("not_authenticated", "an API key or a staff session is required")
        return JsonResponse(body, status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
    try:
        user_id = stream_user(scope, request.GET.get("user_id"))
        after = entry_id(request.headers.get("Last-Event-ID"), "Last-Event-ID") or entry_id(
            request.GET.get("after"), "after"
        )
    except TradingError as exc:
        return _error(exc)
    response = StreamingHttpResponse(sse_events(user_id, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
