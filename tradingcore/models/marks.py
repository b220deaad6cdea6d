"""The mark price history of each market, for the operators' charts."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tradingcore.enums import Exchange
from tradingcore.fields import MoneyField


class MarkSample(models.Model):
    """One mark price of one market (exchange, native symbol) at one time.

    Written by ``tradingcore.mark_history.record`` when marks are refreshed (the fill watcher does
    it every pass), at most once per market every ``SAMPLE_INTERVAL``, and kept ``RETENTION``.
    Only the admin's position chart reads it: nothing in trading depends on it.
    """

    id = models.BigAutoField(primary_key=True)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    price = MoneyField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "mark_samples"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["exchange", "symbol", "at"], name="mark_samples_market_at_idx")]

    def __str__(self) -> str:
        return f"{self.exchange} {self.symbol} {self.price} at {self.at:%Y-%m-%d %H:%M:%S}"
