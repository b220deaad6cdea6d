"""``GET /healthz``: the database, Redis and the projection outbox, for load balancers and operators.

200 ``{"status": "ok", "checks": {...}}`` when all three are fine; 503 ``{"status": "failing",
"failing": [...], "checks": {...}}`` naming the parts that are not: the database does not answer,
Redis does not answer (API writes still succeed then, the outbox keeps the work), or the oldest
outbox row is older than ``HEALTH_OUTBOX_MAX_AGE_SECONDS`` (the projection is stuck). No
authentication: it reveals no trading data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from tradingcore.models import OutboxEntry
from tradingcore.redis.projector import redis_client


def database_check() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def redis_check() -> dict[str, Any]:
    return {"ok": bool(redis_client().ping())}


def outbox_check() -> dict[str, Any]:
    oldest = OutboxEntry.objects.order_by("id").values_list("created_at", flat=True).first()
    age = 0.0 if oldest is None else (timezone.now() - oldest).total_seconds()
    return {
        "ok": age <= settings.HEALTH_OUTBOX_MAX_AGE_SECONDS,
        "depth": OutboxEntry.objects.count(),
        "oldest_age_seconds": round(age, 3),
    }


CHECKS = {"database": database_check, "redis": redis_check, "outbox": outbox_check}


def run_checks() -> dict[str, dict[str, Any]]:
    results = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - a failing part is reported, never raised
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return results


HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "failing"]),
        "failing": serializers.ListField(child=serializers.CharField(), required=False),
        "checks": serializers.DictField(child=serializers.DictField()),
    },
)


@extend_schema(summary="Health of the database, Redis and the outbox", responses={200: HealthSerializer,
               503: HealthSerializer}, auth=[])  # fmt: skip
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def healthz(request: Request) -> Response:
    """200 when the database, Redis and the outbox are fine; 503 naming the failing parts."""
    checks = run_checks()
    failing = [name for name, result in checks.items() if not result["ok"]]
    if failing:
        return Response({"status": "failing", "failing": failing, "checks": checks}, status=503)
    return Response({"status": "ok", "checks": checks})
