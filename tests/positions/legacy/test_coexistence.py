"""Our dual-write beside the running legacy bots: stand-ins for their writers run between our projections
(``tests.positions.legacy.bots``, each naming the legacy function it reproduces), and neither side loses a
field or a list item; their readers decode our keys with exactly their expectations."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from positions.models import Position
from tests.positions.legacy import bots
from tests.positions.legacy.legacy_data import write_hyperrsi_positions
from tests.tradingcore.redis.factories import SYMBOL, T0, USER, D, close, make_order, make_position
from tradingcore.redis import keys
from tradingcore.redis.projector import project_order, project_position

pytestmark = pytest.mark.django_db
HASH = keys.hyperrsi_position(USER, SYMBOL, "long")
BOT_FIELDS = {  # what the bots keep in the same hash (tp_sl_order_creator.py, okx_position_fetcher.py)
    "dca_count": "2",
    "last_entry_size": "4.0",
    "last_update_time_kr": "2024-05-01 21:00:00",
    "tp_order_ids": "t1,t2",
    "tp_sizes": "5.0,5.0",
    "tp_data": json.dumps([{"level": 1, "price": 46000.0, "status": "active", "order_id": "t1"}]),
    "sl_order_id": "s1",
}


def refresh(position: Position, **changes: Any) -> None:
    """A committed change of ``position`` as the services make it, then its projection."""
    for name, value in changes.items():
        setattr(position, name, value)
    position.version += 1
    position.save()
    project_position(position.pk)


def verify_clean(user_id: str = USER) -> str:
    """verify_redis's output for one user; its drift lines in the error when there is drift."""
    out = io.StringIO()
    try:
        call_command("verify_redis", "--user-id", user_id, stdout=out)
    except CommandError as error:
        raise AssertionError(out.getvalue()) from error
    return out.getvalue()


# -- HYPERRSI position hash ------------------------------------------------------------------------------


def test_the_bots_fields_survive_our_projections_and_ours_theirs(redis_client: Any) -> None:
    """HYPERRSI TPSLOrderCreator._create_tp_sl_orders and OKXPositionFetcher.fetch_okx_position add their fields."""
    position = make_position(stop_loss_price=D("44000"), take_profit_price=D("46000"))
    project_position(position.pk)
    redis_client.hset(HASH, mapping=BOT_FIELDS)  # the bot adds its own fields between our writes

    refresh(position, current_price=D("45300"), size=D("0.2"))

    stored = redis_client.hgetall(HASH)
    assert {name: stored[name] for name in BOT_FIELDS} == BOT_FIELDS
    assert (stored["size"], stored["mark_price"], stored["sl_price"]) == ("20.0", "45300.0", "44000.0")


def test_we_remove_only_fields_we_wrote(redis_client: Any) -> None:
    """HYPERRSI TPSLOrderCreator._create_tp_sl_orders writes sl_price of its own."""
    position = make_position(stop_loss_price=D("44000"))
    project_position(position.pk)
    redis_client.hset(HASH, mapping=BOT_FIELDS)

    refresh(position, stop_loss_price=None)  # our stop-loss is gone: so is the sl_price we wrote
    assert "sl_price" not in redis_client.hgetall(HASH)
    redis_client.hset(HASH, "sl_price", "43000.0")  # the bot's own stop-loss (tp_sl_order_creator.py)
    refresh(position, current_price=D("45200"))

    stored = redis_client.hgetall(HASH)
    assert stored["sl_price"] == "43000.0"  # never ours since: left alone
    assert {name: stored[name] for name in BOT_FIELDS} == BOT_FIELDS


def test_the_hash_is_deleted_when_the_position_closes(redis_client: Any) -> None:
    """As HYPERRSI's own OKXPositionFetcher.fetch_okx_position deletes a closed position's hash."""
    position = make_position()
    project_position(position.pk)
    redis_client.hset(HASH, mapping=BOT_FIELDS)

    close(position, exit_price=D("46000"), realized=D("100"))
    project_position(position.pk)

    assert not redis_client.exists(HASH)


