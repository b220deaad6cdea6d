"""The fill watcher: claims with SKIP LOCKED, applies fills, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from orders import watcher
from orders.models import Order
from orders.services import OrderManager
from tests.managers import btc, mark
from tradingcore.enums import OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def resting_orders(count: int) -> list[Order]:
    mark("45000")
    manager = OrderManager()
    for index in range(count):
        manager.create_order(**btc(side="buy", order_type="limit", quantity="0.01", price=str(40000 + index)))
    return list(Order.objects.all())


def test_concurrent_watchers_never_claim_the_same_order() -> None:
    resting_orders(12)
    claims: list[list[str]] = []
    barrier = threading.Barrier(3)

    def claim() -> None:
        barrier.wait()
        claims.append([str(o.pk) for o in watcher.claim_orders(batch=5, lease=timedelta(seconds=60))])
        connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed = [pk for batch in claims for pk in batch]
    assert len(claimed) == len(set(claimed)) == 12
    assert watcher.claim_orders(batch=5, lease=timedelta(seconds=60)) == []  # all leased


def test_a_pass_applies_fills_of_orders_that_filled_on_the_exchange() -> None:
    orders = resting_orders(3)
    mark("39000")  # crosses every limit

    report = watcher.run_pass(interval=0.1)

    assert report.orders_polled == 3
    assert report.orders_changed == 3
    assert {Order.objects.get(pk=o.pk).status for o in orders} == {OrderStatus.FILLED}


def test_a_pass_ends_when_polling_its_orders_takes_longer_than_the_interval() -> None:
    # Found by the scale benchmark: 1,000 resting orders took longer to poll than the 2 s interval,
    # so the first ones were due again before the last; the pass claimed them forever and never
    # drained the outbox. Interval 0 makes every polled order due again at once.
    resting_orders(5)
    reports: list[watcher.PassReport] = []

    def one_pass() -> None:
        reports.append(watcher.run_pass(batch=2, interval=0))
        connections.close_all()

    thread = threading.Thread(target=one_pass, daemon=True)
    thread.start()
    thread.join(timeout=60)

    assert not thread.is_alive(), "the pass kept claiming the orders it had just polled"
    assert reports[0].orders_polled == 5


def test_watch_orders_stops_cleanly_on_sigterm() -> None:
    resting_orders(1)
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    environment = {**os.environ, "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "watch_orders", "--interval", "0.2"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "watching orders" in process.stdout.readline()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()

    assert process.returncode == 0, output
    assert "stopped" in output
