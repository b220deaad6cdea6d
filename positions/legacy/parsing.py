"""Legacy records to what they mean, in our units: pure functions (no Redis, no database).

Each parser takes what a legacy bot left behind (the fields of a hash, a JSON string, a list item,
the parsed key) and returns a frozen value in our units (sizes in base currency, ``Decimal``,
aware datetimes), or raises ``Invalid`` (the record cannot be imported; ``reason`` says why, in
one stable word) or ``Skip`` (there is nothing to import: an empty GRID level, a key of ours).

Quirks tolerated (SPEC 9): leverage "10.0"; "None", "", "null" and "0.0" in numeric fields;
``tp_prices`` comma-joined or JSON; the hash's ``symbol`` in ccxt form while the key holds the
native id, and ccxt symbols inside keys; the same record written as a JSON string; the older
HYPERRSI record whose data sits only in a ``position_info`` JSON (HYPERRSI's
PositionStateManager in monitoring/redis_manager.py writes it); GRID values JSON-encoded, "" where
GRID's update_grid_level stored a None, and the direction only in the sign of ``grid_count``;
sizes in contracts, converted with the instrument table (an unknown symbol is invalid, never
guessed). Numbers are read as text, never through a float.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from tradingcore import validation
from tradingcore.decimals import MAX_ABS, in_range, is_number_text, quantize
from tradingcore.enums import Exchange, MarginMode, OrderRole, OrderSide, OrderStatus, OrderType, PositionSide
from tradingcore.exceptions import TradingError
from tradingcore.exchange import MarketInfo, instruments
from tradingcore.redis import keys
from tradingcore.redis.plan import OWNER_FIELD
from tradingcore.validation import MAX_GRID_LEVEL, MAX_LEVERAGE, MIN_GRID_LEVEL, MIN_LEVERAGE

LEGACY_ENCRYPTION_PREFIX = "enc_v1:"
# Ids HYPERRSI's try_send_order returns for orders it never sent (order_utils.py).
PLACEHOLDER_ORDER_IDS = frozenset({"trading_stopped", "margin_blocked"})
_NULL_TEXTS = frozenset({"", "none", "null"})


class Invalid(Exception):
    """A record that cannot be imported; ``reason`` is a stable word, ``detail`` the particulars."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Skip(Invalid):
    """A record with nothing to import (not an error)."""


# -- what the records mean -------------------------------------------------------------------------


@dataclass(frozen=True)
class LegacyPosition:
    """An open position as a legacy record describes it, in our units (``size`` in base currency)."""

    user_id: str
    exchange: str
    symbol: str
    side: str
    size: Decimal
    contracts: Decimal
    contract_size: Decimal
    entry_price: Decimal
    leverage: int
    mark_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    unrealized_pnl: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    stop_loss_price: Decimal | None = None
    take_profit_levels: tuple[Decimal, ...] = ()
    margin_mode: str = MarginMode.CROSS.value
    grid_level: int | None = None
    grid_count: int | None = None
    opened_at: datetime | None = None
    warnings: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return _position_fingerprint(self)


@dataclass(frozen=True)
class LegacyOrder:
    """An order as a HYPERRSI list item describes it, in our units (quantities in base currency)."""

    user_id: str
    exchange: str
    exchange_order_id: str
    symbol: str
    side: str
    order_type: str
    role: str
    reduce_only: bool
    quantity: Decimal
    filled_qty: Decimal
    contract_size: Decimal
    status: str
    avg_fill_price: Decimal | None
    position_side: str
    created_at: datetime | None
    updated_at: datetime | None

    def fingerprint(self) -> str:
        return _order_fingerprint(self)


@dataclass(frozen=True)
class LegacyCredentials:
    """Exchange credentials found in a legacy key (plaintext once decrypted; never printed)."""

    user_id: str
    exchange: str
    api_key: str
    api_secret: str
    passphrase: str

    def __repr__(self) -> str:
        return f"LegacyCredentials({self.user_id!r}, {self.exchange!r}, ********)"


