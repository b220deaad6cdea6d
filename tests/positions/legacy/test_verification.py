"""verify_redis on migrated legacy entities: the legacy key, the unified key and the database agree on size
(contracts on the legacy side, base currency on ours), entry price and leverage."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from positions.models import Position
from tests.positions.legacy import bots
from tests.positions.legacy.legacy_data import write_grid, write_hyperrsi_positions
from tests.tradingcore.redis.factories import D
from tradingcore.redis.projector import project_position

pytestmark = pytest.mark.django_db
BTC_KEY = "user:101:position:BTC-USDT-SWAP:long"


def imported(redis_client: Any) -> None:
    write_hyperrsi_positions(redis_client)
    write_grid(redis_client)
    for only in ("hyperrsi", "grid"):
        with pytest.raises(CommandError):  # the fixtures hold invalid records besides
            call_command("import_legacy_redis", "--only", only, stdout=io.StringIO())
    # The newest GRID layout's keys collide with ours (test_coexistence covers the collision report).
    redis_client.srem("positions:index:7:okx", "BTC-USDT-SWAP:long")
    redis_client.delete("positions:7:okx:BTC-USDT-SWAP:long")


def verify() -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("verify_redis", stdout=out)
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


def test_after_the_import_every_migrated_entity_agrees(redis_client: Any) -> None:
    imported(redis_client)

    output, status = verify()

    assert "8 migrated legacy entities checked, 0 disagreements" in output
    assert status == 0


def test_a_legacy_size_that_moved_is_reported_with_the_units_of_each_side(redis_client: Any) -> None:
    imported(redis_client)
    bots.fetch_okx_position(  # the bot kept trading after the import
        redis_client, "101", "BTC-USDT-SWAP", "long", ccxt_symbol="BTC/USDT:USDT", contracts=15.0,
        contract_size=0.01, entry_price=45123.4, leverage=20.0,
    )  # fmt: skip

    output, status = verify()

    lines = output.splitlines()
    assert (
        f"legacy {BTC_KEY}  size  legacy=15 contracts (x 0.01 = 0.15 base)  unified=0.12 base  database=0.12 base"
    ) in lines
    assert f"legacy {BTC_KEY}  leverage  legacy=20  unified=10  database=10" in lines
    assert status == 1


def test_a_grid_level_is_compared_with_its_users_leverage(redis_client: Any) -> None:
    imported(redis_client)
    bots.update_active_grid(redis_client, "okx", "7", "BTC-USDT-SWAP", 1, position_size=4.0)
    redis_client.hset("okx:user:7", "leverage", "5")

    output, _ = verify()

    level = "okx:user:7:symbol:BTC-USDT-SWAP:active_grid:1"
    assert f"legacy {level}  size  legacy=4 contracts (x 0.01 = 0.04 base)  unified=0.03 base  database=0.03 base" in (
        output.splitlines()
    )
    assert f"legacy {level}  leverage  legacy=5  unified=10  database=10" in output.splitlines()


def test_a_legacy_key_gone_while_the_position_is_open_is_reported(redis_client: Any) -> None:
    imported(redis_client)
    redis_client.delete(BTC_KEY)

    output, status = verify()

    assert f"legacy {BTC_KEY}  record  legacy=absent the legacy key is gone  unified=-  database=-" in output
    assert status == 1


def test_a_record_the_dual_write_took_over_still_agrees(redis_client: Any) -> None:
    imported(redis_client)
    position = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    position.current_price, position.version = D("46000"), position.version + 1
    position.save()
    project_position(position.pk)

    output, status = verify()

    assert redis_client.hget(BTC_KEY, "tradingcore_position_id") == str(position.pk)
    assert "0 disagreements" in output
    assert status == 0
