"""The orders app: registers how the projection reads orders, and the orders-by-status gauge."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders import projection
        from orders.api import metrics
        from tradingcore.redis import sources

        sources.register(projection.SOURCE)
        metrics.register()