def fingerprint(values: Mapping[str, Any]) -> str:
    """SHA-256 of the values in ``values``' order, each as its text (what a record holds, not how
    a bot spelled it: "10.0" and "10" are the same number)."""
    return hashlib.sha256("\x1f".join(f"{name}={value}" for name, value in values.items()).encode()).hexdigest()


def _fingerprinter(names: tuple[str, ...]) -> Callable[[Any], str]:
    """``fingerprint`` of these attributes of a record, digest for digest (the ledger's fingerprints
    must survive an upgrade), with its template built once rather than a dict per record. ``%s`` is
    ``str()``, the same text as ``format(value, "")`` for every type a record holds (Decimal, datetime,
    str, int, None, a tuple), at a third of the cost of ``str.format``."""
    template = "\x1f".join(f"{name}=%s" for name in names)
    values = operator.attrgetter(*names)

    def digest(record: Any) -> str:
        return hashlib.sha256((template % values(record)).encode()).hexdigest()

    return digest


_position_fingerprint = _fingerprinter(tuple(f.name for f in dataclass_fields(LegacyPosition) if f.name != "warnings"))
_order_fingerprint = _fingerprinter(tuple(item.name for item in dataclass_fields(LegacyOrder)))


# -- values ----------------------------------------------------------------------------------------


def number(value: Any, field: str) -> Decimal | None:
    """A finite Decimal from legacy text, a JSON number or a JSON-quoted number; None for the
    nulls the bots write ("", "None", "null", None). Anything else is ``Invalid("bad_number")``."""
    if value is None:
        return None
    if type(value) is str and is_number_text(value):  # the common case: plain notation, nothing to strip
        result = Decimal(value)
        if not in_range(result):
            raise Invalid("bad_number", f"{field}={value!r}")
        return result
    if isinstance(value, bool):
        raise Invalid("bad_number", f"{field}={value!r}")
    text = str(value).strip().strip('"').strip()
    if text.lower() in _NULL_TEXTS:
        return None
    if not is_number_text(text):
        raise Invalid("bad_number", f"{field}={value!r}")
    result = Decimal(text)
    if not in_range(result):
        raise Invalid("bad_number", f"{field}={value!r}")
    return result


def positive(value: Any, field: str) -> Decimal | None:
    """``number``, with zero and below meaning "not set" (how the bots mark an unknown price or an
    empty level: "0.0")."""
    result = number(value, field)
    return result if result is not None and result > 0 else None


def storable(value: Decimal, field: str) -> Decimal:
    """Rounded to our 8 places (legacy floats carry artefacts such as 0.30000000000000004);
    ``Invalid("too_large")`` beyond numeric(20,8)."""
    if value.copy_abs() > MAX_ABS:
        raise Invalid("too_large", f"{field}={value}")
    return quantize(value)


def leverage(value: Any) -> tuple[int, tuple[str, ...]]:
    """A whole leverage 1..125 ("10.0" is 10); missing, 1 is assumed and said so."""
    parsed = number(value, "leverage")
    if parsed is None:
        return MIN_LEVERAGE, ("leverage missing: 1 assumed",)
    if parsed != parsed.to_integral_value() or not MIN_LEVERAGE <= parsed <= MAX_LEVERAGE:
        raise Invalid("bad_leverage", f"leverage={value!r}")
    return int(parsed), ()


def take_profit_levels(value: Any) -> tuple[Decimal, ...]:
    """Every take-profit level: comma-joined text ("46000.0,47000.0"), a JSON list, or one number."""
    if value is None:
        return ()
    text = str(value).strip()
    if text.startswith("["):
        items = json_value(text, "tp_prices")
        parts = items if isinstance(items, list) else [items]
    else:
        parts = [part for part in text.split(",") if part.strip()]
    levels = (positive(part, "tp_prices") for part in parts)
    return tuple(level for level in levels if level is not None)


