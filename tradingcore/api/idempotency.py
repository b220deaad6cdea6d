"""Idempotent POSTs: a retry gets the first response back and never acts twice.

A POST that places an order or opens or closes a position may carry an ``Idempotency-Key``
header (1 to 255 printable characters); without one, the body's ``client_order_id`` serves as
the key. Keys are scoped to the API key (or staff user) that sent them.

How it holds, even for two requests arriving at once on two workers: the request takes a lock
named after (owner, key) (a PostgreSQL advisory lock, so every worker shares it; no transaction
is held), then looks for a stored response. Found and made for the same method, path and body:
it is returned as it was (same status, the same body byte for byte, header
``Idempotent-Replayed: true``). Found for another request: 422 ``idempotency_key_reused``. Not
found: the request runs, and its response is rendered and stored before the lock is released, so
the request waiting on the lock replays it. A waiter gives up after
``API_IDEMPOTENCY_WAIT_SECONDS`` with 409 ``idempotency_in_progress`` and ``Retry-After``.

Responses with status 500 or more are not stored (the exchange was unreachable, or the outcome is
unknown): the retry runs again, and the order cannot be placed twice because a keyed request
without a ``client_order_id`` gets one derived from its key (``derived_client_order_id``), which the
order services deduplicate. Stored responses are replayed for ``API_IDEMPOTENCY_TTL_SECONDS``
(24 hours); an expired record is replaced by the next request with its key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseBase
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from tradingcore import locks
from tradingcore.api.authentication import scope_of
from tradingcore.api.errors import IdempotencyInProgress, IdempotencyKeyReused
from tradingcore.models import IdempotencyRecord
from tradingcore.validation import invalid

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
PURGE_BATCH = 100
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One keyed request: whose key it is, the key, and what the request asks."""

    owner: str
    key: str
    fingerprint: str

    @property
    def lock_name(self) -> str:
        return f"{self.owner}:{self.key}"


def header_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header, None when absent; ``InvalidInput`` when malformed."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.match(key):
        raise invalid(HEADER, "1 to 255 printable ASCII characters")
    return key


def attempt_of(request: Request) -> Attempt | None:
    """The request's idempotency key (the header, else the body's ``client_order_id``), or None."""
    key = header_key(request)
    data = request.data
    if key is None and isinstance(data, dict) and isinstance(data.get("client_order_id"), str):
        key = f"client_order_id:{data['client_order_id']}"
    if key is None:
        return None
    body = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
    return Attempt(owner=scope_of(request).owner, key=key, fingerprint=fingerprint)


def derived_client_order_id(request: Request) -> str | None:
    """The client order id of a request keyed by header: the same for every retry of it."""
    key = header_key(request)
    if key is None:
        return None
    return hashlib.sha256(f"{scope_of(request).owner}:{key}".encode()).hexdigest()[:32]


def idempotent(action: Callable[..., Response]) -> Callable[..., HttpResponseBase]:
    """Make a DRF view action replay its first response to retries with the same key (the bytes
    first answered, as an ``HttpResponse``)."""

    @functools.wraps(action)
    def run(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        attempt = attempt_of(request)
        if attempt is None:
            return action(view, request, *args, **kwargs)
        wait = settings.API_IDEMPOTENCY_WAIT_SECONDS
        with locks.idempotency_lock(attempt.lock_name, timeout=wait) as held:
            if not held:
                raise IdempotencyInProgress(details={HEADER: ["a request with this key is still running"]})
            replay = stored_response(attempt)
            if replay is not None:
                return replay
            response = _respond(view, request, action, *args, **kwargs)
            # Rendered here, as the client will get it, so that the bytes stored are the bytes sent.
            response = view.finalize_response(request, response, *args, **kwargs)
            response.render()
            remember(attempt, response)
            return response

    return run


def _respond(view: Any, request: Request, action: Callable[..., Response], *args: Any, **kwargs: Any) -> Response:
    # Errors become their response here, inside the lock, so that they are stored and replayed too.
    try:
        return action(view, request, *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - handed to the API's exception handler
        return view.handle_exception(exc)


def stored_response(attempt: Attempt) -> HttpResponseBase | None:
    """The stored first response for ``attempt``'s key; ``IdempotencyKeyReused`` when it was made
    for another request. An expired record is deleted and None returned."""
    record = IdempotencyRecord.objects.filter(owner=attempt.owner, key=attempt.key).first()
    if record is None:
        return None
    if record.expires_at <= timezone.now():
        record.delete()
        return None
    if record.fingerprint != attempt.fingerprint:
        raise IdempotencyKeyReused(
            "this idempotency key was already used for a different request",
            details={HEADER: ["already used for another method, path or body"]},
        )
    if record.content is None:  # stored before the rendered content was kept
        return Response(record.body, status=record.status_code, headers={REPLAYED_HEADER: "true"})
    return HttpResponse(
        bytes(record.content), status=record.status_code, content_type=record.content_type or None,
        headers={REPLAYED_HEADER: "true"},
    )  # fmt: skip


def remember(attempt: Attempt, response: Response) -> None:
    """Store a final, rendered response (status below 500) for the key's retries: its bytes and
    content type, replayed as they are, and its data as JSON for reading. Purges a few expired
    records. Never fails the request: without a record a retry runs again and the order services
    find its order by client order id."""
    if response.status_code >= 500:
        return
    now = timezone.now()
    body = json.loads(JSONRenderer().render(response.data) or b"null")
    try:
        expired = IdempotencyRecord.objects.filter(expires_at__lte=now).values("pk")[:PURGE_BATCH]
        IdempotencyRecord.objects.filter(pk__in=expired).delete()
        IdempotencyRecord.objects.create(
            owner=attempt.owner, key=attempt.key, fingerprint=attempt.fingerprint, status_code=response.status_code,
            body=body, content=response.content, content_type=response.get("Content-Type", ""), created_at=now,
            expires_at=now + timedelta(seconds=settings.API_IDEMPOTENCY_TTL_SECONDS),
        )  # fmt: skip
    except DatabaseError:
        logger.exception("could not store the response to idempotency key %s of %s", attempt.key, attempt.owner)
