"""The request id: one per request, on every log line of it and in the response's ``X-Request-ID``.

A client (or the proxy in front) may send ``X-Request-ID``; a value of at most 128 letters, digits
and ``._:-`` is kept, anything else is replaced by a fresh UUID, so a log line never carries what a
client smuggled into it. The id is put back into the request's header for django-structlog's
``RequestMiddleware`` (next in ``MIDDLEWARE``, trusting it), which binds it to the logging context
and writes the request's ``request_finished`` line; to that line this module adds the request's
duration and, for a bot, the key's actor (``api:<key name>``) or, for a staff session, ``admin:<user>``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from django_structlog import signals

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def assign_request_id(request: HttpRequest) -> str:
    """The client's id when it is valid, else a new one; stored back in the request's header."""
    given = request.META.get(META_KEY, "")
    request_id = given if VALID_REQUEST_ID.fullmatch(given) else str(uuid.uuid4())
    request.META[META_KEY] = request_id
    request.started_at = time.perf_counter()  # type: ignore[attr-defined]
    return request_id


class RequestIdMiddleware:
    """Assigns the request id before anything logs, and returns it in ``X-Request-ID``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self.is_async:
            return self._acall(request)
        request_id = assign_request_id(request)
        response: HttpResponse = self.get_response(request)
        response[HEADER] = request_id
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        request_id = assign_request_id(request)
        response: HttpResponse = await self.get_response(request)
        response[HEADER] = request_id
        return response


def actor_of(request: HttpRequest) -> str | None:
    """Who made the request, without loading a session user nobody looked at."""
    from tradingcore.api.authentication import KeyUser

    user = request.__dict__.get("user")
    if isinstance(user, KeyUser):
        return str(user)
    wrapped = getattr(user, "_wrapped", empty)  # the session user, once the request loaded it
    if wrapped is not empty and getattr(wrapped, "is_authenticated", False):
        return f"admin:{getattr(wrapped, 'username', '')}"
    return None


@receiver(signals.bind_extra_request_finished_metadata)
def add_duration_and_actor(sender: Any, request: HttpRequest, log_kwargs: dict[str, Any], **kwargs: Any) -> None:
    started = getattr(request, "started_at", None)
    if started is not None:
        log_kwargs["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    actor = actor_of(request)
    if actor:
        log_kwargs["actor"] = actor