def test_hyperrsi_readers_decode_our_hash_with_their_expectations(redis_client: Any) -> None:
    """HYPERRSI PositionManager.open_position's notification reader; OKXPositionFetcher.fetch_okx_position's formats."""
    position = make_position(take_profit_price=D("46000"), stop_loss_price=D("44000.5"),
                             metadata={"tp_prices": ["46000", "47000", "48000.5"]})  # fmt: skip
    project_position(position.pk)

    stored = redis_client.hgetall(HASH)
    tp_prices, sl_price = bots.notification_reader(redis_client, USER, SYMBOL, "long")  # PositionManager.open_position
    assert tp_prices == [46000.0, 47000.0, 48000.5]  # every take-profit level, comma-joined
    assert sl_price == 44000.5
    assert stored["symbol"] == "BTC/USDT:USDT"  # ccxt's symbol, as fetch_okx_position writes it
    assert stored["liquidation_price"] == "0.0"  # unknown, as fetch_okx_position writes it
    assert stored["leverage"] == "10.0"
    numbers = ["size", "contracts", "contracts_amount", "contract_size", "position_qty", "entry_price", "leverage",
               "unrealized_pnl", "liquidation_price", "mark_price", "last_update_time"]  # fmt: skip
    assert all(isinstance(float(stored[name]), float) for name in numbers)  # what the bots do with them


def test_imported_records_stay_the_bots_until_a_change_through_the_service(redis_client: Any) -> None:
    """The bots' records (OKXPositionFetcher.fetch_okx_position) after import_legacy_redis and rebuild_redis."""
    write_hyperrsi_positions(redis_client)
    with pytest.raises(CommandError):  # the fixtures hold two invalid records besides
        call_command("import_legacy_redis", "--only", "hyperrsi", stdout=io.StringIO())
    key = "user:101:position:BTC-USDT-SWAP:long"
    before = redis_client.hgetall(key)

    call_command("rebuild_redis", stdout=io.StringIO())
    assert redis_client.hgetall(key) == before  # a rebuild never claims the bot's record
    assert "clean" in verify_clean("101")

    position = Position.objects.get(user_id="101", symbol="BTC-USDT-SWAP")
    refresh(position, current_price=D("45999"))  # a change through the service: dual-write takes over
    after = redis_client.hgetall(key)
    assert after["tradingcore_position_id"] == str(position.pk)
    assert after["mark_price"] == "45999.0"
    assert {name: after[name] for name in ("tp_order_ids", "tp_data", "dca_count")} == {
        name: before[name] for name in ("tp_order_ids", "tp_data", "dca_count")
    }


# -- HYPERRSI order lists --------------------------------------------------------------------------------


class Exchange:
    """What the legacy monitor's ccxt client finds: plain orders by id, algo orders by id."""

    def __init__(self, plain: dict[str, str], algo: dict[str, str]) -> None:
        self.plain, self.algo = plain, algo

    def fetch_order(self, order_id: str, symbol: str, params: dict[str, Any] | None) -> dict[str, Any]:
        book = self.algo if params and params.get("stop") else self.plain
        if order_id not in book:
            raise bots.OrderDoesNotExist
        return {"id": order_id, "symbol": symbol, "status": book[order_id], "filled": 0.0, "average": None}


def items(redis_client: Any, key: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in redis_client.lrange(key, 0, -1)]


def our_orders() -> dict[str, Any]:
    position = make_position()
    project_position(position.pk)
    return {
        "limit": make_order(exchange_order_id="ex-1"),
        "market": make_order(order_type="market", price=None, exchange_order_id="ex-2", status="filled",
                             filled_qty=D("0.1"), avg_fill_price=D("45010"), created_at=T0 + timedelta(seconds=1)),
        "stop_loss": make_order(order_type="stop_loss", side="sell", reduce_only=True, trigger_price=D("44000"),
                                price=None, position=position, role="stop_loss", exchange_order_id="algo-3",
                                created_at=T0 + timedelta(seconds=2)),
        "take_profit": make_order(order_type="take_profit", side="sell", reduce_only=True, trigger_price=D("47000"),
                                  price=None, position=position, role="take_profit", exchange_order_id="algo-4"),
    }  # fmt: skip


def test_our_items_and_the_bots_survive_each_others_writes(redis_client: Any) -> None:
    """HYPERRSI store_order_in_redis pushes its items; OrderManager.monitor_orders rewrites the whole list."""
    open_key, closed_key = keys.hyperrsi_open_orders(USER), keys.hyperrsi_closed_orders(USER)
    for n in (1, 2):
        bots.store_order_in_redis(redis_client, USER, {"order_id": f"bot-{n}", "symbol": SYMBOL, "side": "buy",
                                                       "size": 1.0})  # fmt: skip
    orders = our_orders()
    for order in orders.values():
        project_order(order.pk)
    bots.monitor_orders(  # HYPERRSI's OrderManager.monitor_orders passes over the whole list
        redis_client,
        USER,
        Exchange(plain={"ex-1": "open", "bot-1": "open", "bot-2": "open"}, algo={"algo-3": "open"}).fetch_order,
    )

    listed = {item["order_id"] for item in items(redis_client, open_key)}
    assert listed == {"bot-1", "bot-2", "ex-1", "algo-3"}  # nothing of ours was lost as "does not exist"
    assert [item["order_id"] for item in items(redis_client, closed_key)] == ["ex-2"]
    assert "clean" in verify_clean()  # our items, as the monitor rewrote them, are still ours
    theirs = [item for item in redis_client.lrange(open_key, 0, -1) if '"bot-' in item]

    limit = orders["limit"]
    limit.status, limit.filled_qty, limit.avg_fill_price, limit.version = "partially_filled", D("0.05"), D("44000"), 2
    limit.save()
    project_order(limit.pk)

    open_items = items(redis_client, open_key)
    assert [item["filled_size"] for item in open_items if item["order_id"] == "ex-1"] == [5.0]  # replaced in place
    assert [item for item in redis_client.lrange(open_key, 0, -1) if '"bot-' in item] == theirs  # untouched


