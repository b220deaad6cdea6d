"""Publish the Redis projection outbox (SPEC 6.4): once, or in a loop with ``--loop``."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from redis.exceptions import RedisError

from tradingcore.redis.outbox import drain_outbox, pending_count
from tradingcore.redis.projector import redis_client

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Publish pending projection outbox rows to Redis in id order and print how many were published "
        "('published N'). Safe to run in several processes. Exit status 1 when Redis is unreachable and rows "
        "remain. With --loop, drains every --interval seconds until interrupted, surviving outages."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=None, help="publish at most this many rows per run")
        parser.add_argument("--loop", action="store_true", help="keep draining until interrupted")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between runs with --loop")

    def handle(self, *args: Any, limit: int | None, loop: bool, interval: float, **options: Any) -> None:
        if loop:
            self._loop(limit, interval)
            return
        self.stdout.write(f"published {drain_outbox(limit=limit)}")
        pending = pending_count()
        if pending and not self._redis_reachable():
            raise CommandError(f"Redis unreachable: {pending} outbox rows still pending", returncode=1)

    def _loop(self, limit: int | None, interval: float) -> None:
        try:
            while True:
                try:
                    published = drain_outbox(limit=limit)
                except (DatabaseError, RedisError) as exc:
                    logger.warning("outbox drain failed, retrying in %ss: %s", interval, exc)
                    published = 0
                if published:
                    self.stdout.write(f"published {published}")
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _redis_reachable(self) -> bool:
        try:
            redis_client().ping()
        except RedisError:
            return False
        return True
