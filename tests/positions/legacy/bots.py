"""Stand-ins for the legacy bots' Redis writers and readers, writing and reading exactly as their code does.

Each function names the function of the public legacy code (repository seungdori/TradingBoost-Strategy)
whose Redis behaviour it reproduces: the same keys, field names, value spellings (Python's
``str(float)``, ``json.dumps`` with its default spacing, ``"%.8f"``, naive ``datetime.now()``
text), the same read-modify-write. The bots use floats; so do these stand-ins, since the point is
to produce the bytes the bots produce.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from redis import Redis

GRID_TTL = 604800  # GRID's RedisTTL.ORDER_DATA: 7 days


# -- HYPERRSI position hash --------------------------------------------------------------------------


def fetch_okx_position(
    redis: Redis,
    user_id: str,
    symbol: str,
    side: str,
    *,
    ccxt_symbol: str,
    contracts: float,
    contract_size: float,
    entry_price: float,
    leverage: float,
    unrealized_pnl: float = 0.0,
    liquidation_price: float | None = None,
    mark_price: float = 0.0,
    margin_mode: str = "cross",
    dca_count: str | None = "1",
) -> dict[str, str]:
    """HYPERRSI OKXPositionFetcher.fetch_okx_position (modules/okx_position_fetcher.py): HSET of its
    mapping (every number str(float), the ccxt symbol, liquidation "0.0" when ccxt has none, a
    local-time field), keeping the tp_data / sl_data already there."""
    key = f"user:{user_id}:position:{symbol}:{side}"
    existing = redis.hgetall(key)
    mapping = {
        "symbol": ccxt_symbol,
        "side": side,
        "size": str(contracts),
        "contracts": str(contracts),
        "contract_size": str(contract_size),
        "contracts_amount": str(contracts),
        "position_qty": str(contracts * contract_size),
        "entry_price": str(entry_price),
        "leverage": str(float(leverage)),
        "unrealized_pnl": str(unrealized_pnl),
        "liquidation_price": str(liquidation_price or "0.0"),
        "margin_mode": margin_mode,
        "mark_price": str(mark_price),
        "dca_count": str(dca_count),
        "last_entry_size": str(contracts),
        "last_update_time": str(int(time.time())),
        "last_update_time_kr": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),  # noqa: DTZ005 (the bot's own)
    }
    for name in ("tp_data", "sl_data"):
        if existing.get(name) and existing[name] not in ("[]", "{}"):
            mapping[name] = existing[name]
    redis.hset(key, mapping=mapping)
    return mapping


def create_tp_sl_orders(
    redis: Redis, user_id: str, symbol: str, side: str, *, tp_prices: list[float], tp_order_ids: list[str]
) -> None:
    """HYPERRSI TPSLOrderCreator._create_tp_sl_orders (modules/tp_sl_order_creator.py): every TP
    level comma-joined in ``tp_prices``, with the order ids, sizes and a JSON ``tp_data``."""
    key = f"user:{user_id}:position:{symbol}:{side}"
    redis.hset(
        key,
        mapping={
            "tp_prices": ",".join(str(price) for price in tp_prices),
            "tp_order_ids": ",".join(tp_order_ids),
            "tp_sizes": ",".join("1.0" for _ in tp_prices),
            "tp_contracts_amounts": ",".join("1.00" for _ in tp_prices),
            "tp_data": json.dumps(
                [{"level": i + 1, "price": p, "status": "active", "order_id": o} for i, (p, o) in
                 enumerate(zip(tp_prices, tp_order_ids, strict=True))]
            ),
        },
    )  # fmt: skip


def position_state_record(redis: Redis, user_id: str, symbol: str, side: str, info: dict[str, Any]) -> None:
    """HYPERRSI PositionStateManager.sync_position_state (monitoring/redis_manager.py): the older
    record whose data sits only inside a ``position_info`` JSON (no size or leverage fields)."""
    key = f"user:{user_id}:position:{symbol}:{side}"
    redis.hset(key, mapping={"position_info": json.dumps(info)})


def notification_reader(redis: Redis, user_id: str, symbol: str, side: str) -> tuple[list[float], float | None]:
    """What HYPERRSI PositionManager.open_position's notification reads back (modules/position_manager.py):
    ``tp_prices`` split on commas into floats, ``sl_price`` through float()."""
    data = redis.hgetall(f"user:{user_id}:position:{symbol}:{side}")
    tp_text = data.get("tp_prices", "")
    tp_prices = [float(price) for price in tp_text.split(",") if price] if tp_text else []
    sl_price = data.get("sl_price", "N/A")
    return tp_prices, float(sl_price) if sl_price != "N/A" else None


# -- HYPERRSI order lists ----------------------------------------------------------------------------


def store_order_in_redis(redis: Redis, user_id: str, order: dict[str, Any]) -> str:
    """HYPERRSI store_order_in_redis (services/order_utils.py): LPUSH of json.dumps of the OrderStatus
    fields, floats for sizes and prices, ISO (naive) times."""
    item = json.dumps(
        {
            "order_id": order["order_id"],
            "symbol": order["symbol"],
            "side": order["side"],
            "size": float(order["size"]),
            "filled_size": float(order.get("filled_size", 0.0)),
            "status": order.get("status", "open"),
            "avg_fill_price": float(order.get("avg_fill_price", 0.0)),
            "create_time": order.get("create_time", datetime(2024, 5, 1, 21, 0)).isoformat(),  # noqa: DTZ001
            "update_time": order.get("update_time", datetime(2024, 5, 1, 21, 0)).isoformat(),  # noqa: DTZ001
            "order_type": order.get("order_type", "limit"),
            "posSide": order.get("posSide", "long"),
        }
    )
    redis.lpush(f"user:{user_id}:open_orders", item)
    return item


class OrderDoesNotExist(Exception):
    """What ccxt raises for OKX's 51603."""

    def __init__(self) -> None:
        super().__init__('okx {"code":"51603","msg":"Order does not exist"}')