def test_an_order_the_monitor_moved_is_not_listed_twice(redis_client: Any) -> None:
    """HYPERRSI OrderManager.monitor_orders moves an ended item to closed_orders before we do."""
    limit = our_orders()["limit"]
    project_order(limit.pk)
    bots.monitor_orders(
        redis_client, USER, Exchange(plain={"ex-1": "closed"}, algo={}).fetch_order
    )  # the bot saw it fill first

    limit.status, limit.filled_qty, limit.avg_fill_price, limit.version = "filled", D("0.1"), D("44000"), 2
    limit.save()
    project_order(limit.pk)

    assert not redis_client.exists(keys.hyperrsi_open_orders(USER))
    closed = items(redis_client, keys.hyperrsi_closed_orders(USER))
    assert [(item["order_id"], item["status"], item["filled_size"]) for item in closed] == [("ex-1", "closed", 10.0)]


def test_algo_take_profits_are_not_listed_because_the_monitor_would_lose_them(redis_client: Any) -> None:
    """HYPERRSI OrderManager.monitor_orders looks every item but a stop_loss one up as a plain order."""
    take_profit = our_orders()["take_profit"]
    project_order(take_profit.pk)

    listed = items(redis_client, keys.hyperrsi_open_orders(USER)) + items(
        redis_client, keys.hyperrsi_closed_orders(USER)
    )

    assert "algo-4" not in {item["order_id"] for item in listed}
    # What would happen: listed, it is looked up as a plain order, "does not exist", moved as closed.
    bots.store_order_in_redis(redis_client, USER, {"order_id": "algo-4", "symbol": SYMBOL, "side": "sell",
                                                   "size": 10.0, "order_type": "take_profit"})  # fmt: skip
    bots.monitor_orders(redis_client, USER, Exchange(plain={}, algo={"algo-4": "open"}).fetch_order)
    assert items(redis_client, keys.hyperrsi_closed_orders(USER))[0]["status"] == "closed"


def test_hyperrsi_readers_decode_our_items_with_their_expectations(redis_client: Any) -> None:
    """The fields HYPERRSI store_order_in_redis writes and OrderManager.monitor_orders reads."""
    for order in our_orders().values():
        project_order(order.pk)

    listed = items(redis_client, keys.hyperrsi_open_orders(USER)) + items(
        redis_client, keys.hyperrsi_closed_orders(USER)
    )

    assert {item["order_id"] for item in listed} == {"ex-1", "ex-2", "algo-3"}  # market and stop-loss too
    for item in listed:
        assert all(isinstance(item[name], float) for name in ("size", "filled_size", "avg_fill_price"))
        assert all(datetime.fromisoformat(item[name]).tzinfo for name in ("create_time", "update_time"))
        assert item["status"] in {"open", "closed", "canceled"}
    assert {item["order_id"]: item["order_type"] for item in listed}["algo-3"] == "stop_loss"  # looked up as algo


# -- GRID levels -----------------------------------------------------------------------------------------


def test_a_grid_symbol_appears_with_all_21_levels_and_their_expiry(redis_client: Any) -> None:
    """GRID get_active_grid returns nothing without level 0; update_active_grid sets a 7-day expiry."""
    level = make_position(grid_level=5, size=D("0.2"))

    project_position(level.pk)

    grid = bots.get_active_grid(redis_client, "okx", USER, SYMBOL)  # GRID's reader: nothing without level 0
    assert sorted(grid) == list(range(21))
    assert (grid[5]["position_size"], grid[5]["grid_count"], grid[0]["position_size"]) == (20.0, 1, 0.0)
    ttls = [redis_client.ttl(key) for key in keys.grid_levels("okx", USER, SYMBOL)]
    assert all(7 * 24 * 3600 - 60 < ttl <= 7 * 24 * 3600 for ttl in ttls)


