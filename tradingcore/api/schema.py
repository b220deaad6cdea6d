"""What the OpenAPI schema says about errors and authentication, written once for every view.

``error_responses(...)`` documents the error body under each status a handler can answer;
``ApiKeyScheme`` documents ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_DESCRIPTIONS = {
    400: "Invalid request: the field is named in `details` (or the exchange refused the order for good).",
    401: "Missing, unknown or revoked API key.",
    403: "The API key does not act for this user.",
    404: "No such object, or it belongs to a user the key does not act for.",
    409: "Conflicts with the current state (close more than open, cancel a terminal order, a retry still running).",
    422: "The idempotency key was already used for a different request.",
    501: "The event stream needs an ASGI server; this one runs under WSGI (poll `GET /api/v1/events/`).",
    503: "The exchange is unreachable or the order's outcome is unknown; retry after `Retry-After` seconds.",
}


class ApiErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="stable machine-readable code, e.g. invalid, not_found, conflict")
    message = serializers.CharField(help_text="what went wrong, for a person")
    details = serializers.DictField(help_text="per-field problems or facts about the error")


class ApiErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = ApiErrorDetailSerializer()


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error responses of a handler: 401 always, plus ``statuses``."""
    return {
        status: OpenApiResponse(ApiErrorSerializer, description=ERROR_DESCRIPTIONS[status])
        for status in sorted({401, *statuses})
    }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <key>`` (``Token <key>`` works too)."""

    target_class = "tradingcore.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A key from `manage.py create_api_key`, sent as `Authorization: Bearer <key>`.",
        }


def add_event_stream(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document ``GET /api/v1/events/stream``, an async Django
    view (DRF views are synchronous, so the generator does not see it)."""
    error = {"$ref": "#/components/schemas/ApiError"}
    errors = {str(status): {"description": ERROR_DESCRIPTIONS[status], "content": {"application/json": {
        "schema": error}}} for status in (400, 401, 404, 501)}  # fmt: skip
    result["paths"]["/api/v1/events/stream"] = {
        "get": {
            "operationId": "api_v1_events_stream",
            "summary": "Live events (Server-Sent Events)",
            "description": (
                "`text/event-stream` of one user's events from the Redis stream `events:{user_id}`: each event has "
                "`id:` (the stream entry id), `event:` (position.opened, order.filled, ...) and `data:` (JSON, as in "
                "`GET /api/v1/events/`). A comment line is a heartbeat. Reconnect with `Last-Event-ID` (or `after`) "
                "to resume right after it; without either the stream starts with the next event. `user_id` may be "
                "left out when the key acts for exactly one user."
            ),
            "tags": ["api"],
            "parameters": [
                {"name": "user_id", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 64}},
                {"name": "after", "in": "query", "required": False, "schema": {"type": "string"}},
                {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "security": [{"ApiKey": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "the event stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                **errors,
            },  # fmt: skip
        }
    }
    return result
