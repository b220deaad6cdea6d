"""Root URL configuration.

``/`` leads to the API documentation; ``/admin/`` is the operators' site; ``/api/v1/`` the bots'
REST API (schema at ``/api/schema/``, Swagger UI at ``/api/docs/``); ``/position/...`` the
HYPERRSI compatibility routes; ``/healthz`` and ``/metrics`` for operations.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from orders.api import urls as orders_urls
from positions.api import urls as positions_urls
from tradingcore.api import events, health, paper, prometheus

api_v1 = [
    *positions_urls.v1,
    *orders_urls.v1,
    path("events/", events.poll_events, name="events"),
    path("events/stream", events.event_stream, name="events-stream"),
    path("paper/marks/", paper.set_paper_mark, name="paper-marks"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="api-docs", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include(api_v1)),
    path("position/", include(positions_urls.hyperrsi)),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", prometheus.metrics, name="metrics"),
]

handler404 = "tradingcore.api.errors.json_404"
handler500 = "tradingcore.api.errors.json_500"
