"""The bot clients: careful bots over HTTP, and the market that moves the paper marks.

A careful bot sends every order-placing or cancelling POST with an ``Idempotency-Key`` and
retries it, with the same key and body, until it gets a final answer: after no answer (a killed
worker, a timeout), after a 503 (waiting ``Retry-After``), after a 409 ``idempotency_in_progress``
and after any other 5xx. Each attempt goes to the next API server, as a load balancer would send
it, so a retry may meet the first attempt still running on another process.

Each bot trades for its own user on the paper exchange (hedge mode): opens positions at market
(some with a stop-loss and a take-profit, a few as resting limit entries), adds to them, closes
them in part and in full, places limit orders near the mark and cancels them, and now and then
reads its open positions (from the Redis projection) and live orders to see what fills did.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import aiohttp

from loadtest.journal import Attempt, Call, Journal

EXCHANGE = "okx"


@dataclass(frozen=True)
class Instrument:
    """A market the bots trade: its start mark, lot (base units per contract) and tick."""

    symbol: str
    start: Decimal
    lot: Decimal
    tick: Decimal

    def on_tick(self, price: Decimal) -> Decimal:
        return (price / self.tick).to_integral_value(ROUND_DOWN) * self.tick


INSTRUMENTS = (
    Instrument("BTC-USDT-SWAP", Decimal("45000"), Decimal("0.01"), Decimal("0.1")),
    Instrument("ETH-USDT-SWAP", Decimal("3000"), Decimal("0.1"), Decimal("0.01")),
)


@dataclass
class Http:
    """The bots' HTTP side: the servers, the session, and the rules of a careful retry."""

    servers: list[str]
    journal: Journal
    session: aiohttp.ClientSession
    attempt_timeout: float = 20.0
    give_up_at: float = float("inf")  # monotonic time after which an unanswered call stays unresolved

    async def call(
        self, *, bot: int, user_id: str, api_key: str, kind: str, method: str, path: str,
        body: dict[str, Any] | None = None, keyed: bool = False,
    ) -> Call:  # fmt: skip
        key = f"lt-{uuid.uuid4().hex}" if keyed else None
        call = self.journal.add(Call(bot, user_id, kind, method, path, body, key, started=time.monotonic()))
        headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        data = None if body is None else json.dumps(body)
        attempt_number = 0
        while True:
            server = (bot + attempt_number) % len(self.servers)
            attempt_number += 1
            attempt, payload = await self._attempt(server, method, path, headers, data)
            call.attempts.append(attempt)
            if not _retried(attempt):
                call.status, call.response, call.finished = attempt.status, payload, time.monotonic()
                return call
            if time.monotonic() > self.give_up_at:
                call.response = payload
                return call
            await asyncio.sleep(_backoff(attempt, attempt_number))

    async def _attempt(
        self, server: int, method: str, path: str, headers: dict[str, str], data: str | None
    ) -> tuple[Attempt, Any]:
        started = time.monotonic()
        url = self.servers[server] + path
        try:
            timeout = aiohttp.ClientTimeout(total=self.attempt_timeout)
            async with self.session.request(method, url, headers=headers, data=data, timeout=timeout) as answer:
                text = await answer.text()
                payload = _json(text)
                code = ""
                if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                    code = str(payload["error"].get("code", ""))
                replayed = answer.headers.get("Idempotent-Replayed") == "true"
                attempt = Attempt(server, answer.status, code, "", replayed, answer.headers.get("Retry-After"),
                                  time.monotonic() - started)  # fmt: skip
                return attempt, payload
        except (TimeoutError, aiohttp.ClientError) as exc:
            error = type(exc).__name__
            return Attempt(server, None, "", error, False, None, time.monotonic() - started), None


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return {"raw": text[:500]}


def _retried(attempt: Attempt) -> bool:
    """Whether a careful bot sends the request again (same key, same body)."""
    if attempt.status is None or attempt.status >= 500:
        return True
    return attempt.status == 409 and attempt.code == "idempotency_in_progress"


def _backoff(attempt: Attempt, number: int) -> float:
    if attempt.retry_after:
        try:
            return min(max(float(attempt.retry_after), 0.2), 3.0) * random.uniform(0.5, 1.0)
        except ValueError:
            pass
    return min(0.25 * 2**number, 3.0) * random.uniform(0.5, 1.0)


