"""A reader polling every layout during many projections never sees half a change (one MULTI/EXEC)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.utils import timezone

from positions.models import Position as PositionRow
from tests.tradingcore.redis.factories import SYMBOL, USER, D, make_position
from tradingcore.redis import keys
from tradingcore.redis.projector import project_position

WRITES = 150
REOPEN_EVERY = 25


def check_snapshot(snapshot: list[Any], grid_id: str) -> list[str]:
    """Invariants every write preserves: entry = 1000 + 100 x size, and all layouts agree."""
    unified, index, legacy, unified_grid, grid_level = snapshot
    problems = []
    if unified:
        size, entry = D(unified["size"]), D(unified["entry_price"])
        if entry - 1000 != size * 100:
            problems.append(f"unified hash mixes two writes: size {size} entry {entry}")
        if unified["id"] not in index:
            problems.append("open position missing from its index")
        legacy_values = (D(legacy.get("position_qty", "-1")), D(legacy.get("entry_price", "-1")))
        if legacy_values != (size, entry):
            problems.append(f"legacy hash {legacy} disagrees with unified {unified['size']}@{unified['entry_price']}")
    elif legacy or index - {grid_id}:
        problems.append(f"closed position still visible: legacy={legacy} index={index}")
    if unified_grid:
        size, entry = D(unified_grid["size"]), D(unified_grid["entry_price"])
        if entry - 1000 != size * 100:
            problems.append("grid hash mixes two writes")
        if D(grid_level["entry_price"]) != entry or D(grid_level["position_size"]) != size / D("0.01"):
            problems.append(f"GRID level {grid_level} disagrees with unified grid {size}@{entry}")
    return problems


@pytest.mark.django_db(transaction=True)
def test_reader_never_sees_half_a_change(settings: Any) -> None:
    position = make_position(size=D("0.01"), entry_price=D("1001"))
    grid = make_position(grid_level=3, size=D("0.01"), entry_price=D("1001"))
    project_position(position.pk)
    project_position(grid.pk)
    stop = threading.Event()
    problems: list[str] = []
    seen = {"open": 0, "closed": 0}

    def reader() -> None:
        client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
        while not stop.is_set():
            pipe = client.pipeline(transaction=True)
            pipe.hgetall(keys.position(USER, "okx", SYMBOL, "long"))
            pipe.smembers(keys.position_index(USER, "okx"))
            pipe.hgetall(keys.hyperrsi_position(USER, SYMBOL, "long"))
            pipe.hgetall(keys.position(USER, "okx", SYMBOL, "long", 3))
            pipe.hgetall(keys.grid_level("okx", USER, SYMBOL, 3))
            snapshot = pipe.execute()
            seen["open" if snapshot[0] else "closed"] += 1
            problems.extend(check_snapshot(snapshot, str(grid.pk)))
        client.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for step in range(2, WRITES + 2):
            size, entry = Decimal(step) * D("0.01"), Decimal(1000 + step)
            now = timezone.now()
            changes = {"size": size, "entry_price": entry, "entry_price_precise": entry, "updated_at": now}
            PositionRow.objects.filter(pk__in=[position.pk, grid.pk]).update(**changes)
            project_position(position.pk)
            project_position(grid.pk)
            if step % REOPEN_EVERY == 0:
                PositionRow.objects.filter(pk=position.pk).update(status="closed", closed_at=now)
                project_position(position.pk)
                position = make_position(size=size, entry_price=entry, created_at=now + timedelta(seconds=1))
                project_position(position.pk)
    finally:
        stop.set()
        thread.join()

    assert problems == []
    assert seen["open"] > 0