Lookup = Callable[[str, str, dict[str, Any] | None], dict[str, Any]]


def monitor_orders(redis: Redis, user_id: str, fetch_order: Lookup) -> None:
    """HYPERRSI OrderManager.monitor_orders (modules/order_manager.py): reads the whole open list,
    looks up ``stop_loss`` items as algo orders (params stop / ordType trigger) and every other item as
    a plain order, moves ended and "does not exist" items (as ``closed``) to ``closed_orders``,
    rewrites every item with json.dumps and the whole open list (DEL + RPUSH)."""
    open_key, closed_key = f"user:{user_id}:open_orders", f"user:{user_id}:closed_orders"
    keep, ended = [], []
    for data in redis.lrange(open_key, 0, -1):
        order = json.loads(data)
        params = {"stop": True, "ordType": "trigger"} if order.get("order_type", "") in ["stop_loss"] else None
        try:
            latest = fetch_order(order["order_id"], order["symbol"], params)
        except OrderDoesNotExist:
            order["status"] = "closed"
            order["update_time"] = datetime.now().isoformat()  # noqa: DTZ005 (the bot's own)
            ended.append(json.dumps(order))
            continue
        order["filled_size"] = float(latest.get("filled_size", 0.0))
        order["avg_fill_price"] = float(latest.get("avg_fill_price", 0.0))
        order["status"] = latest.get("status", "open")
        order["update_time"] = datetime.now().isoformat()  # noqa: DTZ005 (the bot's own)
        (ended if order["status"] in ("filled", "canceled", "error", "closed", "rejected") else keep).append(
            json.dumps(order)
        )
    redis.delete(open_key)
    for item in keep:
        redis.rpush(open_key, item)
    for item in ended:
        redis.rpush(closed_key, item)


# -- GRID levels -------------------------------------------------------------------------------------

_GRID_COUNT_SCRIPT = """
local key = KEYS[1]
local current_pnl_str = redis.call('HGET', key, 'pnl')
local current_count_str = redis.call('HGET', key, 'grid_count')
local current_pnl = 0.0
local current_count = 0
if current_pnl_str then current_pnl = tonumber(string.match(current_pnl_str, '[%d%.%-]+')) or 0.0 end
if current_count_str then current_count = tonumber(string.match(current_count_str, '[%d%-]+')) or 0 end
redis.call('HSET', key, 'pnl', string.format('%.8f', current_pnl + tonumber(ARGV[1])))
redis.call('HSET', key, 'grid_count', tostring(current_count + tonumber(ARGV[2])))
redis.call('EXPIRE', key, 604800)
return 1
"""


