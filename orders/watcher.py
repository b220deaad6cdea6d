"""The order-fill watcher: one pass polls live orders, applies fills, runs the positions' periodic
work (marks and unrealized PnL, through ``orders.hooks``), drains the projection outbox, and
rebuilds the projection when Redis lost it. Several watchers may run at once on any number of
machines: orders are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and leased by pushing
``poll_after`` forward, so each order is polled by one watcher at a time and the exchange is
called outside the claim's transaction.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError

from orders import hooks, sync
from orders.models import Order
from tradingcore.enums import LIVE_ORDER_STATUSES
from tradingcore.exceptions import ExchangeError
from tradingcore.redis import outbox, rebuild

logger = logging.getLogger(__name__)
pass_logger = structlog.stdlib.get_logger(__name__)  # the pass report, as fields
ACTOR = "system:watch_orders"


@dataclass
class PassReport:
    """What one pass did."""

    orders_polled: int = 0
    orders_changed: int = 0
    errors: int = 0
    periodic_changes: int = 0  # marks refreshed, protection re-synced, ... (orders.hooks)
    outbox_drained: int = 0
    projection_rebuilt: bool = False
    projection_current: bool = False


def claim_orders(*, batch: int, lease: timedelta, due_by: datetime | None = None) -> list[Order]:
    """Claim up to ``batch`` live orders due for polling by ``due_by`` (default now); other watchers
    skip them until the lease ends."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Order.objects.select_for_update(skip_locked=True)
            .filter(status__in=list(LIVE_ORDER_STATUSES), poll_after__lte=due_by or now)
            .order_by("poll_after")[:batch]
        )
        Order.objects.filter(pk__in=[row.pk for row in rows]).update(poll_after=now + lease)
    return rows


def poll_order(order: Order, *, interval: timedelta) -> bool:
    """Refresh one claimed order; returns whether its status or fill changed."""
    before = (order.status, order.filled_qty)
    try:
        after = sync.refresh_order(order_id=order.pk, actor=ACTOR)
    finally:
        Order.objects.filter(pk=order.pk).update(poll_after=timezone.now() + interval)
    return (after.status, after.filled_qty) != before


def run_pass(*, batch: int = 200, interval: float = 2.0, refresh_marks: bool = True) -> PassReport:
    """One pass of the watcher over every due order; never raises for one order's failure."""
    report = PassReport()
    lease = timedelta(seconds=max(30.0, interval * 5))
    # Only what was due when the pass started: an order polled in this pass is due again after
    # ``interval``, and with more orders than one interval's worth of polling the pass would
    # otherwise never end (nor drain the outbox, refresh marks or confirm the projection).
    started = timezone.now()
    while True:
        claimed = claim_orders(batch=batch, lease=lease, due_by=started)
        for order in claimed:
            report.orders_polled += 1
            try:
                report.orders_changed += poll_order(order, interval=timedelta(seconds=interval))
            except ExchangeError as exc:
                report.errors += 1
                logger.warning("watch_orders: order %s: %s", order.pk, exc)
        if len(claimed) < batch:
            break
    if refresh_marks:
        report.periodic_changes = hooks.run_periodic(ACTOR)
    report.outbox_drained = outbox.drain_outbox()
    report.projection_rebuilt = rebuild.rebuild_if_lost()
    report.projection_current = _confirm_current()
    return report


def _confirm_current() -> bool:
    try:
        return outbox.confirm_current_if_caught_up()
    except RedisError as exc:
        logger.warning("watch_orders: redis unavailable: %s", exc)
        return False


def run_forever(stop: threading.Event, *, interval: float = 2.0, batch: int = 200) -> None:
    """Run passes every ``interval`` seconds until ``stop`` is set (SIGTERM / SIGINT). Every log
    line of a pass carries its ``pass_id``."""
    walk = getattr(settings, "TRADING_PAPER_RANDOM_WALK", False)
    while not stop.is_set():
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(pass_id=uuid.uuid4().hex[:16]):
            if walk:
                _advance_paper_walk()
            try:
                _log_pass(run_pass(batch=batch, interval=interval), seconds=time.monotonic() - started)
            except Exception:
                logger.exception("watch_orders: pass failed; continuing")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def _log_pass(report: PassReport, *, seconds: float) -> None:
    """The pass's report as fields: at INFO when it changed or repaired something or met an error."""
    eventful = report.orders_changed or report.errors or report.outbox_drained or report.projection_rebuilt
    level = logging.INFO if eventful else logging.DEBUG
    pass_logger.log(level, "watch_orders pass", **asdict(report), seconds=round(seconds, 3))


def _advance_paper_walk() -> None:
    """Demo mode: move every paper mark one random step (deterministic per step)."""
    from tradingcore.exchange import paper

    paper.advance_random_walk()
