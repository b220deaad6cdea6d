"""The one exception handler of the API: every error answers ``{"error": {"code", "message", "details"}}``.

Our exceptions (``tradingcore.exceptions``) map to statuses by class: 400 invalid input and
permanent exchange refusals, 403 acting for a user the key does not cover, 404 unknown or another
user's objects, 409 conflicts with the current state, 422 an idempotency key reused for another
request, 503 with ``Retry-After`` when the exchange is unreachable or the outcome of an order is
unknown. DRF's own exceptions keep their statuses (400 validation, 401, 405, 406, 415, ...) with the
same body; a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` answers 413, Django's other refusals of a
malformed request 400. Anything else is a bug: it is logged and answered 500 with the same body.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from redis.exceptions import RedisError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from tradingcore.exceptions import (
    ConfigurationError,
    Conflict,
    ExchangeError,
    ExchangeUnavailable,
    InvalidInput,
    ObjectNotFound,
    OrderOutcomeUnknown,
    OrderRejected,
    TradingError,
)

logger = logging.getLogger(__name__)

# Retry-After of a 503 while Redis (the live events' store) is unavailable.
REDIS_RETRY_SECONDS = 2


class UserNotAllowed(TradingError):
    """The API key does not act for this user."""

    code = "user_not_allowed"


class IdempotencyKeyReused(TradingError):
    """The idempotency key was already used for a different request."""

    code = "idempotency_key_reused"


class IdempotencyInProgress(TradingError):
    """A request with this idempotency key is still being processed; retry shortly."""

    code = "idempotency_in_progress"


# Most specific first: ExchangeOrderNotFound is an ExchangeError and an ObjectNotFound (404).
STATUS_BY_ERROR: tuple[tuple[type[TradingError], int], ...] = (
    (UserNotAllowed, 403),
    (IdempotencyKeyReused, 422),
    (IdempotencyInProgress, 409),
    (ObjectNotFound, 404),
    (InvalidInput, 400),
    (Conflict, 409),
    (ConfigurationError, 400),
    (OrderRejected, 400),
    (ExchangeUnavailable, 503),
    (OrderOutcomeUnknown, 503),
    (ExchangeError, 503),
)
# Seconds a client should wait before retrying (Retry-After).
RETRY_AFTER_BY_ERROR: tuple[tuple[type[TradingError], int], ...] = (
    (IdempotencyInProgress, 1),
    (OrderOutcomeUnknown, 10),
    (ExchangeError, 5),
)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def status_of(exc: TradingError) -> int:
    return next((status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls)), 400)


def retry_after_of(exc: TradingError) -> int | None:
    return next((seconds for cls, seconds in RETRY_AFTER_BY_ERROR if isinstance(exc, cls)), None)


def trading_error_response(exc: TradingError) -> Response:
    status = status_of(exc)
    retry_after = retry_after_of(exc) if status in (409, 503) else None
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(error_body(exc.code, exc.message, _plain(exc.details)), status=status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: one body for every error, never Django's HTML page."""
    if isinstance(exc, TradingError):
        return trading_error_response(exc)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(error_body("request_too_large", f"the request body is over {limit} bytes"), status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", str(exc) or "bad request"), status=400)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, drf.APIException):
        return _api_exception_response(exc)
    if isinstance(exc, RedisError):  # the live events need Redis; positions and orders never do
        logger.warning("Redis unavailable answering %s: %s", _where(context), exc)
        body = error_body("redis_unavailable", "the event store (Redis) is unavailable; retry shortly")
        return Response(body, status=503, headers={"Retry-After": str(REDIS_RETRY_SECONDS)})
    if isinstance(exc, IntegrityError):
        logger.warning("request conflicted with a database constraint: %s", exc)
        return Response(error_body("conflict", "the request conflicts with the current state"), status=409)
    logger.error("unexpected error answering %s", _where(context), exc_info=exc)
    return Response(error_body("internal_error", "unexpected server error"), status=500)


def _api_exception_response(exc: drf.APIException) -> Response:
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
    if isinstance(exc, drf.ValidationError):
        details = _field_details(exc.detail)
        return Response(error_body("invalid", _summary(details), details), status=400, headers=headers)
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    return Response(error_body(str(code), str(exc.detail)), status=exc.status_code, headers=headers)


def _field_details(detail: Any) -> dict[str, Any]:
    plain = _plain(detail)
    return plain if isinstance(plain, dict) else {"non_field_errors": plain if isinstance(plain, list) else [plain]}


def _summary(details: dict[str, Any]) -> str:
    """``"size: must be greater than zero"``: the first problem, naming its field."""
    for field, problems in details.items():
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, dict):
            return f"{field}.{_summary(first)}"
        return f"{field}: {first}"
    return "invalid request"


def _plain(value: Any) -> Any:
    """ErrorDetail, Decimal and other values as JSON-ready strings, lists and dicts."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, bool | int):
        return value
    return str(value)


def _where(context: dict[str, Any]) -> str:
    request = context.get("request")
    return f"{request.method} {request.path}" if request is not None else "a request"


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """``handler404``: an unknown URL answers the error body too."""
    return JsonResponse(error_body("not_found", "no such resource"), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    """``handler500``: the last resort, still the error body."""
    return JsonResponse(error_body("internal_error", "unexpected server error"), status=500)
