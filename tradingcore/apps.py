"""App config of the shared trading domain."""

import os

from django.apps import AppConfig


class TradingCoreConfig(AppConfig):
    name = "tradingcore"
    verbose_name = "Trading core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from tradingcore import db, metrics
        from tradingcore.exchange.paper import gateway
        from tradingcore.models import ExchangeAccount

        db.widen_psycopg_statement_cache()
        # A forked process (the legacy import's workers) opens connections of its own.
        os.register_at_fork(after_in_child=db.forget_inherited_connections)
        metrics.register_outbox_depth()
        metrics.register_projection_freshness()
        for signal in (post_save, post_delete):
            signal.connect(gateway.forget_position_modes, sender=ExchangeAccount, dispatch_uid="paper-position-modes")
