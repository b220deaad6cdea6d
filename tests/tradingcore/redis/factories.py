"""Rows for the projection tests, created with the ORM directly (the services are not used here)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis

from orders.models import Order as OrderRow
from positions.models import Position as PositionRow

D = Decimal
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
USER = "user-1"
SYMBOL = "BTC-USDT-SWAP"


def make_position(**overrides: Any) -> PositionRow:
    """An open OKX long of 0.1 BTC (10 contracts of 0.01) at 45000, 10x, marked at 45100."""
    values: dict[str, Any] = {
        "user_id": USER,
        "exchange": "okx",
        "symbol": SYMBOL,
        "side": "long",
        "size": D("0.1"),
        "entry_price": D("45000"),
        "leverage": 10,
        "contract_size": D("0.01"),
        "current_price": D("45100"),
        "created_at": T0,
        "updated_at": T0 + timedelta(minutes=1),
    }
    values.update(overrides)
    values.setdefault("entry_price_precise", values["entry_price"])
    return PositionRow.objects.create(**values)


def close(position: PositionRow, *, exit_price: Decimal, realized: Decimal, at: datetime | None = None) -> None:
    """Mark ``position`` closed the way the service does (size kept, exit and realized PnL set)."""
    at = at or T0 + timedelta(hours=1)
    position.status = "closed"
    position.exit_price = exit_price
    position.exit_qty = position.size
    position.realized_pnl = realized
    position.unrealized_pnl = D(0)
    position.closed_at = at
    position.updated_at = at
    position.close_reason = "test"
    position.save()


def make_order(**overrides: Any) -> OrderRow:
    """A live OKX limit buy of 0.1 BTC at 44000, acknowledged by the exchange."""
    values: dict[str, Any] = {
        "user_id": USER,
        "exchange": "okx",
        "symbol": SYMBOL,
        "side": "buy",
        "order_type": "limit",
        "quantity": D("0.1"),
        "price": D("44000"),
        "status": "open",
        "created_at": T0,
        "updated_at": T0 + timedelta(seconds=5),
    }
    values.update(overrides)
    return OrderRow.objects.create(**values)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server subprocess on a fixed port, which a test may stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client with string responses, like the service's own."""
        return redis.Redis(port=self.port, decode_responses=True)

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


LEGACY_LISTS = (b":open_orders", b":closed_orders")
GRID_EXPIRY = 1


def snapshot(url: str) -> dict[bytes, tuple[bytes, Any, int]]:
    """Every key except the event streams and the projection's own bookkeeping (``projection:*``,
    versions with a rolling expiry): (type, DUMP bytes, absolute expiry in ms or -1).

    Sets are taken as their members: DUMP of a hashtable-encoded set depends on insertion order
    and hash seeds, which says nothing about the content. GRID levels expire 7 days after each
    write (GRID's own rule), so only whether they expire is compared. So are the HYPERRSI order lists, which
    the legacy bots share with us: their items are kept by id, in no meaningful order.
    """
    raw = redis.Redis.from_url(url)
    result: dict[bytes, tuple[bytes, Any, int]] = {}
    for key in raw.scan_iter(count=1000):
        if key.startswith((b"events:", b"projection:")):
            continue
        kind = raw.type(key)
        if kind == b"set":
            value: Any = frozenset(raw.smembers(key))
        elif key.endswith(LEGACY_LISTS):
            value = tuple(sorted(raw.lrange(key, 0, -1)))
        else:
            value = raw.dump(key)
        expiry = raw.pexpiretime(key)
        if b":active_grid" in key and expiry > 0:
            expiry = GRID_EXPIRY  # 7 days after the last write, like GRID's own: only its presence is stable
        result[key] = (kind, value, expiry)
    raw.close()
    return result


def point_cache_at(settings: Any, url: str) -> None:
    """Point django-redis (and so the projector) at ``url`` through the pytest-django settings fixture.

    Overriding ``CACHES`` makes Django drop its cache handlers, so the next
    ``get_redis_connection`` builds a client for the new URL (django-redis keys its pools by URL).
    """
    import copy

    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = url
    settings.CACHES = caches


def populate() -> dict[str, Any]:
    """A varied book over three users, projected as the service would after each change.

    Open and closed plain positions, grid levels long and short, an emptied grid level, live
    limit / take-profit / trigger orders, a recently filled order and one ended long ago.
    """
    from django.utils import timezone

    from tradingcore.redis.projector import project_order, project_position

    now = timezone.now()
    rows: dict[str, Any] = {}
    rows["btc"] = make_position(metadata={"is_DCA": True, "entries": [D("1.5"), "2"]}, stop_loss_price=D("44000"))
    rows["eth_short"] = make_position(symbol="ETH-USDT-SWAP", side="short", entry_price=D("3000.25"), size=D("2"),
                                      contract_size=D("0.1"), current_price=None)  # fmt: skip
    rows["closed"] = make_position(symbol="SOL-USDT-SWAP", contract_size=D("1"))
    close(rows["closed"], exit_price=D("150.5"), realized=D("-3.25"))
    rows["grid_long"] = make_position(user_id="grid-1", grid_level=0, size=D("0.05"))
    rows["grid_short"] = make_position(user_id="grid-1", grid_level=1, side="short", metadata={"grid_count": -3})
    rows["grid_closed"] = make_position(user_id="grid-1", grid_level=2)
    close(rows["grid_closed"], exit_price=D("45500"), realized=D("50"))
    rows["binance"] = make_position(user_id="user-2", exchange="binance", symbol="BTCUSDT", contract_size=None)
    rows["limit"] = make_order(exchange_order_id="ex-1")
    rows["tp"] = make_order(order_type="take_profit", side="sell", reduce_only=True, price=None,
                            trigger_price=D("47000"), position=rows["btc"])  # fmt: skip
    rows["trigger_tp"] = make_order(order_type="trigger", side="buy", reduce_only=True, price=None,
                                    trigger_price=D("2900"), position=rows["eth_short"],
                                    symbol="ETH-USDT-SWAP", quantity=D("1"),
                                    role="take_profit")  # fmt: skip
    rows["filled"] = make_order(status="filled", filled_qty=D("0.1"), avg_fill_price=D("44000"),
                                updated_at=now, filled_at=now)  # fmt: skip
    rows["ancient"] = make_order(status="cancelled")
    rows["grid_order"] = make_order(user_id="grid-1", grid_level=0, status="pending")
    rows["binance_order"] = make_order(user_id="user-2", exchange="binance", symbol="BTCUSDT", side="sell")
    for row in rows.values():
        if hasattr(row, "order_type"):
            project_order(row.pk)
        else:
            project_position(row.pk)
    return rows
