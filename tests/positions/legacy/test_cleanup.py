"""cleanup_legacy_keys: removes only the keys of migrated entities whose legacy writer has been quiet, a dry
run unless confirmed, and says what it kept and why."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from positions.legacy.models import LegacyRecord
from positions.models import Position
from tests.positions.legacy import bots
from tests.positions.legacy.legacy_data import LEGACY_KEY, write_credentials, write_grid, write_hyperrsi_positions
from tests.positions.legacy.legacy_data import write_orders as write_legacy_orders
from tests.tradingcore.redis.factories import D, close

pytestmark = pytest.mark.django_db
BTC_KEY = "user:101:position:BTC-USDT-SWAP:long"
HOUR = 3600


@pytest.fixture
def migrated(redis_client: Any, settings: Any) -> Any:
    """Everything imported, the dual-write off, the bots stopped (the state the last phase starts in)."""
    write_hyperrsi_positions(redis_client)
    write_grid(redis_client)
    write_legacy_orders(redis_client)
    write_credentials(redis_client)
    for args in ((), ("--only", "credentials", "--legacy-key", LEGACY_KEY)):
        with pytest.raises(CommandError):  # the fixtures hold invalid records besides
            call_command("import_legacy_redis", *args, stdout=io.StringIO())
    settings.TRADING_LEGACY_HYPERRSI_WRITE = False
    settings.TRADING_LEGACY_GRID_WRITE = False
    return redis_client


def cleanup(*args: str) -> str:
    out = io.StringIO()
    call_command("cleanup_legacy_keys", "--quiet-for", str(HOUR), *args, stdout=out)
    return out.getvalue()


def a_while_ago() -> None:
    """As if the earlier run saw every key two hours ago."""
    LegacyRecord.objects.update(seen_since=timezone.now() - timedelta(hours=2))


def decision(output: str, key: str) -> str:
    """The action and reason printed for ``key``."""
    line = next(line for line in output.splitlines() if f" {key}  " in line)
    return " ".join(line.split()[:-1] if line.split()[-1] != key else line.split())


def test_nothing_goes_while_the_dual_write_is_on(migrated: Any, settings: Any) -> None:
    settings.TRADING_LEGACY_HYPERRSI_WRITE = True

    output = cleanup("--confirm")

    assert "hyperrsi_position  kept          dual_write_on" in output
    assert migrated.exists(BTC_KEY)


def test_a_first_run_only_records_what_it_saw_and_a_later_one_removes_quiet_keys(migrated: Any) -> None:
    first = cleanup("--confirm")
    assert "0 legacy keys removed" in first
    assert "not_quiet" in first

    a_while_ago()
    dry = cleanup()
    assert "would remove" in dry
    assert migrated.exists(BTC_KEY)  # a dry run removes nothing

    confirmed = cleanup("--confirm")

    assert "removed" in confirmed
    assert not migrated.exists(BTC_KEY)
    assert not migrated.exists("okx:user:7:symbol:BTC-USDT-SWAP:active_grid:1")
    assert not migrated.exists("user:101:api:keys")
    assert migrated.exists("okx:user:7")  # GRID's settings live there: never removed
    assert migrated.exists("user:101:position:BTC-USDT-SWAP:long:dca_count")  # not an entity of ours


def test_a_key_the_bot_still_writes_is_kept(migrated: Any) -> None:
    cleanup()
    a_while_ago()
    migrated.hset(BTC_KEY, "last_update_time_kr", "2024-05-02 10:00:00")  # the bot's sync, just now

    output = cleanup("--confirm")

    assert migrated.exists(BTC_KEY)
    assert f"kept          {BTC_KEY}  not_quiet" in output


def test_a_running_bot_keeps_its_keys(migrated: Any) -> None:
    migrated.set("user:101:trading:status", "running")  # HYPERRSI's flag
    migrated.hset("okx:user:7", "is_running", "1")  # GRID's flag
    cleanup()
    a_while_ago()

    output = cleanup("--confirm")

    assert migrated.exists(BTC_KEY)
    assert migrated.exists("okx:user:7:symbol:BTC-USDT-SWAP:active_grid:0")
    assert f"kept          {BTC_KEY}  writer_running" in output


def test_an_entity_that_disagrees_with_its_legacy_key_is_kept(migrated: Any) -> None:
    bots.fetch_okx_position(
        migrated, "101", "BTC-USDT-SWAP", "long", ccxt_symbol="BTC/USDT:USDT", contracts=15.0, contract_size=0.01,
        entry_price=45123.4, leverage=10.0,
    )  # fmt: skip
    cleanup()
    a_while_ago()

    output = cleanup("--confirm")

    assert migrated.exists(BTC_KEY)
    assert f"kept          {BTC_KEY}  mismatch" in output


def test_a_position_closed_here_leaves_a_removable_key(migrated: Any) -> None:
    position = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    close(position, exit_price=D("46000"), realized=D("10"))
    bots.fetch_okx_position(  # the key no longer matches, and it no longer matters
        migrated, "101", "BTC-USDT-SWAP", "long", ccxt_symbol="BTC/USDT:USDT", contracts=1.0, contract_size=0.01,
        entry_price=1.0, leverage=1.0,
    )  # fmt: skip
    cleanup()
    a_while_ago()

    cleanup("--confirm")

    assert not migrated.exists(BTC_KEY)


def test_an_imported_order_leaves_the_list_and_the_bots_other_items_stay(migrated: Any) -> None:
    bots.store_order_in_redis(
        migrated, "101", {"order_id": "9999", "symbol": "BTC-USDT-SWAP", "side": "buy", "size": 1.0}
    )  # fmt: skip  (placed after the import)
    cleanup()
    a_while_ago()

    cleanup("--confirm")

    left = migrated.lrange("user:101:open_orders", 0, -1)
    assert not any(f'"order_id": "{order_id}"' in item for item in left for order_id in ("9001", "9002", "9003"))
    assert any('"order_id": "9999"' in item for item in left)


def test_the_json_report_lists_every_decision(migrated: Any, tmp_path: Any) -> None:
    import json

    path = tmp_path / "cleanup.json"
    cleanup("--report", str(path))

    report = json.loads(path.read_text())
    assert {entry["reason"] for entry in report["entries"]} >= {"not_quiet", "grid_settings"}
    assert len(report["entries"]) == LegacyRecord.objects.count()