def json_value(text: Any, field: str) -> Any:
    """A JSON document, numbers as Decimal (never float); ``Invalid("bad_json")`` otherwise."""
    if not isinstance(text, str | bytes):
        return text
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        raise Invalid("bad_json", f"{field}: {str(text)[:60]!r}") from None


def json_object(text: Any, field: str) -> dict[str, Any]:
    value = json_value(text, field)
    if not isinstance(value, dict):
        raise Invalid("bad_json", f"{field}: not a JSON object")
    return value


def moment(value: Any, naive_zone: tzinfo = UTC) -> datetime | None:
    """An aware datetime from epoch seconds / milliseconds or ISO text (a naive one is taken in
    ``naive_zone``: the bots wrote ``datetime.now()``); None when absent or unreadable."""
    if value is None:  # absent (most records lack one of the two times): no failed parse to raise and catch
        return None
    try:
        epoch = number(value, "time")
    except Invalid:
        epoch = None
    if epoch is not None:
        seconds = epoch / 1000 if epoch > 10**11 else epoch
        return datetime.fromtimestamp(float(seconds), tz=UTC) if 0 < seconds < 10**10 else None
    try:
        parsed = datetime.fromisoformat(str(value).strip().strip('"'))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=naive_zone)


def user(value: str) -> str:
    """A user id we can store (1 to 64 characters): ``Invalid("bad_user_id")`` otherwise."""
    try:
        return validation.user_id(value)
    except TradingError:
        raise Invalid("bad_user_id", repr(value)[:80]) from None


def exchange(value: str) -> Exchange:
    """An exchange of ours (GRID's ``okx_spot`` and the like are not): ``Invalid("unknown_exchange")``."""
    try:
        return Exchange.parse(value, field="exchange")
    except TradingError:
        raise Invalid("unknown_exchange", value) from None


def market(venue: Exchange, symbol: str) -> MarketInfo:
    """The instrument (native id or ccxt symbol) from the instrument table; never guessed."""
    try:
        return instruments.get_market(venue, symbol)
    except TradingError:
        raise Invalid("unknown_symbol", f"{venue.value} {symbol}") from None


def contracts_to_base(contracts: Decimal, info: MarketInfo, recorded_size: Decimal | None) -> Decimal:
    """Contracts to base currency with the table's contract size, which must agree with the one the
    record states (OKX changes contract values now and then)."""
    if recorded_size is not None and recorded_size != info.contract_size:
        raise Invalid("contract_size_mismatch", f"record {recorded_size}, instrument table {info.contract_size}")
    return contracts * info.contract_size


# -- HYPERRSI positions ----------------------------------------------------------------------------


def hyperrsi_fields(redis_type: str, value: Any) -> dict[str, Any]:
    """The fields of a HYPERRSI position record: the hash, or the same record as a JSON string;
    a ``position_info`` JSON fills in whatever the record lacks itself."""
    if redis_type == "hash":
        fields: dict[str, Any] = dict(value)
    elif redis_type == "string":
        fields = json_object(value, "value")
    else:
        raise Invalid("wrong_type", redis_type)
    info = fields.pop("position_info", None)
    if info in (None, ""):
        return fields
    nested = json_object(info, "position_info")
    return nested | {name: text for name, text in fields.items() if str(text).strip().lower() not in _NULL_TEXTS}


