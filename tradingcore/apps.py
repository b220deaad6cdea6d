"""App config of the shared trading domain."""

from django.apps import AppConfig


class TradingCoreConfig(AppConfig):
    name = "tradingcore"
    verbose_name = "Trading core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tradingcore import db, metrics

        db.widen_psycopg_statement_cache()
        metrics.register_outbox_depth()
        metrics.register_projection_freshness()