def test_grids_running_count_is_never_overwritten_and_its_reader_decodes_our_fields(redis_client: Any) -> None:
    """GRID update_active_grid adds to grid_count atomically; get_active_grid json-decodes every field."""
    long_level = make_position(grid_level=5, size=D("0.2"))
    short_level = make_position(grid_level=6, side="short")
    for position in (long_level, short_level):
        project_position(position.pk)
    bots.update_active_grid(redis_client, "okx", USER, SYMBOL, 5, grid_count=1, pnl=0.5)  # GRID's own entry
    bots.update_active_grid(redis_client, "okx", USER, SYMBOL, 6, grid_count=-2)

    refresh(long_level, entry_price=D("45100"))
    refresh(short_level, entry_price=D("45200"))

    grid = bots.get_active_grid(redis_client, "okx", USER, SYMBOL)
    assert (grid[5]["grid_count"], grid[5]["entry_price"]) == (2, 45100.0)  # GRID's count kept, our entry written
    assert grid[6]["grid_count"] == -3
    assert grid[5]["tradingcore_position_id"] == str(long_level.pk)  # our mark decodes as JSON
    assert "clean" in verify_clean()  # a running count of the right sign is no drift


def test_a_count_of_the_wrong_sign_is_replaced_and_a_closed_level_is_emptied(redis_client: Any) -> None:
    """GRID update_active_grid's empty level: 0.0 entry and size (read by get_active_grid)."""
    level = make_position(grid_level=5)
    bots.update_active_grid(redis_client, "okx", USER, SYMBOL, 5, grid_count=-1)  # left by an old short
    project_position(level.pk)
    assert redis_client.hget(keys.grid_level("okx", USER, SYMBOL, 5), "grid_count") == "1"

    close(level, exit_price=D("45500"), realized=D("5"))
    project_position(level.pk)

    grid = bots.get_active_grid(redis_client, "okx", USER, SYMBOL)
    assert (grid[5]["entry_price"], grid[5]["position_size"], grid[5]["grid_count"]) == (0.0, 0.0, 0)


# -- the newest GRID layout ------------------------------------------------------------------------------


def test_unprefixed_unified_keys_make_the_newest_grid_code_read_zero(redis_client: Any) -> None:
    """The newest GRID get_position_size splits positions:index members as {symbol}:{side}."""
    redis_client.set("okx:positions:user-1", json.dumps([{"instId": SYMBOL, "pos": "3"}]))  # GRID's older list
    assert bots.get_position_size(redis_client, "okx", USER, SYMBOL) == 3.0

    project_position(make_position().pk)  # our id lands in positions:index:user-1:okx

    assert bots.get_position_size(redis_client, "okx", USER, SYMBOL) == 0.0  # its index no longer falls back


def test_with_a_prefix_the_newest_grid_code_reads_its_own_keys(redis_client: Any, settings: Any) -> None:
    """The newest GRID get_position_size, with TRADING_UNIFIED_KEY_PREFIX set."""
    settings.TRADING_UNIFIED_KEY_PREFIX = "tc:"
    redis_client.set("okx:positions:user-1", json.dumps([{"instId": SYMBOL, "pos": "3"}]))
    position = make_position()

    project_position(position.pk)

    assert bots.get_position_size(redis_client, "okx", USER, SYMBOL) == 3.0
    assert redis_client.hget(f"tc:positions:{USER}:okx:{SYMBOL}:long", "id") == str(position.pk)
    assert str(position.pk) in redis_client.smembers(f"tc:positions:index:{USER}:okx")
    assert "clean" in verify_clean()


def test_verify_reports_the_collision_and_never_removes_grids_data(redis_client: Any) -> None:
    """The newest GRID layout (read by get_position_size) under our unified keys."""
    project_position(make_position(symbol="ETH-USDT-SWAP", contract_size=D("0.1")).pk)
    redis_client.sadd(keys.grid_exchange_index(USER, "okx"), f"{SYMBOL}:long")
    redis_client.hset(
        keys.grid_exchange_position(USER, "okx", SYMBOL, "long"), mapping={"pos": "2", "notionalUsd": "9"}
    )

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_redis", "--fix", stdout=out)

    assert "collision" in out.getvalue()
    assert "TRADING_UNIFIED_KEY_PREFIX" in out.getvalue()
    assert f"{SYMBOL}:long" in redis_client.smembers(keys.grid_exchange_index(USER, "okx"))
    assert redis_client.hget(keys.grid_exchange_position(USER, "okx", SYMBOL, "long"), "pos") == "2"
    assert Decimal(redis_client.hget(keys.position(USER, "okx", "ETH-USDT-SWAP", "long"), "size")) == D("0.1")
