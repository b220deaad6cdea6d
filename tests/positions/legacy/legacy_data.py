"""A legacy Redis in every variant the bots left behind, written by the stand-ins of ``bots``.

``write_legacy_redis`` fills a Redis with HYPERRSI position records (hash, JSON string, the older
``position_info`` record, a ccxt symbol with colons inside the key, "None" / "" / "0.0" fields,
comma and JSON ``tp_prices``, sibling keys), GRID levels (per-level hashes and the older single
hash, both signs of ``grid_count``, an empty level, a "" field), the newest GRID layout's
exchange-level totals, HYPERRSI open-order lists, and credentials in both layouts (plaintext and
``enc_v1:`` Fernet). ``EXPECTED`` says what each valid record must become.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from cryptography.fernet import Fernet
from redis import Redis

from tests.positions.legacy import bots

D = Decimal
LEGACY_KEY = "vi9eKYBOu7JBHLbtKhvaN0DvZuSkT1ZrbO9ZYQAMR8s="  # the bots' ENCRYPTION_KEY in these fixtures
OTHER_KEY = Fernet.generate_key().decode()


def encrypted(text: str, key: str = LEGACY_KEY) -> str:
    """shared/security/encryption.py encrypt_api_key: "enc_v1:" + a Fernet token."""
    return "enc_v1:" + Fernet(key.encode()).encrypt(text.encode()).decode()


def write_hyperrsi_positions(redis: Redis) -> None:
    # A hash as the bot's position sync writes it, with its take-profit orders on three levels.
    bots.fetch_okx_position(
        redis, "101", "BTC-USDT-SWAP", "long", ccxt_symbol="BTC/USDT:USDT", contracts=12.0, contract_size=0.01,
        entry_price=45123.4, leverage=10.0, unrealized_pnl=9.12, mark_price=45200.0,
    )  # fmt: skip
    bots.create_tp_sl_orders(
        redis, "101", "BTC-USDT-SWAP", "long", tp_prices=[46000.0, 47000.0, 48000.5], tp_order_ids=["t1", "t2", "t3"]
    )
    redis.hset("user:101:position:BTC-USDT-SWAP:long", "sl_price", "44000.0")
    # A ccxt symbol inside the key: its colons are not separators.
    bots.fetch_okx_position(
        redis, "101", "ETH/USDT:USDT", "short", ccxt_symbol="ETH/USDT:USDT", contracts=3.0, contract_size=0.1,
        entry_price=3000.25, leverage=5.0, liquidation_price=3500.5,
    )  # fmt: skip
    # The same kind of record as a JSON string, tp_prices as JSON, "None" / "" / "0.0" fields.
    record = {"symbol": "SOL/USDT:USDT", "side": "long", "size": "5.0", "contract_size": "1.0", "entry_price": "150.5",
              "leverage": "10.0", "tp_prices": "[160.0, 170.0]", "sl_price": "None", "mark_price": "",
              "unrealized_pnl": "None", "liquidation_price": "0.0", "position_qty": "5.0"}  # fmt: skip
    redis.set("user:102:position:SOL-USDT-SWAP:long", json.dumps(record))
    # The older record: everything inside position_info, no leverage at all.
    bots.position_state_record(
        redis, "103", "XRP-USDT-SWAP", "long",
        {"entry_price": 0.5123, "size": 3.0, "contracts_amount": 3.0, "side": "long", "symbol": "XRP-USDT-SWAP",
         "updated_at": str(datetime(2024, 5, 1, 21, 0))},  # noqa: DTZ001 (the bot's str(datetime.now()))
    )  # fmt: skip
    # Siblings under the pattern that are not positions.
    redis.set("user:101:position:BTC-USDT-SWAP:long:dca_count", "2")
    redis.set("user:101:position:BTC-USDT-SWAP:position_state", "1")
    redis.hset("user:101:position:summary", mapping={"count": "2"})
    # Invalid: a symbol the instrument table does not list, and an unreadable entry price.
    bots.fetch_okx_position(
        redis, "104", "FOO-USDT-SWAP", "long", ccxt_symbol="FOO/USDT:USDT", contracts=1.0, contract_size=1.0,
        entry_price=1.0, leverage=3.0,
    )  # fmt: skip
    redis.hset("user:105:position:DOGE-USDT-SWAP:short", mapping={"size": "2.0", "entry_price": "abc"})


def write_grid(redis: Redis) -> None:
    when = datetime(2024, 5, 1, 21, 0)  # noqa: DTZ001 (GRID's datetime.now())
    bots.update_active_grid(redis, "okx", "7", "BTC-USDT-SWAP", 0, entry_price=44000.0, position_size=2.0,
                            execution_time=when, grid_count=1, pnl=1.5)  # fmt: skip
    bots.update_active_grid(redis, "okx", "7", "BTC-USDT-SWAP", 1, entry_price=45500.0, position_size=3.0,
                            execution_time=when, grid_count=-2)  # fmt: skip
    bots.update_active_grid(redis, "okx", "7", "BTC-USDT-SWAP", 2, entry_price=0.0, position_size=0.0, grid_count=0)
    redis.hset(
        "okx:user:7:symbol:BTC-USDT-SWAP:active_grid:3",
        mapping={"entry_price": "46000.0", "position_size": "1.0", "grid_count": "1", "execution_time": ""},
    )
    bots.save_grid_user(redis, "okx", "7", "grid-key", "grid-secret", "grid-pass")
    # The older single hash on binance (contracts of 1 ETH), one level taken, short.
    bots.initialize_active_grid(redis, "binance", "8", "ETHUSDT")
    redis.hset(
        "binance:user:8:symbol:ETHUSDT:active_grid",
        mapping={"4:entry_price": "3000.5", "4:position_size": "1.5", "4:grid_count": "-1"},
    )
    # Invalid: unknown symbol, no direction, an exchange we do not serve.
    bots.update_active_grid(redis, "okx", "9", "FOO-USDT-SWAP", 0, entry_price=1.0, position_size=1.0, grid_count=1)
    bots.update_active_grid(redis, "okx", "9", "ETH-USDT-SWAP", 0, entry_price=3000.0, position_size=1.0)
    bots.update_active_grid(redis, "okx_spot", "9", "BTC-USDT", 0, entry_price=1.0, position_size=1.0, grid_count=1)
    # The newest GRID layout: exchange-level totals of user 7's levels.
    redis.sadd("positions:index:7:okx", "BTC-USDT-SWAP:long")
    redis.hset("positions:7:okx:BTC-USDT-SWAP:long", mapping={"pos": "2", "notionalUsd": "880.0"})


def write_orders(redis: Redis) -> None:
    bots.store_order_in_redis(redis, "101", {"order_id": "9001", "symbol": "BTC-USDT-SWAP", "side": "buy",
                                             "size": 2.0, "order_type": "limit", "posSide": "long"})  # fmt: skip
    bots.store_order_in_redis(redis, "101", {"order_id": "9002", "symbol": "BTC-USDT-SWAP", "side": "sell",
                                             "size": 4.0, "filled_size": 1.0, "avg_fill_price": 46000.0,
                                             "order_type": "take_profit", "posSide": "long"})  # fmt: skip
    bots.store_order_in_redis(redis, "101", {"order_id": "9003", "symbol": "BTC-USDT-SWAP", "side": "sell",
                                             "size": 12.0, "order_type": "stop_loss", "posSide": "long"})  # fmt: skip
    bots.store_order_in_redis(redis, "101", {"order_id": "margin_blocked", "symbol": "BTC-USDT-SWAP", "side": "buy",
                                             "size": 1.0, "status": "rejected"})  # fmt: skip
    redis.lpush("user:101:open_orders", "not json at all")


def write_credentials(redis: Redis) -> None:
    bots.save_hyperrsi_keys(redis, "101", "plain-key", "plain-secret", "plain-pass")
    bots.save_hyperrsi_keys(redis, "102", encrypted("enc-key"), encrypted("enc-secret"), encrypted("enc-pass"))
    bots.save_hyperrsi_keys(redis, "103", encrypted("k", OTHER_KEY), encrypted("s", OTHER_KEY), "")


def write_legacy_redis(redis: Redis) -> None:
    write_hyperrsi_positions(redis)
    write_grid(redis)
    write_orders(redis)
    write_credentials(redis)


# What each valid position record becomes: (user, exchange, symbol, side, grid level) -> (size in
# base currency, entry price, leverage).
EXPECTED_POSITIONS = {
    ("101", "okx", "BTC-USDT-SWAP", "long", None): (D("0.12"), D("45123.4"), 10),
    ("101", "okx", "ETH-USDT-SWAP", "short", None): (D("0.3"), D("3000.25"), 5),
    ("102", "okx", "SOL-USDT-SWAP", "long", None): (D("5"), D("150.5"), 10),
    ("103", "okx", "XRP-USDT-SWAP", "long", None): (D("300"), D("0.5123"), 1),
    ("7", "okx", "BTC-USDT-SWAP", "long", 0): (D("0.02"), D("44000"), 10),
    ("7", "okx", "BTC-USDT-SWAP", "short", 1): (D("0.03"), D("45500"), 10),
    ("7", "okx", "BTC-USDT-SWAP", "long", 3): (D("0.01"), D("46000"), 10),
    ("8", "binance", "ETHUSDT", "short", 4): (D("1.5"), D("3000.5"), 1),
}
