"""rebuild_redis, verify_redis and drain_outbox against the real PostgreSQL and Redis."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tests.tradingcore.redis.factories import (
    SYMBOL,
    USER,
    D,
    RedisServer,
    make_position,
    point_cache_at,
    populate,
    snapshot,
)
from tradingcore.models import OutboxEntry
from tradingcore.redis import keys

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def run_failing(*args: str) -> tuple[str, CommandError]:
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(*args, stdout=out)
    return out.getvalue(), raised.value


# -- rebuild_redis --------------------------------------------------------------------------------


def test_rebuild_after_flushall_restores_every_key_byte_for_byte(redis_client: Any, settings: Any) -> None:
    populate()
    before = snapshot(settings.REDIS_URL)
    redis_client.flushdb()

    output = run("rebuild_redis")

    after = snapshot(settings.REDIS_URL)
    assert sorted(after) == sorted(before)
    for key, value in before.items():
        assert after[key] == value, key
    assert len(before) > 20
    assert "rebuilt 3 users" in output


def test_rebuild_removes_stale_unified_keys_and_leaves_foreign_ones(redis_client: Any) -> None:
    rows = populate()
    ghost = str(uuid.uuid4())
    stale = {
        keys.position(USER, "okx", "XRP-USDT-SWAP", "long"): ("hash", str(rows["closed"].pk)),
        keys.order(ghost): ("hash", ghost),
        keys.position_index("ghost", "okx"): ("set", ghost),
        keys.order_user_index("ghost", "okx"): ("set", ghost),
        keys.position_history("ghost", "okx"): ("list", json.dumps({"id": ghost})),
    }
    for key, (kind, value) in stale.items():
        {"hash": lambda k, v: redis_client.hset(k, "id", v), "set": redis_client.sadd, "list": redis_client.rpush}[
            kind
        ](key, value)
    redis_client.sadd(keys.positions_active(), ghost)
    redis_client.sadd(keys.open_orders("okx", SYMBOL), str(rows["filled"].pk))
    foreign = {
        "orders:okx:user:1:symbol:BTC-USDT-SWAP:order_placed",  # GRID's own key under "orders:"
        keys.hyperrsi_position("999", SYMBOL, "long"),  # a bot not migrated yet
        keys.grid_level("okx", "999", SYMBOL, 1),
        "positions:not-ours",
    }
    for key in foreign:
        redis_client.hset(key, "x", "1")

    output = run("rebuild_redis")

    assert not any(redis_client.exists(key) for key in stale)
    assert not redis_client.sismember(keys.positions_active(), ghost)
    live = {str(rows[name].pk) for name in ("limit", "tp", "grid_order")}
    assert redis_client.smembers(keys.open_orders("okx", SYMBOL)) == live
    assert all(redis_client.exists(key) for key in foreign)
    assert "3 stale keys and 4 stale set members removed" in output  # the ghost sets empty by SREM


def test_rebuild_writes_only_the_enabled_layouts(redis_client: Any, settings: Any) -> None:
    populate()
    redis_client.flushdb()
    settings.TRADING_LEGACY_HYPERRSI_WRITE = False
    settings.TRADING_LEGACY_GRID_WRITE = False

    run("rebuild_redis")

    assert redis_client.keys("user:*") == []
    assert redis_client.keys("*:active_grid:*") == []
    assert redis_client.exists(keys.position(USER, "okx", SYMBOL, "long"))


# -- verify_redis ---------------------------------------------------------------------------------


def test_verify_is_clean_after_projection() -> None:
    populate()

    output = run("verify_redis")

    assert "clean: 3 users" in output


def test_verify_prints_every_difference_and_exits_non_zero(redis_client: Any) -> None:
    rows = populate()
    redis_client.hset(keys.position(USER, "okx", SYMBOL, "long"), "size", "9")
    redis_client.hdel(keys.hyperrsi_position(USER, SYMBOL, "long"), "leverage")
    redis_client.delete(keys.grid_level("okx", "grid-1", SYMBOL, 2))
    redis_client.srem(keys.positions_active(), str(rows["btc"].pk))
    redis_client.hset(keys.order(uuid.uuid4()), "id", "x")

    output, error = run_failing("verify_redis")

    assert error.returncode == 1
    lines = output.splitlines()
    assert f"{keys.position(USER, 'okx', SYMBOL, 'long')}  size  expected='0.1'  actual='9'" in lines
    assert f"{keys.hyperrsi_position(USER, SYMBOL, 'long')}  leverage  expected='10.0'  actual='(absent)'" in lines
    assert f"{keys.grid_level('okx', 'grid-1', SYMBOL, 2)}  pnl  expected='50.00000000'  actual='(absent)'" in lines
    assert f"{keys.positions_active()}  member  expected='{rows['btc'].pk}'  actual='(absent)'" in lines
    assert any(line.startswith("orders:") and "expected='(absent)'  actual='(present)'" in line for line in lines)
    assert "drift" in str(error)


def test_verify_fix_repairs_and_then_reports_clean(redis_client: Any) -> None:
    populate()
    redis_client.hset(keys.position(USER, "okx", SYMBOL, "long"), "entry_price", "1")
    redis_client.delete(keys.hyperrsi_open_orders(USER))
    redis_client.hset(keys.position("ghost", "okx", SYMBOL, "long"), "id", str(uuid.uuid4()))

    output = run("verify_redis", "--fix")

    # entry_price, the HYPERRSI list's one item (algo take-profits are not listed), the ghost's hash
    assert "fixed 3 differences; clean" in output
    assert "clean: 3 users" in run("verify_redis")


def test_verify_ignores_layouts_that_are_switched_off(redis_client: Any, settings: Any) -> None:
    populate()
    settings.TRADING_LEGACY_HYPERRSI_WRITE = False
    redis_client.delete(keys.hyperrsi_position(USER, SYMBOL, "long"))

    assert "clean" in run("verify_redis")


def test_verify_finds_a_stale_terminal_order_in_the_live_sets(redis_client: Any) -> None:
    rows = populate()
    redis_client.sadd(keys.order_user_index(USER, "okx"), str(rows["ancient"].pk))

    output, _ = run_failing("verify_redis")

    assert f"{keys.order_user_index(USER, 'okx')}  member  expected='(absent)'  actual='{rows['ancient'].pk}'" in (
        output.splitlines()
    )
    assert output.count(str(rows["ancient"].pk)) == 1  # reported once although both passes see it


# -- drain_outbox ---------------------------------------------------------------------------------


@pytest.fixture
def private_redis(settings: Any) -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    point_cache_at(settings, server.url)
    try:
        yield server
    finally:
        server.stop()


def test_drain_outbox_publishes_pending_rows_and_prints_the_count(redis_client: Any) -> None:
    for symbol in ("A-USDT-SWAP", "B-USDT-SWAP"):
        position = make_position(symbol=symbol)
        OutboxEntry.objects.create(kind="position", object_id=position.pk, user_id=USER, event="position.opened")

    assert run("drain_outbox").strip() == "published 2"

    assert OutboxEntry.objects.count() == 0
    assert redis_client.scard(keys.positions_active()) == 2


def test_drain_outbox_fails_while_redis_is_down(private_redis: RedisServer) -> None:
    position = make_position(size=D("1"))
    OutboxEntry.objects.create(kind="position", object_id=position.pk, user_id=USER)
    private_redis.stop()

    output, error = run_failing("drain_outbox")

    assert output.strip() == "published 0"
    assert error.returncode == 1
    assert OutboxEntry.objects.get().attempts == 1