def parse_hyperrsi_position(key: keys.LegacyKey, fields: Mapping[str, Any]) -> LegacyPosition:
    """A HYPERRSI position record (its key parsed by ``keys.parse_hyperrsi_position_key``)."""
    if OWNER_FIELD in fields:
        raise Skip("ours", f"written by tradingcore for position {fields[OWNER_FIELD]}")
    info = market(Exchange.OKX, key.symbol)
    _same_instrument(info, fields.get("symbol"))
    _same_side(key.side, fields.get("side"))
    size, count = _hyperrsi_size(fields, info)
    entry = positive(fields.get("entry_price"), "entry_price")
    if entry is None:
        raise Invalid("no_entry_price", str(fields.get("entry_price")))
    lever, warnings = leverage(fields.get("leverage"))
    return LegacyPosition(
        user_id=key.user_id, exchange=Exchange.OKX.value, symbol=info.symbol, side=key.side, size=size,
        contracts=count, contract_size=info.contract_size, entry_price=storable(entry, "entry_price"),
        leverage=lever, mark_price=_price(fields.get("mark_price"), "mark_price"),
        liquidation_price=_price(fields.get("liquidation_price"), "liquidation_price"),
        unrealized_pnl=storable(number(fields.get("unrealized_pnl"), "unrealized_pnl") or Decimal(0), "unrealized_pnl"),
        stop_loss_price=_price(fields.get("sl_price"), "sl_price"),
        take_profit_levels=tuple(storable(level, "tp_prices") for level in take_profit_levels(fields.get("tp_prices"))),
        margin_mode=_margin_mode(fields.get("margin_mode")),
        opened_at=moment(fields.get("created_at")) or moment(fields.get("last_update_time")), warnings=warnings,
    )  # fmt: skip


def _hyperrsi_size(fields: Mapping[str, Any], info: MarketInfo) -> tuple[Decimal, Decimal]:
    """(base size, contracts): contracts from ``size`` / ``contracts`` / ``contracts_amount``,
    checked against ``position_qty`` (base) when the record has both."""
    counts = (positive(fields.get(name), name) for name in ("contracts_amount", "contracts", "size"))
    count = next((value for value in counts if value is not None), None)
    quantity = positive(fields.get("position_qty"), "position_qty")
    if count is None and quantity is None:
        raise Skip("no_position", "size 0")
    recorded = positive(fields.get("contract_size"), "contract_size")
    if count is None:
        assert quantity is not None
        count = quantity / (recorded or info.contract_size)
    size = storable(contracts_to_base(count, info, recorded), "size")
    if quantity is not None and storable(quantity, "position_qty") != size:
        raise Invalid("size_mismatch", f"{count} contracts is {size}, position_qty says {quantity}")
    if size <= 0:
        raise Skip("no_position", "size rounds to 0")
    return size, count


def _same_instrument(info: MarketInfo, recorded: Any) -> None:
    if recorded in (None, "") or str(recorded).strip().upper() in (info.symbol.upper(), info.unified_symbol.upper()):
        return
    raise Invalid("symbol_mismatch", f"key {info.symbol}, field {recorded}")


def _same_side(side: str, recorded: Any) -> None:
    if recorded in (None, "") or str(recorded).strip().lower() == side:
        return
    raise Invalid("side_mismatch", f"key {side}, field {recorded}")


def _price(value: Any, field: str) -> Decimal | None:
    found = positive(value, field)
    return None if found is None else storable(found, field)


def _margin_mode(value: Any) -> str:
    try:
        return MarginMode.parse(value or MarginMode.CROSS).value
    except TradingError:
        return MarginMode.CROSS.value


# -- GRID levels -------------------------------------------------------------------------------------


def grid_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A GRID level's fields JSON-decoded as GRID's get_active_grid decodes them ("" stays None:
    update_grid_level stores a None as "")."""
    values: dict[str, Any] = {}
    for name, text in fields.items():
        try:
            values[name] = json_value(text, name) if text != "" else None
        except Invalid:
            values[name] = text
    return values


def split_grid_levels(fields: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """GRID's older single ``active_grid`` hash (``"{level}:{field}"`` names) as one dict per level."""
    levels: dict[int, dict[str, Any]] = {}
    for name, text in fields.items():
        level, _, field = str(name).partition(":")
        if level.isdigit() and field:
            levels.setdefault(int(level), {})[field] = text
    return levels


