"""App config of the shared trading domain."""

from django.apps import AppConfig
from django.conf import settings


class TradingCoreConfig(AppConfig):
    name = "tradingcore"
    verbose_name = "Trading core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        if settings.EMBEDDED_REDIS:
            from tradingcore import embedded_redis

            embedded_redis.ensure_running()