@dataclass
class Market:
    """Moves the paper marks: a mean-reverting random walk, one step per market every ``period``
    seconds, through ``POST /api/v1/paper/marks/`` (crossed limits fill, crossed triggers fire)."""

    http: Http
    api_key: str
    rng: random.Random
    period: float = 0.5
    step_bps: float = 4.0
    marks: dict[str, Decimal] = field(default_factory=dict)
    moves: int = 0

    def __post_init__(self) -> None:
        self.marks = {instrument.symbol: instrument.start for instrument in INSTRUMENTS}

    def mark(self, symbol: str) -> Decimal:
        return self.marks[symbol]

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self.walk(instrument, stop) for instrument in INSTRUMENTS))

    async def walk(self, instrument: Instrument, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            await self.step(instrument)
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, self.period - (time.monotonic() - started)))
            except TimeoutError:
                pass

    async def step(self, instrument: Instrument) -> None:
        price = self.marks[instrument.symbol]
        drift = (instrument.start - price) / instrument.start * Decimal("0.05")  # pulled back to the start
        move = Decimal(str(round(self.rng.gauss(0, self.step_bps) / 10_000, 8))) + drift
        price = instrument.on_tick(price * (1 + move))
        body = {"exchange": EXCHANGE, "symbol": instrument.symbol, "price": str(price)}
        call = await self.http.call(bot=self.moves, user_id="", api_key=self.api_key, kind="mark", method="POST",
                                    path="/api/v1/paper/marks/", body=body)  # fmt: skip
        if call.acknowledged:
            self.marks[instrument.symbol] = price
        self.moves += 1


