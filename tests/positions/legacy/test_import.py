"""import_legacy_redis on a legacy Redis in every variant: what it imports, reports, and never touches."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order
from positions.legacy.models import LegacyRecord
from positions.models import Position, PositionEvent
from tests.positions.legacy import bots
from tests.positions.legacy.legacy_data import (
    EXPECTED_POSITIONS,
    LEGACY_KEY,
    write_credentials,
    write_grid,
    write_hyperrsi_positions,
    write_legacy_redis,
    write_orders,
)
from tests.tradingcore.redis.factories import private_redis, snapshot
from tradingcore.models import ExchangeAccount, OutboxEntry
from tradingcore.redis import keys

pytestmark = pytest.mark.django_db
D = Decimal


def run_import(*args: str) -> tuple[str, int]:
    """The command's output and exit status."""
    out = io.StringIO()
    try:
        call_command("import_legacy_redis", *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + str(error), error.returncode
    return out.getvalue(), 0


def row(output: str, kind: str) -> list[int]:
    """The (imported, updated, unchanged, skipped, invalid) counts of one kind in the final table."""
    line = next(line for line in output.splitlines() if line.startswith(kind + " "))
    return [int(cell) for cell in line.split()[1:]]


def legacy_keys(url: str) -> dict[bytes, Any]:
    """Every key that is not ours (unified, projection bookkeeping, event streams)."""
    return {key: value for key, value in snapshot(url).items() if not keys.is_unified_key(key.decode())}


def slots() -> dict[tuple[Any, ...], tuple[Decimal, Decimal, int]]:
    return {
        (p.user_id, p.exchange, p.symbol, p.side, p.grid_level): (p.size, p.entry_price, p.leverage)
        for p in Position.objects.filter(status="open")
    }


# -- positions -------------------------------------------------------------------------------------------


def test_every_position_variant_is_imported_in_base_units(redis_client: Any, settings: Any) -> None:
    write_legacy_redis(redis_client)

    output, status = run_import()

    assert slots() == EXPECTED_POSITIONS
    assert row(output, "hyperrsi_position") == [4, 0, 0, 3, 2]  # 3 siblings; unknown symbol, bad entry
    assert row(output, "grid_level") == [4, 0, 0, 1 + 20, 3]  # empty levels; FOO, no direction, okx_spot
    assert "unknown_symbol" in output
    assert "no_direction" in output
    assert "unknown_exchange" in output
    assert status == 1  # invalid records: reported, the rest imported


def test_hyperrsi_details_survive_the_import(redis_client: Any) -> None:
    write_hyperrsi_positions(redis_client)

    run_import("--only", "hyperrsi")

    btc = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    assert (btc.take_profit_price, btc.stop_loss_price, btc.current_price) == (D("46000"), D("44000"), D("45200"))
    assert btc.metadata["tp_prices"] == ["46000", "47000", "48000.5"]
    assert btc.metadata["legacy"] == {"source": "hyperrsi", "key": "user:101:position:BTC-USDT-SWAP:long"}
    # the unrealized PnL at the legacy mark, as the service computes it: 0.12 x (45200 - 45123.4)
    assert (btc.contract_size, btc.unrealized_pnl, btc.liquidation_price) == (D("0.01"), D("9.192"), None)
    eth = Position.objects.get(user_id="101", symbol="ETH-USDT-SWAP")
    assert eth.liquidation_price == D("3500.5")
    sol = Position.objects.get(user_id="102")
    assert (sol.take_profit_price, sol.stop_loss_price, sol.current_price) == (D("160"), None, None)
    event = PositionEvent.objects.get(position=btc)
    assert (event.type, event.actor) == ("imported", "system:import_legacy_redis")
    assert event.parameters["source_key"] == "user:101:position:BTC-USDT-SWAP:long"
    assert (D(event.parameters["contracts"]), D(event.parameters["size"])) == (D("12"), D("0.12"))


def test_grid_levels_take_their_direction_from_the_count_and_their_leverage_from_the_user(redis_client: Any) -> None:
    write_grid(redis_client)

    output, _ = run_import("--only", "grid")

    short = Position.objects.get(user_id="7", grid_level=1)
    assert (short.side, short.size, short.metadata["grid_count"]) == ("short", D("0.03"), -2)
    long = Position.objects.get(user_id="7", grid_level=0)
    assert (long.realized_pnl, long.leverage) == (D("1.5"), 10)  # GRID's running pnl of the level
    assert Position.objects.get(user_id="8").metadata["legacy"]["key"] == "binance:user:8:symbol:ETHUSDT:active_grid#4"
    assert "leverage missing: 1 assumed" in output  # binance user 8 has no user hash


def test_the_newest_grid_layout_is_reported_and_never_imported(redis_client: Any) -> None:
    write_grid(redis_client)

    output, _ = run_import("--only", "grid")

    assert row(output, "grid_exchange_total") == [0, 0, 0, 1, 0]
    assert "exchange_totals" in output
    assert Position.objects.filter(user_id="7", grid_level__isnull=True).count() == 0


def test_imported_positions_reach_the_unified_keys_and_no_legacy_key_changes(redis_client: Any, settings: Any) -> None:
    write_legacy_redis(redis_client)
    before = legacy_keys(settings.REDIS_URL)

    run_import()

    assert legacy_keys(settings.REDIS_URL) == before
    btc = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    unified = redis_client.hgetall(keys.position("101", "okx", "BTC-USDT-SWAP", "long"))
    assert (unified["id"], unified["size"], unified["entry_price"]) == (str(btc.pk), "0.12", "45123.4")
    assert str(btc.pk) in redis_client.smembers(keys.position_index("101", "okx"))
    assert OutboxEntry.objects.count() == 0


# -- idempotency, dry run, reports --------------------------------------------------------------------------


def test_a_second_run_reports_everything_unchanged_and_changes_nothing(redis_client: Any, settings: Any) -> None:
    write_legacy_redis(redis_client)
    run_import()
    run_import("--only", "credentials", "--legacy-key", LEGACY_KEY)
    rows_before = (Position.objects.count(), PositionEvent.objects.count(), Order.objects.count())
    redis_before = snapshot(settings.REDIS_URL)

    first, _ = run_import()
    credentials, _ = run_import("--only", "credentials", "--legacy-key", LEGACY_KEY)

    for kind in ("hyperrsi_position", "grid_level", "hyperrsi_order"):
        imported, updated, unchanged, _, _ = row(first, kind)
        assert (imported, updated, unchanged > 0) == (0, 0, True)
    assert row(credentials, "credentials")[:3] == [0, 0, 3]
    assert (Position.objects.count(), PositionEvent.objects.count(), Order.objects.count()) == rows_before
    assert snapshot(settings.REDIS_URL) == redis_before


def test_a_dry_run_writes_nothing(redis_client: Any, settings: Any) -> None:
    write_legacy_redis(redis_client)
    before = snapshot(settings.REDIS_URL)

    output, _ = run_import("--dry-run")
    credentials, _ = run_import("--dry-run", "--only", "credentials", "--legacy-key", LEGACY_KEY)

    assert row(output, "hyperrsi_position")[0] == 4  # what would be imported
    assert row(credentials, "credentials")[0] == 3
    assert "dry run: nothing was written" in output
    assert snapshot(settings.REDIS_URL) == before
    assert not Position.objects.exists()
    assert not Order.objects.exists()
    assert not LegacyRecord.objects.exists()
    assert not ExchangeAccount.objects.exists()


def test_the_json_report_lists_every_outcome_and_the_summary(redis_client: Any, tmp_path: Path) -> None:
    write_hyperrsi_positions(redis_client)
    path = tmp_path / "report.json"

    run_import("--only", "hyperrsi", "--report", str(path))

    report = json.loads(path.read_text())
    assert report["summary"]["by_kind"]["hyperrsi_position"]["imported"] == 4
    invalid = {entry["key"]: entry["reason"] for entry in report["entries"] if entry["result"] == "invalid"}
    assert invalid == {
        "user:104:position:FOO-USDT-SWAP:long": "unknown_symbol",
        "user:105:position:DOGE-USDT-SWAP:short": "bad_number",
    }
    assert len(report["entries"]) == 9


def test_only_the_users_keys_with_user(redis_client: Any) -> None:
    write_legacy_redis(redis_client)

    run_import("--user", "101")

    assert {p.user_id for p in Position.objects.all()} == {"101"}


def test_a_changed_record_updates_the_position_unless_the_service_changed_it_since(redis_client: Any) -> None:
    write_hyperrsi_positions(redis_client)
    run_import("--only", "hyperrsi")
    bots.fetch_okx_position(
        redis_client, "101", "BTC-USDT-SWAP", "long", ccxt_symbol="BTC/USDT:USDT", contracts=15.0,
        contract_size=0.01, entry_price=45000.0, leverage=10.0,
    )  # fmt: skip
    bots.fetch_okx_position(
        redis_client, "101", "ETH/USDT:USDT", "short", ccxt_symbol="ETH/USDT:USDT", contracts=4.0,
        contract_size=0.1, entry_price=3001.0, leverage=5.0,
    )  # fmt: skip
    Position.objects.filter(user_id="101", symbol="ETH-USDT-SWAP").update(version=5)  # changed through the service

    output, _ = run_import("--only", "hyperrsi")

    btc = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    assert (btc.size, btc.entry_price, btc.version) == (D("0.15"), D("45000"), 2)
    assert Position.objects.get(user_id="101", symbol="ETH-USDT-SWAP").size == D("0.3")
    assert row(output, "hyperrsi_position")[:2] == [0, 1]
    assert "changed_here" in output


def test_a_record_whose_position_closed_here_since_is_imported_anew(redis_client: Any) -> None:
    write_hyperrsi_positions(redis_client)
    run_import("--only", "hyperrsi")
    key = "user:101:position:BTC-USDT-SWAP:long"
    first = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    Position.objects.filter(pk=first.pk).update(status="closed", version=2)  # closed through the service
    bots.fetch_okx_position(
        redis_client, "101", "BTC-USDT-SWAP", "long", ccxt_symbol="BTC/USDT:USDT", contracts=15.0,
        contract_size=0.01, entry_price=45000.0, leverage=10.0,
    )  # fmt: skip  # the bot opened the next position in the same slot

    output, _ = run_import("--only", "hyperrsi")
    again, _ = run_import("--only", "hyperrsi")

    second = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP", status="open")
    assert (second.size, second.entry_price, second.version) == (D("0.15"), D("45000"), 1)
    assert Position.objects.get(pk=first.pk).status == "closed"
    record = LegacyRecord.objects.get(source_key=key)
    assert (record.position_id, record.entity_version) == (second.pk, 1)
    assert row(output, "hyperrsi_position")[:3] == [1, 0, 3]
    assert row(again, "hyperrsi_position")[:3] == [0, 0, 4]


def test_an_open_position_of_the_service_in_the_slot_makes_the_record_invalid(redis_client: Any) -> None:
    write_hyperrsi_positions(redis_client)
    Position.objects.create(user_id="102", exchange="okx", symbol="SOL-USDT-SWAP", side="long", size=D("1"),
                            entry_price=D("140"))  # fmt: skip

    output, status = run_import("--only", "hyperrsi")

    assert "slot_taken" in output
    assert status == 1
    assert Position.objects.filter(user_id="102").count() == 1


def test_a_source_redis_other_than_ours(settings: Any, redis_client: Any) -> None:
    with private_redis() as server:
        source = server.client()
        write_hyperrsi_positions(source)

        run_import("--source-url", server.url, "--only", "hyperrsi")

        assert redis_client.exists(keys.position("101", "okx", "BTC-USDT-SWAP", "long"))
        assert not redis_client.exists("user:101:position:BTC-USDT-SWAP:long")
    assert len(slots()) == 4


# -- orders --------------------------------------------------------------------------------------------------


def test_open_orders_become_orders_in_base_units(redis_client: Any) -> None:
    write_orders(redis_client)

    output, status = run_import("--only", "orders")

    limit = Order.objects.get(exchange_order_id="9001")
    assert (limit.order_type, limit.quantity, limit.status, limit.position_side) == ("limit", D("0.02"), "open", "long")
    take_profit = Order.objects.get(exchange_order_id="9002")
    assert (take_profit.order_type, take_profit.role, take_profit.reduce_only) == ("limit", "take_profit", True)
    assert (take_profit.status, take_profit.filled_qty, take_profit.avg_fill_price) == (
        "partially_filled", D("0.01"), D("46000")
    )  # fmt: skip
    stop_loss = Order.objects.get(exchange_order_id="9003")
    assert (stop_loss.order_type, stop_loss.role) == ("trigger", "stop_loss")
    assert row(output, "hyperrsi_order") == [3, 0, 0, 1, 1]  # the placeholder id; the item that is not JSON
    assert status == 1
    assert stop_loss.metadata["legacy"]["key"] == "user:101:open_orders#9003"


# -- credentials ---------------------------------------------------------------------------------------------


def test_credentials_of_both_layouts_plain_and_encrypted(redis_client: Any) -> None:
    write_credentials(redis_client)
    write_grid(redis_client)

    output, status = run_import("--only", "credentials", "--legacy-key", LEGACY_KEY)

    plain = ExchangeAccount.objects.get(user_id="101")
    assert (plain.label, plain.api_key.reveal(), plain.passphrase.reveal()) == (
        "legacy-hyperrsi", "plain-key", "plain-pass"
    )  # fmt: skip
    enc = ExchangeAccount.objects.get(user_id="102")
    secrets = (enc.api_key.reveal(), enc.api_secret.reveal(), enc.passphrase.reveal())
    assert secrets == ("enc-key", "enc-secret", "enc-pass")
    grid = ExchangeAccount.objects.get(user_id="7")
    assert (grid.label, grid.exchange, grid.passphrase.reveal()) == ("legacy-grid", "okx", "grid-pass")
    assert row(output, "credentials") == [3, 0, 0, 0, 1]  # user 103's tokens were made with another key
    assert "cannot_decrypt" in output
    assert status == 1
    assert "plain-secret" not in output
    assert "enc-secret" not in output


def test_encrypted_credentials_without_the_legacy_key_are_invalid(redis_client: Any) -> None:
    write_credentials(redis_client)

    output, _ = run_import("--only", "credentials")

    assert "no_legacy_key" in output
    assert set(ExchangeAccount.objects.values_list("user_id", flat=True)) == {"101"}


@pytest.mark.django_db(transaction=True)
def test_workers_share_the_users_out_and_report_the_same(redis_client: Any, tmp_path: Path) -> None:
    write_legacy_redis(redis_client)
    path = tmp_path / "report.json"

    output, status = run_import("--workers", "3", "--report", str(path))

    assert slots() == EXPECTED_POSITIONS
    assert row(output, "hyperrsi_position") == [4, 0, 0, 3, 2]
    assert row(output, "grid_level") == [4, 0, 0, 1 + 20, 3]
    assert status == 1
    report = json.loads(path.read_text())
    assert len(report["entries"]) == sum(sum(counts.values()) for counts in report["summary"]["by_kind"].values())
    again, _ = run_import("--workers", "3")
    assert row(again, "hyperrsi_position")[:3] == [0, 0, 4]
