"""A loopback OKX v5 REST server for driving the real ccxt client in tests (SPEC section 5).

``OkxLoopback`` listens on 127.0.0.1 (a free port) and answers the endpoints ccxt calls for the
gateway's operations, in OKX's own response format: ``{"code": "0", "msg": "", "data": [...]}``
with every number a string. It is not an exchange: it keeps just enough state for the gateway's
tests (instruments, marks, orders, algo orders, positions) and a record of every request so a
test can assert on what ccxt actually sent (method, path, query, JSON body, headers).

Behaviour, in short:

- market orders fill at the mark at once (taker fee 0.05 %); limit orders rest until the test
  calls ``fill`` (maker fee 0.02 %; both rates are settable, a negative maker rate is a rebate,
  which OKX reports as a positive ``fee``); ``trigger_algo`` fires a trigger / stop order as a
  market order at the mark;
- every fill is one trade in the fills history (``GET /trade/fills-history``: newest first, 100 a
  page, ``after`` / ``before`` bill-id cursors, ``begin`` / ``end`` times, ``ordId`` filter), with
  OKX's bill subtype (3-6 open / close long / short, 1-2 buy / sell in net mode, 100-107 liquidation,
  125-128 ADL) and execution type (``M`` / ``T``);
- the instrument list also holds what the service does not model, in OKX's recorded shapes: the
  inverse ``BTC-USD-SWAP`` (100 USD per contract, settled in BTC), the spot ``BTC-USDT`` and, when
  asked for ``OPTION`` with an underlying, BTC-USD options;
- request validation mirrors OKX where the gateway could get it wrong: ``tdMode`` required,
  ``posSide`` required in long/short mode and refused in net mode, ``sz`` a multiple of the lot
  size and at least the minimum, ``clOrdId`` unique;
- ``fail`` makes the next request(s) to an endpoint fail with an OKX error code (in the exact
  shape OKX uses for that endpoint, so ccxt's own error mapping runs), an HTTP status (429 with
  code 50011, a 5xx with an HTML body), or "accept then stall": the request is processed (the
  order exists) but the answer comes only after ``stall_seconds``;
- any other path is answered with HTTP 404 and recorded in ``unexpected``.

Controls that play the exchange misbehaving (for the services' tests of issue 9):

- ``forget(ord_id, keep_trades=True)``: the exchange no longer knows the order: fetch and cancel
  answer 51603 "Order does not exist" and it is not listed as pending; its trades stay in the fills
  history unless ``keep_trades`` is false. What it did to the position stays done.
- ``report_totals_only(ord_id=None)``: from now on the fills of that order (None: of every order)
  show only in the order's running totals (``accFillSz``, ``avgPx``, ``fee``) and are not listed in
  the fills history until ``list_trades(ord_id=None)`` lists them (late, with their own times).
- ``liquidate(inst_id, pos_side, ...)``: the exchange closes a position by force at the mark (or a
  given price): a system order (``category`` full_liquidation / partial_liquidation / adl, no
  client id) fills, its trades carry the liquidation or ADL bill subtype (listed only if
  ``list_trades``), the position's pending algo orders are cancelled, and the position is gone.
- ``charge_fees_in(currency, price=None)``: orders placed from now on are charged their fees in
  ``currency`` (the base coin, or a platform token worth ``price`` USDT), as their running ``fee`` /
  ``feeCcy`` and their trades report it.
- ``trade_directly(inst_id, side, contracts, pos_side=None)``: a market order placed on the
  exchange's website (no client id), filled at the mark and listed like any trade.
- ``set_position(...)``: a position as the exchange holds it, changed without any trade (any listed
  instrument, inverse included).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API = "/api/v5"
PLACE_ORDER = f"{API}/trade/order"
PLACE_ALGO = f"{API}/trade/order-algo"
CANCEL_ORDER = f"{API}/trade/cancel-order"
CANCEL_ALGOS = f"{API}/trade/cancel-algos"
PENDING_ORDERS = f"{API}/trade/orders-pending"
PENDING_ALGOS = f"{API}/trade/orders-algo-pending"
POSITIONS = f"{API}/account/positions"
SET_LEVERAGE = f"{API}/account/set-leverage"
ACCOUNT_CONFIG = f"{API}/account/config"
FILLS_HISTORY = f"{API}/trade/fills-history"
INSTRUMENTS = f"{API}/public/instruments"
MARK_PRICE = f"{API}/public/mark-price"
TICKER = f"{API}/market/ticker"
SERVER_TIME = f"{API}/public/time"

TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal("0.0002")
# Endpoints whose failures OKX reports per item: {"code": "1", "data": [{"sCode": ..., "sMsg": ...}]}.
ITEM_ENDPOINTS = {PLACE_ORDER, PLACE_ALGO, CANCEL_ORDER, CANCEL_ALGOS}
OKX_MESSAGES = {
    "50011": "Too Many Requests",
    "51000": "Parameter {0} error",
    "51008": "Order failed. Insufficient USDT margin in account",
    "51016": "Duplicated clOrdId",
    "51020": "Your order should meet or exceed the minimum order amount.",
    "51121": "Order quantity must be a multiple of the lot size.",
    "51400": "Order cancellation failed as the order has been filled, canceled or does not exist.",
    "51401": "Order cancellation failed as the order has been canceled.",
    "51402": "Order cancellation failed as the order has been filled.",
    "51603": "Order does not exist",
    "50113": "Invalid Sign",
}

# OKX bill subtypes of a trade: (posSide, side) -> subtype; liquidation and ADL ones by kind below.
TRADE_SUBTYPES = {
    ("long", "buy"): "3",  # open long
    ("short", "sell"): "4",  # open short
    ("long", "sell"): "5",  # close long
    ("short", "buy"): "6",  # close short
    ("net", "buy"): "1",
    ("net", "sell"): "2",
}
FORCED_SUBTYPES = {  # kind -> (close long, close short, buy, sell) as OKX numbers them
    "partial_liquidation": ("100", "101", "102", "103"),
    "full_liquidation": ("104", "105", "106", "107"),
    "adl": ("125", "126", "127", "128"),
}

SWAP_INSTRUMENTS: dict[str, dict[str, str]] = {
    # lotSz 0.01 (fractional contracts, as OKX lists BTC today) and a classic whole-contract market.
    "BTC-USDT-SWAP": {"ctVal": "0.01", "lotSz": "0.01", "minSz": "0.01", "tickSz": "0.1", "mark": "60000"},
    "ETH-USDT-SWAP": {"ctVal": "0.1", "lotSz": "1", "minSz": "1", "tickSz": "0.01", "mark": "3000"},
}


# Instruments the service does not model, in OKX's recorded shapes (GET /api/v5/public/instruments).
INVERSE_SWAPS: dict[str, dict[str, str]] = {
    "BTC-USD-SWAP": {"ctVal": "100", "lotSz": "1", "minSz": "1", "tickSz": "0.1", "mark": "60000"},
}
SPOT_INSTRUMENTS: dict[str, dict[str, str]] = {
    "BTC-USDT": {"lotSz": "0.00000001", "minSz": "0.00001", "tickSz": "0.1", "mark": "60000"},
}
OPTION_INSTRUMENTS: dict[str, dict[str, str]] = {  # underlying BTC-USD, 0.01 BTC per contract
    "BTC-USD-250328-100000-C": {"stk": "100000", "optType": "C", "expTime": "1743148800000"},
    "BTC-USD-250328-80000-P": {"stk": "80000", "optType": "P", "expTime": "1743148800000"},
}


def _s(value: Decimal) -> str:
    """A Decimal the way OKX writes numbers: plain, no exponent, no trailing zeros."""
    if value == 0:
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _now_ms() -> str:
    return str(int(time.time() * 1000))


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    target: str = ""  # path and query string as sent (what OKX signs)
    raw_body: str = ""  # the body as sent (what OKX signs)


@dataclass
class Failure:
    """A planned failure of the next ``times`` requests to one endpoint."""

    okx_code: str | None = None  # OKX error code (sCode for item endpoints, code otherwise)
    http_status: int = 200
    message: str | None = None
    # > 0: answer this late. Alone, the request is processed first (the order exists); with an
    # error code or status, nothing is processed and the error comes late.
    stall_seconds: float = 0
    times: int = 1


@dataclass
class Order:
    """Server-side state of one regular order, kept in OKX field names."""

    ord_id: str
    data: dict[str, Any]
    fills: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (contracts, price)
    fee_token_price: Decimal | None = None  # USDT per fee currency unit, for a platform token


@dataclass
class Trade:
    """One trade of the fills history, in OKX field names; ``listed`` false while held back."""

    data: dict[str, Any]
    listed: bool = True

    @property
    def bill_id(self) -> int:
        return int(self.data["billId"])


class OkxLoopback:
    """The loopback OKX server; see the module docstring. Start with ``start()``, stop with ``stop()``."""

    def __init__(
        self,
        *,
        position_mode: str = "long_short_mode",
        maker_fee: str | Decimal = MAKER_FEE,
        taker_fee: str | Decimal = TAKER_FEE,
    ) -> None:
        self.position_mode = position_mode  # long_short_mode (hedge) or net_mode
        self.maker_fee = Decimal(str(maker_fee))  # rate on maker fills; negative: a rebate
        self.taker_fee = Decimal(str(taker_fee))
        self.instruments = {inst_id: dict(spec) for inst_id, spec in SWAP_INSTRUMENTS.items()}
        self.inverse_instruments = {inst_id: dict(spec) for inst_id, spec in INVERSE_SWAPS.items()}
        self.spot_instruments = {inst_id: dict(spec) for inst_id, spec in SPOT_INSTRUMENTS.items()}
        self.marks = {inst_id: Decimal(spec["mark"]) for inst_id, spec in self.instruments.items()}
        self.marks.update({inst_id: Decimal(spec["mark"]) for inst_id, spec in INVERSE_SWAPS.items()})
        self.orders: dict[str, Order] = {}
        self.forgotten: dict[str, Order] = {}  # orders the exchange no longer finds (``forget``)
        self.trades: list[Trade] = []  # the fills history, oldest first
        self.fee_currency: tuple[str, Decimal | None] | None = None  # ``charge_fees_in``
        self._hold_all_trades = False  # ``report_totals_only()``
        self._held_orders: set[str] = set()  # ``report_totals_only(ord_id)``
        self.algo_orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[tuple[str, str], dict[str, Any]] = {}  # (instId, posSide) -> state
        self.leverage: dict[tuple[str, str, str], str] = {}  # (instId, mgnMode, posSide) -> lever
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[RecordedRequest] = []
        self.failures: dict[tuple[str, str], list[Failure]] = {}
        self._ids = itertools.count(700_000_000_000_000_001)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> OkxLoopback:
        handler = type("OkxLoopbackHandler", (_Handler,), {"loopback": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.block_on_close = False  # a stalled answer must not hold up the teardown
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="okx-loopback", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the loopback first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test controls -----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        *,
        okx_code: str | None = None,
        http_status: int = 200,
        message: str | None = None,
        stall_seconds: float = 0,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` requests to ``method path`` fail (or stall); see ``Failure``."""
        with self._lock:
            self.failures.setdefault((method.upper(), path), []).append(
                Failure(okx_code, http_status, message, stall_seconds, times)
            )

    def set_mark(self, inst_id: str, price: str | Decimal) -> None:
        with self._lock:
            self.marks[inst_id] = Decimal(str(price))

    def fill(self, ord_id: str, contracts: str | Decimal, price: str | Decimal | None = None) -> None:
        """Fill ``contracts`` more of a resting order (at its limit price unless ``price``), as a maker."""
        with self._lock:
            order = self.orders[ord_id]
            px = Decimal(str(price)) if price is not None else Decimal(order.data["px"])
            self._execute(order, Decimal(str(contracts)), px, maker=True)

    def trigger_algo(self, algo_id: str) -> str:
        """Fire a live trigger / conditional order: a child market order fills at the mark. Returns its ordId."""
        with self._lock:
            algo = self.algo_orders[algo_id]
            child = self._new_order(
                {
                    "instId": algo["instId"],
                    "side": algo["side"],
                    "posSide": algo["posSide"],
                    "tdMode": algo["tdMode"],
                    "ordType": "market",
                    "sz": algo["sz"],
                    "reduceOnly": algo["reduceOnly"],
                },
                algo_id=algo_id,
                algo_cl_ord_id=algo["algoClOrdId"],
            )
            self._execute(child, Decimal(algo["sz"]), self.marks[algo["instId"]], maker=False)
            algo.update(
                state="effective",
                ordId=child.ord_id,
                ordIdList=[child.ord_id],
                actualSz=algo["sz"],
                actualPx=_s(self.marks[algo["instId"]]),
                actualSide=algo["side"],
                triggerTime=_now_ms(),
                uTime=_now_ms(),
            )
            return child.ord_id

    def forget(self, ord_id: str, *, keep_trades: bool = True) -> None:
        """The exchange forgets the order ``ord_id``: fetching or cancelling it (by ordId or clOrdId)
        answers 51603 "Order does not exist", and it is no longer listed as pending. A live order
        stops trading. Its trades stay in the fills history unless ``keep_trades`` is false; the
        positions it moved stay as they are. Its client id stays taken."""
        with self._lock:
            self.forgotten[ord_id] = self.orders.pop(ord_id)
            if not keep_trades:
                self.trades = [trade for trade in self.trades if trade.data["ordId"] != ord_id]

    def report_totals_only(self, ord_id: str | None = None) -> None:
        """From now on, fills of ``ord_id`` (None: of every order) show only in the order's running
        totals (``accFillSz``, ``avgPx``, ``fee``): their trades are held back from the fills history
        until ``list_trades``."""
        with self._lock:
            if ord_id is None:
                self._hold_all_trades = True
            else:
                self._held_orders.add(ord_id)

    def list_trades(self, ord_id: str | None = None) -> int:
        """List the held-back trades of ``ord_id`` (None: all of them) in the fills history, with the
        times they happened, and stop holding that order's (None: every order's) trades back.
        Returns how many trades were listed."""
        with self._lock:
            if ord_id is None:
                self._hold_all_trades = False
                self._held_orders.clear()
            else:
                self._held_orders.discard(ord_id)
            held = [t for t in self.trades if not t.listed and ord_id in (None, t.data["ordId"])]
            for trade in held:
                trade.listed = True
            return len(held)

    def charge_fees_in(self, currency: str | None, *, price: str | Decimal | None = None) -> None:
        """Charge the fees of orders placed from now on in ``currency``: the base coin (the fee is the
        rate times the base quantity), or a platform token worth ``price`` USDT (fee = rate x notional
        / price). None: back to the settlement currency (USDT). An order keeps the currency it was
        placed with (``feeCcy``), as do its trades."""
        with self._lock:
            self.fee_currency = None if currency is None else (currency, None if price is None else Decimal(str(price)))

    def trade_directly(self, inst_id: str, side: str, contracts: str | Decimal, pos_side: str | None = None) -> str:
        """A market order placed by the account's owner on the exchange itself (no client id): it fills
        at the mark as taker, moves the position and is listed in the fills history. ``pos_side``:
        long / short in long/short mode, None (net) in net mode. Returns its ordId."""
        with self._lock:
            body = {
                "instId": inst_id,
                "side": side,
                "posSide": pos_side or "net",
                "tdMode": "cross",
                "ordType": "market",
            }
            order = self._new_order({**body, "sz": _s(Decimal(str(contracts)))})
            self._execute(order, Decimal(str(contracts)), self.marks[inst_id], maker=False)
            return order.ord_id

    def set_position(
        self, inst_id: str, pos_side: str, pos: str | Decimal, avg_px: str | Decimal, *, mgn_mode: str = "cross"
    ) -> None:
        """Set a position as the exchange holds it, without any trade: ``pos`` contracts (signed in net
        mode) of any listed instrument at ``avg_px``, in the exchange's own fields."""
        with self._lock:
            position = self.positions.get((inst_id, pos_side)) or self._empty_position(inst_id, pos_side, mgn_mode)
            position.update(
                pos=_s(Decimal(str(pos))), availPos=_s(abs(Decimal(str(pos)))), avgPx=_s(Decimal(str(avg_px)))
            )
            if inst_id in self.inverse_instruments:
                position["instType"] = "SWAP"
                position["ccy"] = inst_id.split("-")[0]
            self.positions[(inst_id, pos_side)] = position

    def liquidate(
        self,
        inst_id: str,
        pos_side: str | None = None,
        *,
        price: str | Decimal | None = None,
        contracts: str | Decimal | None = None,
        kind: str = "liquidation",
        list_trades: bool = True,
    ) -> str:
        """Close a position by force, as OKX's risk engine does; returns the system order's ordId.

        ``pos_side`` is long / short (hedge) or None / net (net mode). The whole position (or
        ``contracts`` of it: a partial liquidation) is closed at ``price`` (default: the mark) by a
        market order without client id, ``category`` full_liquidation, partial_liquidation or (``kind``
        "adl") adl, paying the taker fee; its trades carry the matching bill subtype and are listed
        only if ``list_trades`` (else held back until ``list_trades()``). After a full close the
        position's pending algo orders are cancelled.
        """
        with self._lock:
            side_key = pos_side or "net"
            position = self.positions[(inst_id, side_key)]
            held = Decimal(position["pos"])
            size = abs(held) if contracts is None else Decimal(str(contracts))
            category = "adl" if kind == "adl" else "full_liquidation" if size >= abs(held) else "partial_liquidation"
            closing_long = side_key == "long" or (side_key == "net" and held > 0)
            order = self._new_order(
                {
                    "instId": inst_id,
                    "side": "sell" if closing_long else "buy",
                    "posSide": side_key,
                    "tdMode": position["mgnMode"],
                    "ordType": "market",
                    "sz": _s(size),
                },
                category=category,
            )
            if not list_trades:
                self._held_orders.add(order.ord_id)
            px = self.marks[inst_id] if price is None else Decimal(str(price))
            self._execute(order, size, px, maker=False)
            if category != "partial_liquidation":
                self._cancel_position_algos(inst_id, side_key)
            return order.ord_id

    def _cancel_position_algos(self, inst_id: str, pos_side: str) -> None:
        for algo in self.algo_orders.values():
            if algo["instId"] == inst_id and algo["posSide"] == pos_side and algo["state"] == "live":
                algo.update(state="canceled", uTime=_now_ms())

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests to ``path`` (and ``method``), oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method.upper())]

    def order_by_client_id(self, cl_ord_id: str) -> dict[str, Any] | None:
        with self._lock:
            for order in self.orders.values():
                if order.data["clOrdId"] == cl_ord_id:
                    return dict(order.data)
            return None

    # -- request handling --------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> tuple[int, Any, float]:
        """Record and answer one request: (HTTP status, JSON-able body or raw text, seconds to stall first)."""
        method, path, query, body = request.method, request.path, request.query, request.body
        with self._lock:
            self.requests.append(request)
            failure = self._take_failure(method, path)
            if failure is not None and (failure.okx_code or failure.http_status != 200):
                status, payload = self._failure_response(path, failure, body)
                return status, payload, failure.stall_seconds
            route = self._routes().get((method, path))
            if route is None:
                self.unexpected.append(request)
                return 404, {"code": "404", "msg": f"loopback: no route for {method} {path}", "data": []}, 0
            try:
                payload = route(query, body)
            except OkxError as error:
                payload = self._error_payload(path, error.code, error.message, body)
            return 200, payload, failure.stall_seconds if failure is not None else 0

    def _routes(self) -> dict[tuple[str, str], Any]:
        return {
            ("GET", INSTRUMENTS): self._instruments,
            ("GET", MARK_PRICE): self._mark_price,
            ("GET", TICKER): self._ticker,
            ("GET", SERVER_TIME): lambda query, body: _ok([{"ts": _now_ms()}]),
            ("GET", ACCOUNT_CONFIG): self._account_config,
            ("POST", PLACE_ORDER): self._place_order,
            ("POST", PLACE_ALGO): self._place_algo,
            ("POST", CANCEL_ORDER): self._cancel_order,
            ("POST", CANCEL_ALGOS): self._cancel_algos,
            ("GET", PLACE_ORDER): self._get_order,
            ("GET", PLACE_ALGO): self._get_algo,
            ("GET", PENDING_ORDERS): self._pending_orders,
            ("GET", PENDING_ALGOS): self._pending_algos,
            ("GET", POSITIONS): self._positions,
            ("GET", FILLS_HISTORY): self._fills_history,
            ("POST", SET_LEVERAGE): self._set_leverage,
        }

    def _take_failure(self, method: str, path: str) -> Failure | None:
        planned = self.failures.get((method, path))
        if not planned:
            return None
        failure = planned[0]
        failure.times -= 1
        if failure.times <= 0:
            planned.pop(0)
        return failure

    def _failure_response(self, path: str, failure: Failure, body: Any) -> tuple[int, Any]:
        if failure.http_status >= 500:
            return failure.http_status, f"<html><body><h1>{failure.http_status} Bad Gateway</h1></body></html>"
        if failure.http_status == 429:
            code = failure.okx_code or "50011"
            return 429, {"code": code, "msg": failure.message or OKX_MESSAGES[code], "data": []}
        code = failure.okx_code or "51000"
        message = failure.message or OKX_MESSAGES.get(code, "Operation failed.")
        return failure.http_status, self._error_payload(path, code, message, body)

    def _error_payload(self, path: str, code: str, message: str, body: Any) -> dict[str, Any]:
        if path in ITEM_ENDPOINTS:
            items = body if isinstance(body, list) else [body or {}]
            data = [
                {
                    "clOrdId": item.get("clOrdId", ""),
                    "ordId": "",
                    "tag": "",
                    "ts": _now_ms(),
                    "sCode": code,
                    "sMsg": message,
                }
                for item in items
            ]
            return {
                "code": "1",
                "msg": "All operations failed",
                "data": data,
                "inTime": _now_ms(),
                "outTime": _now_ms(),
            }
        return {"code": code, "msg": message, "data": []}

    # -- public ------------------------------------------------------------------------------------

    def _instruments(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_type = query.get("instType")
        if inst_type == "SWAP":
            linear = [self._instrument(inst_id, spec) for inst_id, spec in self.instruments.items()]
            return _ok(linear + [_inverse_instrument(i, spec) for i, spec in self.inverse_instruments.items()])
        if inst_type == "SPOT":
            return _ok([_spot_instrument(inst_id, spec) for inst_id, spec in self.spot_instruments.items()])
        if inst_type == "OPTION":
            if not (query.get("uly") or query.get("instFamily")):
                raise OkxError("51000", "Parameter uly error")
            family = query.get("uly") or query.get("instFamily")
            listed = [
                _option_instrument(i, spec) for i, spec in OPTION_INSTRUMENTS.items() if i.startswith(f"{family}-")
            ]
            return _ok(listed)
        return _ok([])

    @staticmethod
    def _instrument(inst_id: str, spec: dict[str, str]) -> dict[str, Any]:
        base, quote = inst_id.split("-")[:2]
        return {
            "alias": "",
            "baseCcy": "",
            "category": "1",
            "ctMult": "1",
            "ctType": "linear",
            "ctVal": spec["ctVal"],
            "ctValCcy": base,
            "expTime": "",
            "instFamily": f"{base}-{quote}",
            "instId": inst_id,
            "instType": "SWAP",
            "lever": "100",
            "listTime": "1573557408000",
            "lotSz": spec["lotSz"],
            "maxIcebergSz": "100000000",
            "maxLmtAmt": "20000000",
            "maxLmtSz": "100000000",
            "maxMktAmt": "",
            "maxMktSz": "12000",
            "maxStopSz": "12000",
            "maxTriggerSz": "100000000",
            "maxTwapSz": "100000000",
            "minSz": spec["minSz"],
            "optType": "",
            "quoteCcy": "",
            "settleCcy": quote,
            "state": "live",
            "stk": "",
            "tickSz": spec["tickSz"],
            "uly": f"{base}-{quote}",
            "ruleType": "normal",
        }

    def _mark_price(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_id = query.get("instId", "")
        if inst_id not in self.marks:
            raise OkxError("51001", "Instrument ID does not exist")
        return _ok([{"instType": "SWAP", "instId": inst_id, "markPx": _s(self.marks[inst_id]), "ts": _now_ms()}])

    def _ticker(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_id = query.get("instId", "")
        if inst_id not in self.marks:
            raise OkxError("51001", "Instrument ID does not exist")
        px = _s(self.marks[inst_id])
        return _ok(
            [
                {
                    "instType": "SWAP",
                    "instId": inst_id,
                    "last": px,
                    "lastSz": "1",
                    "askPx": px,
                    "askSz": "10",
                    "bidPx": px,
                    "bidSz": "10",
                    "open24h": px,
                    "high24h": px,
                    "low24h": px,
                    "volCcy24h": "0",
                    "vol24h": "0",
                    "sodUtc0": px,
                    "sodUtc8": px,
                    "ts": _now_ms(),
                }
            ]
        )

    # -- account -----------------------------------------------------------------------------------

    def _account_config(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        return _ok(
            [
                {
                    "acctLv": "2",
                    "autoLoan": False,
                    "ctIsoMode": "automatic",
                    "greeksType": "PA",
                    "level": "Lv1",
                    "levelTmp": "",
                    "mgnIsoMode": "automatic",
                    "posMode": self.position_mode,
                    "spotOffsetType": "",
                    "uid": "44705892343619584",
                    "label": "loopback",
                    "roleType": "0",
                    "traderInsts": [],
                    "spotRoleType": "0",
                    "spotTraderInsts": [],
                    "opAuth": "0",
                    "kycLv": "3",
                    "ip": "",
                    "perm": "read_only,trade",
                    "mainUid": "44705892343619584",
                }
            ]
        )

    def _set_leverage(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_id, mgn_mode, lever = body.get("instId"), body.get("mgnMode"), str(body.get("lever", ""))
        if inst_id not in self.instruments:
            raise OkxError("51001", "Instrument ID does not exist")
        if mgn_mode not in ("cross", "isolated") or not lever:
            raise OkxError("51000", "Parameter mgnMode error")
        pos_side = body.get("posSide", "")
        if mgn_mode == "isolated" and self.position_mode == "long_short_mode" and pos_side not in ("long", "short"):
            raise OkxError("51000", "Parameter posSide error")
        if self._has_open_orders(inst_id):
            # OKX: "Your settings failed as you have positions or open orders" (even to the same value).
            raise OkxError(
                "59000", "Setting failed. Cancel any open orders, close positions, and stop trading bots first."
            )
        self.leverage[(inst_id, mgn_mode, pos_side)] = lever
        return _ok([{"instId": inst_id, "lever": lever, "mgnMode": mgn_mode, "posSide": pos_side}])

    def _has_open_orders(self, inst_id: str) -> bool:
        live_algo = any(a["instId"] == inst_id and a["state"] == "live" for a in self.algo_orders.values())
        live = any(
            o.data["instId"] == inst_id and o.data["state"] in ("live", "partially_filled")
            for o in self.orders.values()
        )
        return live_algo or live

    def _positions(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        wanted = set(query["instId"].split(",")) if query.get("instId") else None
        data = [
            dict(position)
            for (inst_id, _), position in self.positions.items()
            if Decimal(position["pos"]) != 0 and (wanted is None or inst_id in wanted)
        ]
        for position in data:
            mark = self.marks[position["instId"]]
            position["markPx"] = _s(mark)
            position["last"] = _s(mark)
            contracts = Decimal(position["pos"])
            if position["instId"] in self.inverse_instruments:  # ctVal USD per contract, PnL in BTC
                ct_val = Decimal(self.inverse_instruments[position["instId"]]["ctVal"])
                entry = Decimal(position["avgPx"])
                position["upl"] = _s(contracts * ct_val * (1 / entry - 1 / mark)) if entry else "0"
                position["notionalUsd"] = _s(abs(contracts) * ct_val)
                continue
            ct_val = Decimal(self.instruments[position["instId"]]["ctVal"])
            position["upl"] = _s((mark - Decimal(position["avgPx"])) * contracts * ct_val)
            position["notionalUsd"] = _s(abs(contracts) * ct_val * mark)
        return _ok(data)

    # -- orders ------------------------------------------------------------------------------------

    def _validate(self, body: dict[str, Any]) -> tuple[str, Decimal]:
        inst_id = body.get("instId", "")
        if inst_id not in self.instruments:
            raise OkxError("51001", "Instrument ID does not exist")
        if body.get("tdMode") not in ("cross", "isolated"):
            raise OkxError("51000", "Parameter tdMode error")
        if body.get("side") not in ("buy", "sell"):
            raise OkxError("51000", "Parameter side error")
        pos_side = body.get("posSide")
        if self.position_mode == "long_short_mode" and pos_side not in ("long", "short"):
            raise OkxError("51000", "Parameter posSide error")
        if self.position_mode == "net_mode" and pos_side not in (None, "", "net"):
            raise OkxError("51000", "Parameter posSide error")
        spec = self.instruments[inst_id]
        size = Decimal(str(body.get("sz", "0")))
        if size < Decimal(spec["minSz"]):
            raise OkxError("51020", OKX_MESSAGES["51020"])
        if size % Decimal(spec["lotSz"]) != 0:
            raise OkxError("51121", OKX_MESSAGES["51121"])
        cl_ord_id = body.get("clOrdId") or ""
        if len(cl_ord_id) > 32 or not cl_ord_id.isalnum() and cl_ord_id:
            raise OkxError("51000", "Parameter clOrdId error")
        return inst_id, size

    def _client_id_taken(self, cl_ord_id: str) -> bool:
        if not cl_ord_id:
            return False
        return any(o.data["clOrdId"] == cl_ord_id for o in self.orders.values()) or any(
            a["algoClOrdId"] == cl_ord_id for a in self.algo_orders.values()
        )

    def _place_order(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_id, size = self._validate(body)
        if self._client_id_taken(body.get("clOrdId", "")):
            raise OkxError("51016", OKX_MESSAGES["51016"])
        ord_type = body.get("ordType")
        if ord_type not in ("market", "limit", "post_only", "ioc", "fok", "optimal_limit_ioc"):
            raise OkxError("51000", "Parameter ordType error")
        if ord_type != "market" and ord_type != "optimal_limit_ioc" and not body.get("px"):
            raise OkxError("51000", "Parameter px error")
        order = self._new_order(body)
        mark = self.marks[inst_id]
        if ord_type in ("market", "optimal_limit_ioc"):
            self._execute(order, size, mark, maker=False)
        elif ord_type in ("ioc", "fok", "post_only"):
            px = Decimal(body["px"])
            crosses = px >= mark if body["side"] == "buy" else px <= mark
            if ord_type == "post_only":
                if crosses:
                    order.data.update(state="canceled", cancelSource="31")
            elif crosses:
                self._execute(order, size, mark, maker=False)
            else:
                order.data.update(state="canceled", cancelSource="14")
        return _ok(
            [
                {
                    "clOrdId": order.data["clOrdId"],
                    "ordId": order.ord_id,
                    "tag": order.data["tag"],
                    "ts": _now_ms(),
                    "sCode": "0",
                    "sMsg": "Order placed",
                }
            ]
        )

    def _new_order(
        self, body: dict[str, Any], *, algo_id: str = "", algo_cl_ord_id: str = "", category: str = "normal"
    ) -> Order:
        ord_id = str(next(self._ids))
        now = _now_ms()
        data = {
            "instType": "SWAP",
            "instId": body["instId"],
            "tgtCcy": "",
            "ccy": "",
            "ordId": ord_id,
            "clOrdId": body.get("clOrdId", ""),
            "tag": body.get("tag", ""),
            "px": str(body.get("px", "")),
            "pxUsd": "",
            "pxVol": "",
            "pxType": "",
            "sz": str(body["sz"]),
            "pnl": "0",
            "ordType": body["ordType"],
            "side": body["side"],
            "posSide": body.get("posSide") or "net",
            "tdMode": body["tdMode"],
            "accFillSz": "0",
            "fillPx": "",
            "tradeId": "",
            "fillSz": "0",
            "fillTime": "",
            "avgPx": "",
            "state": "live",
            "lever": "10",
            "attachAlgoClOrdId": "",
            "tpTriggerPx": "",
            "tpTriggerPxType": "",
            "tpOrdPx": "",
            "slTriggerPx": "",
            "slTriggerPxType": "",
            "slOrdPx": "",
            "attachAlgoOrds": [],
            "linkedAlgoOrd": {"algoId": ""},
            "stpId": "",
            "stpMode": "cancel_maker",
            "feeCcy": self.fee_currency[0] if self.fee_currency else "USDT",
            "fee": "0",
            "rebateCcy": "USDT",
            "source": "",
            "rebate": "0",
            "category": category,
            "reduceOnly": _okx_bool(body.get("reduceOnly")),
            "isTpLimit": "false",
            "cancelSource": "",
            "cancelSourceReason": "",
            "quickMgnType": "",
            "algoClOrdId": algo_cl_ord_id,
            "algoId": algo_id,
            "uTime": now,
            "cTime": now,
        }
        order = Order(ord_id=ord_id, data=data, fee_token_price=self.fee_currency[1] if self.fee_currency else None)
        self.orders[ord_id] = order
        return order

    def _execute(self, order: Order, contracts: Decimal, price: Decimal, *, maker: bool) -> None:
        data = order.data
        filled = Decimal(data["accFillSz"])
        contracts = min(contracts, Decimal(data["sz"]) - filled)
        if contracts <= 0:
            return
        order.fills.append((contracts, price))
        total = filled + contracts
        avg = sum((c * p for c, p in order.fills), Decimal(0)) / total
        fee, fee_ccy = self._fee(order, contracts, price, maker=maker)
        trade_id = str(next(self._ids))
        data.update(
            accFillSz=_s(total),
            avgPx=_s(avg),
            fillPx=_s(price),
            fillSz=_s(contracts),
            fillTime=_now_ms(),
            tradeId=trade_id,
            fee=_s(Decimal(data["fee"]) - fee),
            state="filled" if total >= Decimal(data["sz"]) else "partially_filled",
            uTime=_now_ms(),
        )
        self._record_trade(order, trade_id, contracts, price, (fee, fee_ccy), maker=maker)
        self._move_position(data, contracts, price)

    def _fee(self, order: Order, contracts: Decimal, price: Decimal, *, maker: bool) -> tuple[Decimal, str]:
        """(fee charged: positive, a rebate negative; its currency) of one fill, in the order's fee currency."""
        rate = self.maker_fee if maker else self.taker_fee
        base_qty = contracts * Decimal(self.instruments[order.data["instId"]]["ctVal"])
        currency = order.data["feeCcy"]
        if currency == "USDT":
            return base_qty * price * rate, currency
        if order.fee_token_price is None:  # the base coin
            return base_qty * rate, currency
        return base_qty * price * rate / order.fee_token_price, currency

    def _record_trade(
        self, order: Order, trade_id: str, contracts: Decimal, price: Decimal, fee: tuple[Decimal, str], *, maker: bool
    ) -> None:
        """One row of the fills history, in OKX's fields; held back while the order's trades are."""
        data = order.data
        now = _now_ms()
        row = {
            "instType": "SWAP", "instId": data["instId"], "tradeId": trade_id, "ordId": order.ord_id,
            "clOrdId": data["clOrdId"], "billId": str(next(self._ids)), "subType": _subtype(data),
            "tag": data["tag"], "fillPx": _s(price), "fillSz": _s(contracts), "fillIdxPx": _s(price),
            "fillPnl": "0", "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "",
            "fillMarkPx": _s(self.marks[data["instId"]]), "side": data["side"], "posSide": data["posSide"],
            "execType": "M" if maker else "T", "feeCcy": fee[1], "fee": _s(-fee[0]), "ts": now, "fillTime": now,
            "feeRate": _s(-(self.maker_fee if maker else self.taker_fee)), "tradeQuoteCcy": "USDT",
        }  # fmt: skip
        held = self._hold_all_trades or order.ord_id in self._held_orders
        self.trades.append(Trade(row, listed=not held))

    def _move_position(self, data: dict[str, Any], contracts: Decimal, price: Decimal) -> None:
        inst_id, side, pos_side = data["instId"], data["side"], data["posSide"]
        if pos_side == "net":
            delta = contracts if side == "buy" else -contracts
        else:
            opening = (side == "buy") == (pos_side == "long")
            delta = contracts if opening else -contracts
        key = (inst_id, pos_side)
        position = self.positions.get(key) or self._empty_position(inst_id, pos_side, data["tdMode"])
        old = Decimal(position["pos"])
        new = old + delta
        if pos_side == "net" and old * new < 0:
            position["avgPx"] = _s(price)
        elif abs(new) > abs(old):
            position["avgPx"] = _s((abs(old) * Decimal(position["avgPx"] or 0) + abs(delta) * price) / abs(new))
        position["pos"] = _s(new if pos_side == "net" else abs(new))
        position["availPos"] = _s(abs(new))
        position["uTime"] = _now_ms()
        self.positions[key] = position

    def _empty_position(self, inst_id: str, pos_side: str, mgn_mode: str) -> dict[str, Any]:
        now = _now_ms()
        return {
            "adl": "1",
            "availPos": "0",
            "avgPx": "0",
            "cTime": now,
            "ccy": "USDT",
            "deltaBS": "",
            "deltaPA": "",
            "gammaBS": "",
            "gammaPA": "",
            "imr": "",
            "instId": inst_id,
            "instType": "SWAP",
            "interest": "",
            "idxPx": "",
            "last": "",
            "usdPx": "",
            "bePx": "",
            "lever": self.leverage.get((inst_id, mgn_mode, pos_side if mgn_mode == "isolated" else ""), "10"),
            "liab": "",
            "liabCcy": "",
            "liqPx": "",
            "markPx": "",
            "margin": "",
            "mgnMode": mgn_mode,
            "mgnRatio": "",
            "mmr": "",
            "notionalUsd": "",
            "optVal": "",
            "pendingCloseOrdLiabVal": "",
            "pos": "0",
            "posCcy": "",
            "posId": str(next(self._ids)),
            "posSide": pos_side,
            "spotInUseAmt": "",
            "spotInUseCcy": "",
            "thetaBS": "",
            "thetaPA": "",
            "tradeId": "",
            "bizRefId": "",
            "bizRefType": "",
            "quoteBal": "",
            "baseBal": "",
            "upl": "0",
            "uplLastPx": "0",
            "uplRatio": "0",
            "uTime": now,
            "vegaBS": "",
            "vegaPA": "",
            "realizedPnl": "0",
            "pnl": "0",
            "fee": "0",
            "fundingFee": "0",
            "liqPenalty": "0",
            "closeOrderAlgo": [],
        }

    def _find_order(self, query: dict[str, str]) -> Order:
        if query.get("ordId"):
            order = self.orders.get(query["ordId"])
        elif query.get("clOrdId"):
            order = next((o for o in self.orders.values() if o.data["clOrdId"] == query["clOrdId"]), None)
        else:
            raise OkxError("51000", "Parameter ordId error")
        if order is None or order.data["instId"] != query.get("instId"):
            raise OkxError("51603", OKX_MESSAGES["51603"])
        return order

    def _is_forgotten(self, query: dict[str, str]) -> bool:
        if query.get("ordId"):
            return query["ordId"] in self.forgotten
        cl_ord_id = query.get("clOrdId")
        return bool(cl_ord_id) and any(o.data["clOrdId"] == cl_ord_id for o in self.forgotten.values())

    def _get_order(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        return _ok([dict(self._find_order(query).data)])

    def _pending_orders(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_id = query.get("instId")
        live = [
            dict(o.data)
            for o in self.orders.values()
            if o.data["state"] in ("live", "partially_filled") and (not inst_id or o.data["instId"] == inst_id)
        ]
        return _ok(list(reversed(live)))

    def _cancel_order(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        try:
            order = self._find_order(body)
        except OkxError:
            code = "51603" if self._is_forgotten(body) else "51400"  # a forgotten order "does not exist"
            raise OkxError(code, OKX_MESSAGES[code]) from None
        state = order.data["state"]
        if state == "canceled":
            raise OkxError("51401", OKX_MESSAGES["51401"])
        if state == "filled":
            raise OkxError("51402", OKX_MESSAGES["51402"])
        order.data.update(state="canceled", cancelSource="1", uTime=_now_ms())
        item = {"clOrdId": order.data["clOrdId"], "ordId": order.ord_id, "ts": _now_ms(), "sCode": "0", "sMsg": ""}
        return _ok([item])

    def _fills_history(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """GET /trade/fills-history: listed trades matching the filters, newest first, one page."""
        if not query.get("instType"):
            raise OkxError("51000", "Parameter instType error")
        limit = min(int(query.get("limit") or 100), 100)
        rows = [t for t in reversed(self.trades) if t.listed and _matches(t, query)]
        return _ok([dict(t.data) for t in rows[:limit]])

    # -- algo orders -------------------------------------------------------------------------------

    def _place_algo(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        inst_id, _ = self._validate(body)
        ord_type = body.get("ordType")
        if ord_type == "trigger" and not body.get("triggerPx"):
            raise OkxError("51000", "Parameter triggerPx error")
        if ord_type in ("conditional", "oco") and not (body.get("slTriggerPx") or body.get("tpTriggerPx")):
            raise OkxError("51000", "Parameter slTriggerPx error")
        if ord_type not in ("trigger", "conditional", "oco"):
            raise OkxError("51000", "Parameter ordType error")
        # OKX takes the client id as algoClOrdId; clOrdId on this endpoint is its older spelling.
        algo_cl_ord_id = body.get("algoClOrdId") or body.get("clOrdId") or ""
        if self._client_id_taken(algo_cl_ord_id):
            raise OkxError("51016", OKX_MESSAGES["51016"])
        algo_id = str(next(self._ids))
        now = _now_ms()
        self.algo_orders[algo_id] = {
            "instType": "SWAP",
            "instId": inst_id,
            "ccy": "",
            "ordId": "",
            "ordIdList": [],
            "algoId": algo_id,
            "clOrdId": "",
            "algoClOrdId": algo_cl_ord_id,
            "sz": str(body["sz"]),
            "closeFraction": "",
            "ordType": ord_type,
            "side": body["side"],
            "posSide": body.get("posSide") or "net",
            "tdMode": body["tdMode"],
            "tgtCcy": "",
            "state": "live",
            "lever": "10",
            "tpTriggerPx": str(body.get("tpTriggerPx", "")),
            "tpTriggerPxType": body.get("tpTriggerPxType", "") if body.get("tpTriggerPx") else "",
            "tpOrdPx": str(body.get("tpOrdPx", "")),
            "slTriggerPx": str(body.get("slTriggerPx", "")),
            "slTriggerPxType": body.get("slTriggerPxType", "") if body.get("slTriggerPx") else "",
            "slOrdPx": str(body.get("slOrdPx", "")),
            "triggerPx": str(body.get("triggerPx", "")),
            "triggerPxType": body.get("triggerPxType", "last") if body.get("triggerPx") else "",
            "ordPx": str(body.get("orderPx", "")),
            "actualSz": "",
            "actualPx": "",
            "actualSide": "",
            "triggerTime": "",
            "pxVar": "",
            "pxSpread": "",
            "szLimit": "",
            "pxLimit": "",
            "tag": body.get("tag", ""),
            "timeInterval": "",
            "callbackRatio": "",
            "callbackSpread": "",
            "activePx": "",
            "moveTriggerPx": "",
            "reduceOnly": _okx_bool(body.get("reduceOnly")),
            "quickMgnType": "",
            "last": _s(self.marks[inst_id]),
            "failCode": "",
            "cTime": now,
            "uTime": now,
        }
        return _ok(
            [{"algoId": algo_id, "algoClOrdId": algo_cl_ord_id, "clOrdId": "", "sCode": "0", "sMsg": "", "tag": ""}]
        )

    def _find_algo(self, query: dict[str, str]) -> dict[str, Any]:
        if query.get("algoId"):
            algo = self.algo_orders.get(query["algoId"])
        elif query.get("algoClOrdId"):
            algo = next((a for a in self.algo_orders.values() if a["algoClOrdId"] == query["algoClOrdId"]), None)
        else:
            raise OkxError("51000", "Parameter algoId error")
        if algo is None:
            raise OkxError("51603", OKX_MESSAGES["51603"])
        return algo

    def _get_algo(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        return _ok([dict(self._find_algo(query))])

    def _pending_algos(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        types = set(query.get("ordType", "").split(","))
        if not types - {""}:
            raise OkxError("51000", "Parameter ordType error")
        inst_id = query.get("instId")
        live = [
            dict(a)
            for a in self.algo_orders.values()
            if a["state"] == "live" and a["ordType"] in types and (not inst_id or a["instId"] == inst_id)
        ]
        return _ok(list(reversed(live)))

    def _cancel_algos(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        items = body if isinstance(body, list) else [body]
        data = []
        for item in items:
            algo = self._find_algo(item)
            if algo["state"] != "live":
                raise OkxError("51400", OKX_MESSAGES["51400"])
            algo.update(state="canceled", uTime=_now_ms())
            data.append({"algoClOrdId": algo["algoClOrdId"], "algoId": algo["algoId"], "sCode": "0", "sMsg": ""})
        return _ok(data)


class OkxError(Exception):
    """An OKX business error: answered as OKX would for the endpoint (item sCode or top-level code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def _matches(trade: Trade, query: dict[str, str]) -> bool:
    """Whether a fills-history row passes OKX's filters (instId, ordId, subType, after / before
    bill ids, begin / end times in ms)."""
    data = trade.data
    for name in ("instType", "instId", "ordId", "subType"):
        if query.get(name) and data[name] != query[name]:
            return False
    if query.get("after") and not trade.bill_id < int(query["after"]):
        return False
    if query.get("before") and not trade.bill_id > int(query["before"]):
        return False
    if query.get("begin") and int(data["ts"]) < int(query["begin"]):
        return False
    return not (query.get("end") and int(data["ts"]) > int(query["end"]))


def _subtype(order: dict[str, Any]) -> str:
    """OKX's bill subtype of a trade of ``order`` (liquidation and ADL orders have their own)."""
    pos_side, side = order["posSide"], order["side"]
    forced = FORCED_SUBTYPES.get(order["category"])
    if forced is None:
        return TRADE_SUBTYPES[(pos_side, side)]
    if pos_side == "net":
        return forced[2] if side == "buy" else forced[3]
    return forced[0] if pos_side == "long" else forced[1]


def _inverse_instrument(inst_id: str, spec: dict[str, str]) -> dict[str, Any]:
    """An OKX inverse swap as listed: ctVal in USD (ctValCcy), settled in the base coin."""
    base, quote = inst_id.split("-")[:2]
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "inverse", "ctVal": spec["ctVal"],
        "ctValCcy": quote, "expTime": "", "instFamily": f"{base}-{quote}", "instId": inst_id, "instType": "SWAP",
        "lever": "125", "listTime": "1573557408000", "lotSz": spec["lotSz"], "maxIcebergSz": "1000000",
        "maxLmtAmt": "20000000", "maxLmtSz": "1000000", "maxMktAmt": "", "maxMktSz": "10000", "maxStopSz": "10000",
        "maxTriggerSz": "1000000", "maxTwapSz": "1000000", "minSz": spec["minSz"], "optType": "", "quoteCcy": "",
        "settleCcy": base, "state": "live", "stk": "", "tickSz": spec["tickSz"], "uly": f"{base}-{quote}",
        "ruleType": "normal",
    }  # fmt: skip


def _spot_instrument(inst_id: str, spec: dict[str, str]) -> dict[str, Any]:
    """An OKX spot pair as listed: no contract fields."""
    base, quote = inst_id.split("-")[:2]
    return {
        "alias": "", "baseCcy": base, "category": "1", "ctMult": "", "ctType": "", "ctVal": "", "ctValCcy": "",
        "expTime": "", "instFamily": "", "instId": inst_id, "instType": "SPOT", "lever": "10",
        "listTime": "1548133413000", "lotSz": spec["lotSz"], "maxIcebergSz": "9999999999", "maxLmtAmt": "1000000",
        "maxLmtSz": "9999999999", "maxMktAmt": "1000000", "maxMktSz": "", "maxStopSz": "", "maxTriggerSz": "9999999999",
        "maxTwapSz": "9999999999", "minSz": spec["minSz"], "optType": "", "quoteCcy": quote, "settleCcy": "",
        "state": "live", "stk": "", "tickSz": spec["tickSz"], "uly": "", "ruleType": "normal",
    }  # fmt: skip


def _option_instrument(inst_id: str, spec: dict[str, str]) -> dict[str, Any]:
    """An OKX option as listed (underlying BTC-USD, 0.01 BTC per contract)."""
    family = "-".join(inst_id.split("-")[:2])
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "0.01", "ctType": "", "ctVal": "1",
        "ctValCcy": "BTC", "expTime": spec["expTime"], "instFamily": family, "instId": inst_id,
        "instType": "OPTION", "lever": "", "listTime": "1735200000000", "lotSz": "1", "maxIcebergSz": "",
        "maxLmtAmt": "", "maxLmtSz": "10000", "maxMktAmt": "", "maxMktSz": "", "maxStopSz": "", "maxTriggerSz": "",
        "maxTwapSz": "", "minSz": "1", "optType": spec["optType"], "quoteCcy": "", "settleCcy": "BTC",
        "state": "live", "stk": spec["stk"], "tickSz": "0.0005", "uly": family, "ruleType": "normal",
    }  # fmt: skip


def _ok(data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


def _okx_bool(value: Any) -> str:
    return "true" if value in (True, "true", "True") else "false"


class _Handler(BaseHTTPRequestHandler):
    loopback: OkxLoopback

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        request = RecordedRequest(
            method, split.path, query, body, dict(self.headers.items()), self.path, raw.decode(errors="replace")
        )
        status, payload, stall = self.loopback.handle(request)
        if stall:
            time.sleep(stall)
        text = payload if isinstance(payload, str) else json.dumps(payload)
        content_type = "text/html" if isinstance(payload, str) else "application/json"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests): the order exists all the same

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Silence the per-request stderr lines of http.server."""


def running_loopback(**kwargs: Any) -> Iterator[OkxLoopback]:
    """Generator body for a pytest fixture: a started server, stopped afterwards."""
    server = OkxLoopback(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()


def loopback_account(
    settings: Any, user_id: str, *, mark: tuple[str, str] = ("BTC-USDT-SWAP", "45000")
) -> Iterator[OkxLoopback]:
    """Generator body for a pytest fixture: dry-run off, a started loopback OKX with ``mark`` set, and
    ``user_id``'s hedge-mode account pointing at it; the ccxt clients are dropped before and after."""
    from tradingcore.enums import PositionMode
    from tradingcore.exchange.ccxt import clear_gateway_cache
    from tradingcore.models import ExchangeAccount

    settings.TRADING_DRY_RUN = False
    settings.TRADING_EXCHANGE_TIMEOUT_SECONDS = 1
    clear_gateway_cache()
    for server in running_loopback():
        server.set_mark(*mark)
        ExchangeAccount.objects.create(
            user_id=user_id, exchange="okx", api_key="k", api_secret="s", passphrase="p",
            rest_base_url=server.url, position_mode=PositionMode.HEDGE,
        )  # fmt: skip
        yield server
    clear_gateway_cache()