def update_active_grid(
    redis: Redis,
    exchange: str,
    user_id: str,
    symbol: str,
    level: int,
    *,
    entry_price: float | None = None,
    position_size: float | None = None,
    execution_time: datetime | None = None,
    grid_count: int | None = None,
    pnl: float | None = None,
) -> None:
    """GRID update_active_grid (GRID/database/redis_database.py, the Lua version): ``pnl`` and
    ``grid_count`` added atomically to what is there (pnl "%.8f", count tostring), entry / size /
    time json.dumps'd, the 7-day expiry refreshed."""
    key = f"{exchange}:user:{user_id}:symbol:{symbol}:active_grid:{level}"
    with redis.pipeline(transaction=True) as pipe:
        if pnl is not None or grid_count is not None:
            pipe.eval(_GRID_COUNT_SCRIPT, 1, key, pnl or 0.0, grid_count or 0)
        if entry_price is not None:
            pipe.hset(key, "entry_price", json.dumps(entry_price))
        if position_size is not None:
            pipe.hset(key, "position_size", json.dumps(position_size))
        if execution_time is not None:
            pipe.hset(key, "execution_time", json.dumps(execution_time.isoformat()))
        pipe.expire(key, GRID_TTL)
        pipe.execute()


def initialize_active_grid(redis: Redis, exchange: str, user_id: str, symbol: str) -> None:
    """GRID initialize_active_grid: the older single hash, 21 levels of ``"{level}:{field}"`` fields."""
    key = f"{exchange}:user:{user_id}:symbol:{symbol}:active_grid"
    empty = {"entry_price": 0.0, "position_size": 0.0, "grid_count": 0, "pnl": 0.0, "execution_time": None}
    fields = {f"{level}:{name}": json.dumps(value) for level in range(21) for name, value in empty.items()}
    redis.hset(key, mapping=fields)


def get_active_grid(redis: Redis, exchange: str, user_id: str, symbol: str) -> dict[int, dict[str, Any]]:
    """GRID get_active_grid: nothing unless level 0 exists; every field of levels 0..20 json-decoded
    (a level that does not decode is skipped with a warning)."""
    base = f"{exchange}:user:{user_id}:symbol:{symbol}"
    if not redis.exists(f"{base}:active_grid:0"):
        return {}
    grid: dict[int, dict[str, Any]] = {}
    for level in range(21):
        data = redis.hgetall(f"{base}:active_grid:{level}")
        if data:
            try:
                grid[level] = {name: json.loads(value) for name, value in data.items()}
            except json.JSONDecodeError:
                continue
    return grid


def get_position_size(redis: Redis, exchange: str, user_id: str, symbol: str) -> float:
    """The newest GRID get_position_size (GRID/database/redis_database.py): when
    ``positions:index:{user}:{exchange}`` has members, each is split as ``{symbol}:{side}`` (a member
    that does not split is logged and skipped) and ``pos`` summed from
    ``positions:{user}:{exchange}:{symbol}:{side}``; only an empty index falls back to the older
    ``{exchange}:positions:{user}`` JSON list."""
    members = redis.smembers(f"positions:index:{user_id}:{exchange}")
    if members:
        total = 0.0
        for member in members:
            try:
                found_symbol, side = member.split(":")
            except ValueError:
                continue
            if found_symbol == symbol:
                total += float(redis.hgetall(f"positions:{user_id}:{exchange}:{symbol}:{side}").get("pos", 0))
        return total
    for position in json.loads(redis.get(f"{exchange}:positions:{user_id}") or "[]"):
        if position.get("instId") == symbol:
            return float(position.get("pos", 0))
    return 0.0


# -- credentials -------------------------------------------------------------------------------------


def save_hyperrsi_keys(redis: Redis, user_id: str, api_key: str, api_secret: str, passphrase: str) -> None:
    """HYPERRSI's ``user:{id}:api:keys`` hash (read by OKXPositionFetcher.get_user_api_keys)."""
    fields = {"api_key": api_key, "api_secret": api_secret, "passphrase": passphrase}
    redis.hset(f"user:{user_id}:api:keys", mapping=fields)


def save_grid_user(redis: Redis, exchange: str, user_id: str, api_key: str, api_secret: str, password: str) -> None:
    """GRID save_user (GRID/database/redis_database.py): credentials beside the user's settings, the
    passphrase in ``password``; ``leverage`` as str(int)."""
    redis.hset(
        f"{exchange}:user:{user_id}",
        mapping={"api_key": api_key, "api_secret": api_secret, "password": password, "leverage": "10",
                 "is_running": "0", "direction": "long", "grid_num": "20", "tasks": "[]", "running_symbols": "[]"},
    )  # fmt: skip
