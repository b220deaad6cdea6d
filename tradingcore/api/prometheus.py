"""``GET /metrics``: the Prometheus text format, for the whole server (``tradingcore.metrics``).

No authentication, like ``/healthz``: it shows counts and latencies, no trading data; keep it on
the internal network (the proxy need not route it).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tradingcore.metrics import scrape_registry


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
