"""A rebuild runs while the service keeps changing things: a change projected after the rebuild
read its user must not be overwritten by the older state the rebuild read (its write is not
guarded by versions). Found by the load and fault suite: the fill watcher rebuilt the projection
after Redis restarted empty while bots kept trading, and an order cancelled meanwhile stayed
``open`` in Redis with its outbox row gone (``verify_redis``: status expected 'cancelled', actual
'open')."""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections

from orders.services import OrderManager
from tests.managers import BTC, USER, mark
from tradingcore.redis import rebuild, verify

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 15


def rebuild_in_a_thread() -> threading.Thread:
    def run() -> None:
        try:
            rebuild.rebuild(user_ids=[USER])
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_change_projected_while_a_rebuild_runs_is_never_overwritten() -> None:
    # given a user with many resting orders (a rebuild of the user takes a while)
    mark("45000")
    manager = OrderManager()
    orders = [
        manager.create_order(
            user_id=USER,
            exchange="okx",
            symbol=BTC,
            side="buy",
            order_type="limit",
            quantity="0.01",
            price=str(Decimal("44000") - step),
        )  # fmt: skip
        for step in range(100)
    ]
    rng = random.Random(7)
    drifted = []
    for order in orders[:ROUNDS]:
        # when an order is cancelled (and projected at once) while the user is being rebuilt
        rebuilder = rebuild_in_a_thread()
        time.sleep(rng.uniform(0, 0.03))
        manager.cancel_order(order.id)
        rebuilder.join(timeout=60)

        # then Redis holds the cancel once the rebuild is done
        drifted += [str(drift) for drift in verify.verify(user_ids=[USER]).drifts]
    assert drifted == []
