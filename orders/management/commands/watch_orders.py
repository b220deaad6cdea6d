"""``manage.py watch_orders``: the long-running fill watcher."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from orders import watcher

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Poll live orders on their exchanges, apply fills, refresh marks and unrealized PnL, and drain "
        "the Redis projection outbox. Safe to run several copies at once. Stops cleanly on SIGTERM/SIGINT; "
        "--once runs a single pass."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between passes (default 2)")
        parser.add_argument("--batch", type=int, default=200, help="orders claimed per database round trip")

    def handle(self, *args: Any, once: bool, interval: float, batch: int, **options: Any) -> None:
        if once:
            report = watcher.run_pass(batch=batch, interval=interval)
            self.stdout.write(
                f"polled {report.orders_polled} orders, {report.orders_changed} changed, {report.errors} errors; "
                f"{report.periodic_changes} periodic changes (marks, protection); "
                f"{report.outbox_drained} outbox entries drained"
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        # Log lines, not output: in production they are JSON like the rest (config/logs.py).
        logger.info("watching orders every %ss; SIGTERM or Ctrl-C stops", interval)
        watcher.run_forever(stop, interval=interval, batch=batch)
        logger.info("stopped")