def parse_grid_level(key: keys.LegacyKey, level: int, fields: Mapping[str, Any], user_leverage: Any) -> LegacyPosition:
    """One GRID level (per-level hash, or one level of the older single hash): sizes in contracts,
    the direction in the sign of ``grid_count``; ``user_leverage`` from GRID's user hash."""
    if OWNER_FIELD in fields:
        raise Skip("ours", "written by tradingcore")
    if not MIN_GRID_LEVEL <= level <= MAX_GRID_LEVEL:
        raise Invalid("bad_grid_level", str(level))
    info = market(exchange(key.exchange), key.symbol)
    values = grid_values(fields)
    count = positive(values.get("position_size"), "position_size")
    if count is None:
        raise Skip("empty_level", f"level {level}")
    entry = positive(values.get("entry_price"), "entry_price")
    if entry is None:
        raise Invalid("no_entry_price", f"level {level}")
    running = _grid_count(values.get("grid_count"))
    lever, warnings = leverage(user_leverage)
    return LegacyPosition(
        user_id=key.user_id, exchange=info.exchange.value, symbol=info.symbol,
        side=PositionSide.LONG.value if running > 0 else PositionSide.SHORT.value,
        size=storable(count * info.contract_size, "position_size"), contracts=count, contract_size=info.contract_size,
        entry_price=storable(entry, "entry_price"), leverage=lever,
        realized_pnl=storable(number(values.get("pnl"), "pnl") or Decimal(0), "pnl"),
        grid_level=level, grid_count=running, opened_at=moment(values.get("execution_time")), warnings=warnings,
    )  # fmt: skip


def _grid_count(value: Any) -> int:
    parsed = number(value, "grid_count")
    if parsed is None or parsed == 0 or parsed != parsed.to_integral_value():
        raise Invalid("no_direction", f"grid_count={value!r}")
    return int(parsed)


# -- HYPERRSI orders -----------------------------------------------------------------------------------

# HYPERRSI's order types (models.order_type_mapping): a take-profit is a reduce-only limit order,
# a stop-loss an OKX trigger (algo) order. Ours: (order type, role, reduce-only).
_ORDER_TYPES = {
    "market": (OrderType.MARKET, OrderRole.PLAIN, False),
    "limit": (OrderType.LIMIT, OrderRole.PLAIN, False),
    "take_profit": (OrderType.LIMIT, OrderRole.TAKE_PROFIT, True),
    "stop_loss": (OrderType.TRIGGER, OrderRole.STOP_LOSS, True),
    "trigger": (OrderType.TRIGGER, OrderRole.PLAIN, False),
}


def parse_hyperrsi_order(user_id: str, item: Any, naive_zone: tzinfo = UTC) -> LegacyOrder:
    """One item of ``user:{id}:open_orders`` as HYPERRSI's store_order_in_redis writes it."""
    fields = json_object(item, "item")
    if fields.get("managed_by") == "tradingcore":
        raise Skip("ours", "an item of our dual-write")
    order_id = str(fields.get("order_id") or "").strip()
    if not order_id:
        raise Invalid("no_order_id")
    if order_id in PLACEHOLDER_ORDER_IDS:
        raise Skip("placeholder_order", order_id)
    info = market(Exchange.OKX, str(fields.get("symbol") or ""))
    order_type, role, reduce_only = _order_type(fields.get("order_type"))
    quantity, filled = _order_quantities(fields, info)
    return LegacyOrder(
        user_id=user_id, exchange=Exchange.OKX.value, exchange_order_id=order_id, symbol=info.symbol,
        side=_order_side(fields.get("side")), order_type=order_type.value, role=role.value, reduce_only=reduce_only,
        quantity=quantity, filled_qty=filled, contract_size=info.contract_size,
        status=_order_status(fields.get("status"), filled, quantity).value,
        avg_fill_price=_price(fields.get("avg_fill_price"), "avg_fill_price"),
        position_side=_position_side(fields.get("posSide")), created_at=moment(fields.get("create_time"), naive_zone),
        updated_at=moment(fields.get("update_time"), naive_zone),
    )  # fmt: skip


