"""The positions app: registers how fills reach the ledger and how the projection reads positions."""

from django.apps import AppConfig


class PositionsConfig(AppConfig):
    name = "positions"
    verbose_name = "Positions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from orders import hooks
        from positions import ledger, liquidations, marks, projection, protection
        from tradingcore.redis import sources

        hooks.register_fill_applier(ledger.apply_fill)
        hooks.register_after_fills(protection.after_fills)
        hooks.register_periodic(marks.refresh_all_marks)
        hooks.register_periodic(liquidations.check_liquidations)
        hooks.register_periodic(protection.resync_unprotected)
        sources.register(projection.SOURCE)