@dataclass
class Bot:
    """One careful bot trading for ``user_id``; see the module docstring for what it does."""

    index: int
    user_id: str
    api_key: str
    http: Http
    market: Market
    rng: random.Random
    instruments: tuple[Instrument, ...]
    think: tuple[float, float] = (0.4, 1.2)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> last known row
    live_orders: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> last known row

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.think[1]))  # not all at once
        while not stop.is_set():
            action = self.choose()
            await action()
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*self.think))
            except TimeoutError:
                pass

    def choose(self) -> Any:
        weights: list[tuple[Any, float]] = [(self.open, 3.0 if len(self.positions) < 2 else 0.8)]
        if self.positions:
            weights += [(self.add, 1.5), (self.close_part, 2.0), (self.close_all, 1.2)]
        weights += [(self.place_order, 2.5 if len(self.live_orders) < 4 else 0.3)]
        if self.live_orders:
            weights.append((self.cancel, 2.0))
        weights.append((self.read, 1.2))
        actions, scores = zip(*weights, strict=True)
        return self.rng.choices(actions, weights=scores)[0]

    # -- actions -----------------------------------------------------------------------------------

    async def open(self) -> None:
        instrument = self.rng.choice(self.instruments)
        side = self.rng.choice(["long", "short"])
        mark = self.market.mark(instrument.symbol)
        body: dict[str, Any] = {"user_id": self.user_id, "exchange": EXCHANGE, "symbol": instrument.symbol,
                                "side": side, "size": str(instrument.lot * self.rng.randint(1, 5)),
                                "leverage": self.rng.choice([3, 5, 10])}  # fmt: skip
        kind = "open"
        sign = 1 if side == "long" else -1
        if self.rng.random() < 0.4:
            body["stop_loss_price"] = str(instrument.on_tick(mark * (1 - sign * self._bps(30, 80))))
            body["take_profit_price"] = str(instrument.on_tick(mark * (1 + sign * self._bps(30, 80))))
        elif self.rng.random() < 0.15:
            kind = "limit_entry"
            body["entry_price"] = str(instrument.on_tick(mark * (1 - sign * self._bps(2, 20))))
        call = await self._post(kind, "/api/v1/positions/", body)
        self._saw_position(call)

    async def add(self) -> None:
        position = self.rng.choice(list(self.positions.values()))
        instrument = self._instrument(position["symbol"])
        body = {"user_id": self.user_id, "exchange": EXCHANGE, "symbol": position["symbol"], "side": position["side"],
                "size": str(instrument.lot * self.rng.randint(1, 3))}  # fmt: skip
        self._saw_position(await self._post("add", "/api/v1/positions/", body))

    async def close_part(self) -> None:
        position = self.rng.choice(list(self.positions.values()))
        instrument = self._instrument(position["symbol"])
        lots = int(Decimal(position["size"]) / instrument.lot)
        if lots < 2:
            await self.close_all(position)
            return
        body = {"size": str(instrument.lot * self.rng.randint(1, lots - 1)), "reason": "load: scale out"}
        self._saw_position(await self._post("close_part", f"/api/v1/positions/{position['id']}/close/", body))

    async def close_all(self, position: dict[str, Any] | None = None) -> None:
        position = position or self.rng.choice(list(self.positions.values()))
        call = await self._post("close_all", f"/api/v1/positions/{position['id']}/close/", {"reason": "load: done"})
        if not call.acknowledged:
            self.positions.pop(position["id"], None)  # closed meanwhile (a stop), or being closed: read again
        self._saw_position(call)

    async def place_order(self) -> None:
        instrument = self.rng.choice(self.instruments)
        side = self.rng.choice(["buy", "sell"])
        mark = self.market.mark(instrument.symbol)
        sign = 1 if side == "buy" else -1
        body: dict[str, Any] = {
            "user_id": self.user_id, "exchange": EXCHANGE, "symbol": instrument.symbol, "side": side,
            "order_type": "limit", "quantity": str(instrument.lot * self.rng.randint(1, 4)),
            "price": str(instrument.on_tick(mark * (1 - sign * self._bps(1, 25)))),
        }  # fmt: skip
        reducible = "long" if side == "sell" else "short"
        if any(p["side"] == reducible and p["symbol"] == instrument.symbol for p in self.positions.values()):
            body["reduce_only"] = self.rng.random() < 0.5
        call = await self._post("order", "/api/v1/orders/", body)
        if call.acknowledged and isinstance(call.response, dict) and call.response.get("status") in _LIVE:
            self.live_orders[call.response["id"]] = call.response

    async def cancel(self) -> None:
        order_id = self.rng.choice(list(self.live_orders))
        call = await self._post("cancel", f"/api/v1/orders/{order_id}/cancel/", None)
        self.live_orders.pop(order_id, None)
        del call

    async def read(self) -> None:
        query = f"user_id={self.user_id}&exchange={EXCHANGE}&status=open"
        positions = await self._get("read_positions", f"/api/v1/positions/?{query}")
        if positions.acknowledged and isinstance(positions.response, dict):
            self.positions = {row["id"]: row for row in positions.response.get("results", [])}
        orders = await self._get("read_orders", f"/api/v1/orders/open/?user_id={self.user_id}")
        if orders.acknowledged and isinstance(orders.response, dict):
            self.live_orders = {
                row["id"]: row for row in orders.response.get("results", []) if row.get("role") == "plain"
            }

    # -- helpers -----------------------------------------------------------------------------------

    async def _post(self, kind: str, path: str, body: dict[str, Any] | None) -> Call:
        return await self.http.call(bot=self.index, user_id=self.user_id, api_key=self.api_key, kind=kind,
                                    method="POST", path=path, body=body, keyed=True)  # fmt: skip

    async def _get(self, kind: str, path: str) -> Call:
        return await self.http.call(bot=self.index, user_id=self.user_id, api_key=self.api_key, kind=kind,
                                    method="GET", path=path)  # fmt: skip

    def _saw_position(self, call: Call) -> None:
        row = call.response
        if not call.acknowledged or not isinstance(row, dict) or "id" not in row:
            return
        if row.get("status") == "open" and Decimal(str(row.get("size") or "0")) > 0:
            self.positions[row["id"]] = row
        else:
            self.positions.pop(row["id"], None)

    def _instrument(self, symbol: str) -> Instrument:
        return next(instrument for instrument in INSTRUMENTS if instrument.symbol == symbol)

    def _bps(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randint(low, high)) / 10_000


_LIVE = {"pending", "open", "partially_filled"}