def _position_side(value: Any) -> str:
    """OKX ``posSide``: ``long`` / ``short``; ``net`` (one-way mode) and anything else is none."""
    text = str(value or "").strip().lower()
    return text if text in ("long", "short") else ""


def item_order_id(item: Any) -> str:
    """The ``order_id`` of a HYPERRSI list item; "" for an item that is not a JSON object."""
    try:
        return str(json_object(item, "item").get("order_id") or "")
    except Invalid:
        return ""


def _order_type(value: Any) -> tuple[OrderType, OrderRole, bool]:
    found = _ORDER_TYPES.get(str(value or "").strip().lower())
    if found is None:
        raise Invalid("bad_order_type", repr(value))
    return found


def _order_side(value: Any) -> str:
    try:
        return OrderSide.parse(value).value
    except TradingError:
        raise Invalid("bad_side", repr(value)) from None


def _order_quantities(fields: Mapping[str, Any], info: MarketInfo) -> tuple[Decimal, Decimal]:
    count = positive(fields.get("size"), "size")
    if count is None:
        raise Invalid("no_size", repr(fields.get("size")))
    filled = number(fields.get("filled_size"), "filled_size") or Decimal(0)
    if filled < 0 or filled > count:
        raise Invalid("size_mismatch", f"filled {filled} of {count} contracts")
    return storable(count * info.contract_size, "size"), storable(filled * info.contract_size, "filled_size")


def _order_status(value: Any, filled: Decimal, quantity: Decimal) -> OrderStatus:
    text = str(value or "").strip().lower()
    if text == "error":  # HYPERRSI's word for an order the exchange refused
        return OrderStatus.REJECTED
    try:
        return OrderStatus.from_exchange(text, filled=filled, amount=quantity)
    except TradingError:
        raise Invalid("bad_status", repr(value)) from None


# -- credentials -------------------------------------------------------------------------------------

# Where each layout keeps the passphrase: HYPERRSI ``user:{id}:api:keys`` says ``passphrase``, GRID's
# ``{exchange}:user:{id}`` says ``password`` (GRID/database/redis_database.py, save_user).
PASSPHRASE_FIELDS = {"hyperrsi": "passphrase", "grid": "password"}


def parse_credentials(
    layout: str, user_id: str, venue: str, fields: Mapping[str, Any], decrypt: Callable[[str], str]
) -> LegacyCredentials:
    """Credentials in either layout, each value plaintext or ``enc_v1:`` + a Fernet token that
    ``decrypt`` opens (shared/security/encryption.py, decrypt_api_key)."""
    if not _secret(fields.get("api_key"), str) or not _secret(fields.get("api_secret"), str):
        raise Skip("no_credentials")
    known = exchange(venue)
    if known is Exchange.PAPER:
        raise Invalid("unknown_exchange", venue)
    values = [_secret(fields.get(name), decrypt) for name in ("api_key", "api_secret", PASSPHRASE_FIELDS[layout])]
    return LegacyCredentials(user_id, known.value, values[0], values[1], values[2])


def _secret(value: Any, decrypt: Callable[[str], str]) -> str:
    text = "" if value is None else str(value).strip()
    if text.lower() in _NULL_TEXTS:
        return ""
    return decrypt(text[len(LEGACY_ENCRYPTION_PREFIX) :]) if text.startswith(LEGACY_ENCRYPTION_PREFIX) else text


def fernet_decryptor(key: str | None) -> Callable[[str], str]:
    """Opens the legacy bots' Fernet tokens (their ``ENCRYPTION_KEY``, a Fernet key used as is)."""
    from cryptography.fernet import Fernet, InvalidToken

    def decrypt(token: str) -> str:
        if not key:
            raise Invalid("no_legacy_key", "encrypted (enc_v1:) and no legacy key given")
        try:
            return Fernet(key.encode()).decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            raise Invalid("cannot_decrypt", "not opened by the legacy key") from None

    return decrypt
