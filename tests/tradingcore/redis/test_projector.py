"""The projector writes every layout of SPEC 6.1 / 6.2 field by field, removes stale keys, honours flags."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction

from tests.tradingcore.redis.factories import SYMBOL, T0, USER, D, close, make_order, make_position, snapshot
from tradingcore import dto
from tradingcore.redis import codec, keys, plan
from tradingcore.redis.projector import ProjectionInTransactionError, project_order, project_position

pytestmark = pytest.mark.django_db

EPOCH_T0 = 1714564800  # 2024-05-01T12:00:00Z


def plan_fields(position: Any) -> list[str]:
    return list(codec.encode_hyperrsi_position(dto.Position.from_row(position)))


def stream(redis_client: Any, user_id: str = USER) -> list[dict[str, str]]:
    return [fields for _, fields in redis_client.xrange(keys.events(user_id))]


# -- unified position keys ------------------------------------------------------------------------


def test_open_position_hash_has_every_field_in_the_seed_format(redis_client: Any) -> None:
    position = make_position(
        stop_loss_price=D("44000"), take_profit_price=D("47000"), metadata={"is_DCA": True, "note": "x"}
    )

    project_position(position.pk, event="opened")

    assert redis_client.hgetall(keys.position(USER, "okx", SYMBOL, "long")) == {
        "id": str(position.pk),
        "user_id": USER,
        "exchange": "okx",
        "symbol": SYMBOL,
        "side": "long",
        "size": "0.1",
        "entry_price": "45000",
        "current_price": "45100",
        "exit_price": "",
        "leverage": "10",
        "liquidation_price": "",
        "stop_loss_price": "44000",
        "take_profit_price": "47000",
        "realized_pnl": "0",
        "unrealized_pnl": "10",
        "fees": "0",
        "status": "open",
        "margin_mode": "cross",
        "contract_size": "0.01",
        "close_reason": "",
        "metadata": '{"is_DCA":true,"note":"x"}',
        "created_at": "2024-05-01T12:00:00+00:00",
        "updated_at": "2024-05-01T12:01:00+00:00",
        "closed_at": "",
        "grid_level": "",
    }


def test_open_position_is_in_the_user_index_and_the_active_set(redis_client: Any) -> None:
    first = make_position()
    second = make_position(symbol="ETH-USDT-SWAP", side="short")
    elsewhere = make_position(exchange="binance", symbol="BTCUSDT")

    for position in (first, second, elsewhere):
        project_position(position.pk)

    assert redis_client.smembers(keys.position_index(USER, "okx")) == {str(first.pk), str(second.pk)}
    assert redis_client.smembers(keys.position_index(USER, "binance")) == {str(elsewhere.pk)}
    assert redis_client.smembers(keys.positions_active()) == {str(first.pk), str(second.pk), str(elsewhere.pk)}


def test_grid_position_gets_the_grid_suffix_so_levels_do_not_overwrite_each_other(redis_client: Any) -> None:
    level_3 = make_position(grid_level=3)
    level_4 = make_position(grid_level=4, entry_price=D("44000"))

    project_position(level_3.pk)
    project_position(level_4.pk)

    assert redis_client.hget(keys.position(USER, "okx", SYMBOL, "long", 3), "entry_price") == "45000"
    assert redis_client.hget(keys.position(USER, "okx", SYMBOL, "long", 4), "grid_level") == "4"
    assert redis_client.hget(keys.position(USER, "okx", SYMBOL, "long", 4), "entry_price") == "44000"
    assert not redis_client.exists(keys.position(USER, "okx", SYMBOL, "long"))


def test_closing_removes_the_hash_and_memberships_and_prepends_history(redis_client: Any) -> None:
    older = make_position(symbol="ETH-USDT-SWAP")
    close(older, exit_price=D("3000"), realized=D("1"), at=T0 + timedelta(hours=1))
    project_position(older.pk)
    position = make_position()
    project_position(position.pk)

    close(position, exit_price=D("46000"), realized=D("100"), at=T0 + timedelta(hours=2))
    project_position(position.pk, event="closed")

    assert not redis_client.exists(keys.position(USER, "okx", SYMBOL, "long"))
    assert not redis_client.exists(keys.position_index(USER, "okx"))
    assert not redis_client.sismember(keys.positions_active(), str(position.pk))
    history = [json.loads(item) for item in redis_client.lrange(keys.position_history(USER, "okx"), 0, -1)]
    assert [item["id"] for item in history] == [str(position.pk), str(older.pk)]
    assert history[0]["status"] == "closed"
    assert history[0]["exit_price"] == "46000"
    assert history[0]["realized_pnl"] == "100"
    assert history[0]["size"] == "0.1"
    assert history[0]["closed_at"] == "2024-05-01T14:00:00+00:00"


def test_history_is_capped_newest_first(redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "HISTORY_CAP", 3)
    rows = []
    for hour in range(5):
        row = make_position()
        close(row, exit_price=D("45000"), realized=D(0), at=T0 + timedelta(hours=hour + 1))
        rows.append(row)
        project_position(row.pk)  # each projected as it closed

    items = redis_client.lrange(keys.position_history(USER, "okx"), 0, -1)
    assert [json.loads(item)["id"] for item in items] == [str(row.pk) for row in reversed(rows[2:])]


def test_replaying_a_closed_position_keeps_the_new_open_one_in_its_slot(redis_client: Any) -> None:
    old = make_position()
    close(old, exit_price=D("46000"), realized=D("100"))
    new = make_position(entry_price=D("47000"), created_at=T0 + timedelta(hours=3))
    project_position(new.pk)

    project_position(old.pk, event="closed")  # a late outbox row of the old position

    assert redis_client.hget(keys.position(USER, "okx", SYMBOL, "long"), "id") == str(new.pk)
    assert redis_client.smembers(keys.position_index(USER, "okx")) == {str(new.pk)}
    assert redis_client.hget(keys.hyperrsi_position(USER, SYMBOL, "long"), "entry_price") == "47000.0"


def test_projecting_twice_writes_the_same_bytes(settings: Any) -> None:
    position = make_position(grid_level=2)
    order = make_order(position=position, exchange_order_id="ex-1")
    project_position(position.pk)
    project_order(order.pk)
    first = snapshot(settings.REDIS_URL)

    project_order(order.pk)
    project_position(position.pk)

    assert snapshot(settings.REDIS_URL) == first
    # position hash, index, active set, slots map, the 21 GRID levels of the symbol, order hash, user
    # and market order sets, and the HYPERRSI open-order list
    assert len(first) == 29


# -- unified order keys ---------------------------------------------------------------------------


def test_order_hash_has_every_field_in_the_seed_format(redis_client: Any) -> None:
    order = make_order(exchange_order_id="ex-1", metadata={"posSide": "long"}, maker_fee=D("0.0002"))

    project_order(order.pk, event="created")

    assert redis_client.hgetall(keys.order(order.pk)) == {
        "id": str(order.pk),
        "user_id": USER,
        "exchange": "okx",
        "exchange_order_id": "ex-1",
        "client_order_id": order.client_order_id,
        "symbol": SYMBOL,
        "side": "buy",
        "order_type": "limit",
        "quantity": "0.1",
        "price": "44000",
        "trigger_price": "",
        "filled_qty": "0",
        "avg_fill_price": "",
        "status": "open",
        "reduce_only": "False",
        "post_only": "False",
        "time_in_force": "GTC",
        "position_id": "",
        "grid_level": "",
        "fee": "0",
        "fee_currency": "",
        "maker_fee": "0.0002",
        "taker_fee": "0",
        "funding_fee": "0",
        "last_error": "",
        "metadata": '{"posSide":"long"}',
        "created_at": "2024-05-01T12:00:00+00:00",
        "updated_at": "2024-05-01T12:00:05+00:00",
        "filled_at": "",
    }
    assert redis_client.smembers(keys.order_user_index(USER, "okx")) == {str(order.pk)}
    assert redis_client.smembers(keys.open_orders("okx", SYMBOL)) == {str(order.pk)}


def test_terminal_order_leaves_the_live_sets_and_its_hash_expires(redis_client: Any) -> None:
    from django.utils import timezone

    order = make_order()
    project_order(order.pk)
    now = timezone.now()
    order.status, order.filled_qty, order.avg_fill_price = "filled", D("0.1"), D("44000")
    order.updated_at = order.filled_at = now
    order.save()

    project_order(order.pk)

    assert not redis_client.exists(keys.order_user_index(USER, "okx"))
    assert not redis_client.exists(keys.open_orders("okx", SYMBOL))
    assert redis_client.hget(keys.order(order.pk), "status") == "filled"
    expires = redis_client.pexpiretime(keys.order(order.pk)) / 1000
    assert expires == pytest.approx((now + plan.ORDER_RETENTION).timestamp(), abs=1)


def test_order_that_ended_long_ago_is_removed_at_once(redis_client: Any) -> None:
    order = make_order()
    project_order(order.pk)
    order.status = "cancelled"
    order.save()  # created and updated in 2024: past the retention

    project_order(order.pk)

    assert not redis_client.exists(keys.order(order.pk))


# -- legacy HYPERRSI ------------------------------------------------------------------------------


def test_hyperrsi_position_hash_counts_contracts(redis_client: Any) -> None:
    position = make_position(stop_loss_price=D("44000"), take_profit_price=D("47000"), margin_mode="isolated")

    project_position(position.pk)

    assert redis_client.hgetall(keys.hyperrsi_position(USER, SYMBOL, "long")) == {
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "size": "10.0",
        "contracts": "10.0",
        "contracts_amount": "10.0",
        "contract_size": "0.01",
        "position_qty": "0.1",
        "entry_price": "45000.0",
        "leverage": "10.0",
        "unrealized_pnl": "10.0",
        "liquidation_price": "0.0",
        "mark_price": "45100.0",
        "margin_mode": "isolated",
        "sl_price": "44000.0",
        "tp_prices": "47000.0",
        "last_update_time": str(EPOCH_T0 + 60),
        "tradingcore_position_id": str(position.pk),  # our mark: the bots' own fields are never touched
        "tradingcore_fields": ",".join(sorted(set(plan_fields(position)))),  # what we may remove again
    }


def test_hyperrsi_position_hash_without_contract_size_uses_one(redis_client: Any) -> None:
    position = make_position(contract_size=None, size=D("3"))

    project_position(position.pk)

    legacy = redis_client.hgetall(keys.hyperrsi_position(USER, SYMBOL, "long"))
    assert (legacy["size"], legacy["contract_size"], legacy["position_qty"]) == ("3.0", "1.0", "3.0")


def test_hyperrsi_position_hash_is_deleted_on_close_and_never_written_for_grid(redis_client: Any) -> None:
    position = make_position()
    grid = make_position(grid_level=1, side="short")
    project_position(position.pk)
    project_position(grid.pk)
    assert redis_client.exists(keys.hyperrsi_position(USER, SYMBOL, "long"))

    close(position, exit_price=D("46000"), realized=D("100"))
    project_position(position.pk)

    assert not redis_client.exists(keys.hyperrsi_position(USER, SYMBOL, "long"))
    assert not redis_client.exists(keys.hyperrsi_position(USER, SYMBOL, "short"))


def test_hyperrsi_open_orders_hold_what_the_legacy_monitor_can_follow(redis_client: Any) -> None:
    position = make_position()
    limit = make_order(exchange_order_id="ex-1")
    market = make_order(order_type="market", price=None, exchange_order_id="ex-2", created_at=T0 + timedelta(seconds=1))
    stop_loss = make_order(
        order_type="stop_loss", side="sell", reduce_only=True, trigger_price=D("44000"), price=None,
        position=position, role="stop_loss", exchange_order_id="algo-3", created_at=T0 + timedelta(seconds=2),
    )  # fmt: skip
    unlisted = [
        # algo take-profits: HYPERRSI's monitor would look them up as plain orders and lose them
        make_order(order_type="take_profit", side="sell", reduce_only=True, trigger_price=D("47000"), price=None,
                   position=position, role="take_profit", exchange_order_id="algo-4"),
        make_order(order_type="trigger", side="sell", reduce_only=True, trigger_price=D("46000"), price=None,
                   position=position, role="take_profit", exchange_order_id="algo-5"),
        make_order(exchange_order_id=None),  # not on the exchange yet: nothing the monitor could look up
        make_order(grid_level=4, exchange_order_id="ex-6"),  # GRID's
    ]  # fmt: skip

    for order in [limit, market, stop_loss, *unlisted]:  # as the service projects each change
        project_order(order.pk)

    items = [json.loads(item) for item in redis_client.lrange(keys.hyperrsi_open_orders(USER), 0, -1)]
    assert [item["order_id"] for item in items] == ["algo-3", "ex-2", "ex-1"]
    assert items[2] == {
        "order_id": "ex-1",
        "symbol": SYMBOL,
        "side": "buy",
        "size": 10.0,  # unlinked: 0.01 BTC per contract from the instrument table
        "filled_size": 0.0,
        "status": "open",
        "avg_fill_price": 0.0,
        "create_time": "2024-05-01T12:00:00+00:00",
        "update_time": "2024-05-01T12:00:05+00:00",
        "order_type": "limit",
        "posSide": "long",
        "clientOrderId": limit.client_order_id,
        "managed_by": "tradingcore",
    }
    assert (items[0]["order_type"], items[0]["posSide"], items[0]["side"], items[0]["size"]) == (
        "stop_loss", "long", "sell", 10.0
    )  # fmt: skip


def test_hyperrsi_order_sizes_use_the_linked_position_contract_size(redis_client: Any) -> None:
    position = make_position(symbol="ODD-USDT-SWAP", contract_size=D("0.5"), size=D("2"))
    linked = make_order(symbol="ODD-USDT-SWAP", quantity=D("2"), position=position, exchange_order_id="ex-1")
    unlisted = make_order(
        symbol="ODD-USDT-SWAP", quantity=D("2"), created_at=T0 - timedelta(seconds=1), exchange_order_id="ex-2"
    )

    project_order(unlisted.pk)
    project_order(linked.pk)

    items = [json.loads(item) for item in redis_client.lrange(keys.hyperrsi_open_orders(USER), 0, -1)]
    assert [(item["order_id"], item["size"]) for item in items] == [("ex-1", 4.0), ("ex-2", 2.0)]


def test_ended_orders_move_to_hyperrsi_closed_orders_capped(redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "LEGACY_CLOSED_ORDERS_CAP", 2)
    make_position()
    orders = [make_order(updated_at=T0 + timedelta(minutes=n)) for n in range(3)]
    for order in orders:
        order.status, order.filled_qty, order.avg_fill_price = "filled", D("0.1"), D("44000.5")
        order.save()

    for order in orders:  # each projected as it ended
        project_order(order.pk)

    assert not redis_client.exists(keys.hyperrsi_open_orders(USER))
    items = [json.loads(item) for item in redis_client.lrange(keys.hyperrsi_closed_orders(USER), 0, -1)]
    assert [item["order_id"] for item in items] == [str(orders[2].pk), str(orders[1].pk)]
    assert (items[0]["status"], items[0]["filled_size"], items[0]["avg_fill_price"]) == ("closed", 10.0, 44000.5)


# -- legacy GRID ----------------------------------------------------------------------------------


def test_grid_level_hash_uses_json_numbers_and_a_signed_count(redis_client: Any) -> None:
    long_level = make_position(grid_level=5, size=D("0.2"))
    short_level = make_position(grid_level=6, side="short", entry_price=D("46000.5"))

    project_position(long_level.pk)
    project_position(short_level.pk)

    assert redis_client.hgetall(keys.grid_level("okx", USER, SYMBOL, 5)) == {
        "entry_price": "45000.0",
        "position_size": "20.0",
        "grid_count": "1",
        "pnl": "0.00000000",
        "execution_time": '"2024-05-01T12:00:00+00:00"',
        "tradingcore_position_id": f'"{long_level.pk}"',  # JSON, as GRID's reader decodes every field
    }
    short = redis_client.hgetall(keys.grid_level("okx", USER, SYMBOL, 6))
    assert (short["grid_count"], short["entry_price"], short["position_size"]) == ("-1", "46000.5", "10.0")
    assert not redis_client.exists(keys.hyperrsi_position(USER, SYMBOL, "long"))


def test_closed_grid_level_is_reset_and_keeps_its_pnl(redis_client: Any) -> None:
    level = make_position(grid_level=5)
    project_position(level.pk)

    close(level, exit_price=D("45125"), realized=D("12.5"), at=T0 + timedelta(hours=1))
    project_position(level.pk)

    assert redis_client.hgetall(keys.grid_level("okx", USER, SYMBOL, 5)) == {
        "entry_price": "0.0",
        "position_size": "0.0",
        "grid_count": "0",
        "pnl": "12.50000000",
        "execution_time": '"2024-05-01T13:00:00+00:00"',
    }
    assert not redis_client.exists(keys.position(USER, "okx", SYMBOL, "long", 5))


# -- events, flags, transactions ------------------------------------------------------------------


def test_each_projection_appends_a_seed_event_to_the_user_stream(redis_client: Any) -> None:
    position = make_position()
    order = make_order(position=position)
    project_position(position.pk, event="opened")
    project_order(order.pk, event="created")
    order.status, order.filled_qty = "partially_filled", D("0.05")
    order.save()
    project_order(order.pk)
    order.status = "cancelled"
    order.save()
    project_order(order.pk, event="cancelled")
    close(position, exit_price=D("46000"), realized=D("100"))
    project_position(position.pk, event="closed")

    events = stream(redis_client)

    assert [event["event"] for event in events] == [
        "position.opened",
        "order.created",
        "order.partially_filled",
        "order.canceled",
        "position.closed",
    ]
    assert json.loads(events[-1]["data"])["status"] == "closed"
    assert events[0]["id"] == str(position.pk)


def test_stream_is_capped(redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "STREAM_MAXLEN", 5)
    position = make_position()
    for _ in range(400):
        project_position(position.pk)

    assert redis_client.xlen(keys.events(USER)) < 400


@pytest.mark.parametrize(
    ("flag", "absent_key"),
    [
        ("TRADING_UNIFIED_WRITE", keys.position(USER, "okx", SYMBOL, "long")),
        ("TRADING_LEGACY_HYPERRSI_WRITE", keys.hyperrsi_position(USER, SYMBOL, "long")),
        ("TRADING_LEGACY_GRID_WRITE", keys.grid_level("okx", USER, SYMBOL, 7)),
    ],
)
def test_each_layout_can_be_switched_off(redis_client: Any, settings: Any, flag: str, absent_key: str) -> None:
    setattr(settings, flag, False)
    plain = make_position()
    grid = make_position(grid_level=7)

    project_position(plain.pk)
    project_position(grid.pk)

    assert not redis_client.exists(absent_key)
    written = {
        keys.position(USER, "okx", SYMBOL, "long"),
        keys.hyperrsi_position(USER, SYMBOL, "long"),
        keys.grid_level("okx", USER, SYMBOL, 7),
    } - {absent_key}
    assert all(redis_client.exists(key) for key in written)


def test_unified_flag_off_also_stops_the_stream_and_order_hashes(redis_client: Any, settings: Any) -> None:
    settings.TRADING_UNIFIED_WRITE = False
    make_position()
    order = make_order(exchange_order_id="ex-1")

    project_order(order.pk)

    projection_data = [key for key in redis_client.keys("*") if not key.startswith("projection:")]
    assert projection_data == [keys.hyperrsi_open_orders(USER)]


def test_projecting_inside_a_transaction_is_refused(redis_client: Any) -> None:
    position = make_position()

    with transaction.atomic(), pytest.raises(ProjectionInTransactionError, match="inside transaction.atomic"):
        project_position(position.pk)

    assert redis_client.keys("*") == []


def test_unknown_ids_are_reported_and_cleaned(redis_client: Any) -> None:
    import uuid

    missing = uuid.uuid4()
    redis_client.sadd(keys.positions_active(), str(missing))
    redis_client.hset(keys.order(missing), "id", str(missing))

    assert project_position(missing) is False
    assert project_order(missing) is False
    assert redis_client.keys("*") == []
