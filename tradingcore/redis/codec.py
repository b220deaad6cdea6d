"""Encoding of every value written to Redis (SPEC 6.1, 6.2): the one place that formats them.

Unified hashes stay readable by the seed's reader: every field a string; Decimals in plain
notation (never exponent form, zero is "0"); None as ""; enums by value; booleans "True" /
"False"; datetimes ISO 8601 with the UTC offset; ``metadata`` as JSON with Decimals as strings;
``leverage`` an integer string. ``decode_position`` / ``decode_order`` give the DTOs back.

The legacy encoders reproduce what the HYPERRSI and GRID bots write and read (each section names
the legacy function it matches): contract counts, numbers spelled like Python floats, ccxt
symbols and statuses, ``pnl`` with 8 decimals. They take DTOs and plain values and never touch
Redis or the database. Money never goes through ``float``.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel

from tradingcore import pnl as pnl_math
from tradingcore.decimals import ZERO, plain, quantize
from tradingcore.dto import Order, PnLInfo, Position
from tradingcore.enums import Exchange, MarginMode, OrderRole, OrderStatus, OrderType, PositionSide, PositionStatus
from tradingcore.exceptions import TradingError
from tradingcore.exchange import instruments

TRUE = "True"
FALSE = "False"

POSITION_FIELDS = (
    "id",
    "user_id",
    "exchange",
    "symbol",
    "side",
    "size",
    "entry_price",
    "current_price",
    "exit_price",
    "leverage",
    "liquidation_price",
    "stop_loss_price",
    "take_profit_price",
    "realized_pnl",
    "unrealized_pnl",
    "fees",
    "status",
    "margin_mode",
    "contract_size",
    "close_reason",
    "metadata",
    "created_at",
    "updated_at",
    "closed_at",
    "grid_level",
)

ORDER_FIELDS = (
    "id",
    "user_id",
    "exchange",
    "exchange_order_id",
    "client_order_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "price",
    "trigger_price",
    "filled_qty",
    "avg_fill_price",
    "status",
    "reduce_only",
    "post_only",
    "time_in_force",
    "position_id",
    "grid_level",
    "fee",
    "fee_currency",
    "maker_fee",
    "taker_fee",
    "funding_fee",
    "last_error",
    "metadata",
    "created_at",
    "updated_at",
    "filled_at",
)

_PNL_FIELDS = ("realized_pnl", "unrealized_pnl", "fees")

# How each field decodes. A "?" suffix: the empty string means None. Unlisted fields are strings
# (ids, enums and UUIDs included: the DTO parses them).
_POSITION_KINDS = {
    "size": "decimal",
    "entry_price": "decimal",
    "current_price": "decimal?",
    "exit_price": "decimal?",
    "leverage": "int",
    "liquidation_price": "decimal?",
    "stop_loss_price": "decimal?",
    "take_profit_price": "decimal?",
    "realized_pnl": "decimal",
    "unrealized_pnl": "decimal",
    "fees": "decimal",
    "contract_size": "decimal?",
    "metadata": "json",
    "created_at": "datetime",
    "updated_at": "datetime",
    "closed_at": "datetime?",
    "grid_level": "int?",
}
_ORDER_KINDS = {
    "exchange_order_id": "str?",
    "quantity": "decimal",
    "price": "decimal?",
    "trigger_price": "decimal?",
    "filled_qty": "decimal",
    "avg_fill_price": "decimal?",
    "reduce_only": "bool",
    "post_only": "bool",
    "position_id": "str?",
    "grid_level": "int?",
    "fee": "decimal",
    "maker_fee": "decimal",
    "taker_fee": "decimal",
    "funding_fee": "decimal",
    "metadata": "json",
    "created_at": "datetime",
    "updated_at": "datetime",
    "filled_at": "datetime?",
}
_DECODERS: dict[str, Any] = {
    "decimal": Decimal,
    "int": int,
    "bool": lambda text: decode_bool(text),
    "datetime": lambda text: decode_datetime(text),
    "json": json.loads,
    "str": str,
}


# -- scalar values ------------------------------------------------------------------------------


def encode_decimal(value: Decimal | None) -> str:
    """Plain notation, no exponent, no trailing zeros; zero is "0" and None is ""."""
    return "" if value is None else plain(value)


def encode_datetime(value: datetime | None) -> str:
    """ISO 8601 in UTC with its offset ("+00:00"); None is "". A naive datetime is a bug: ValueError."""
    if value is None:
        return ""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} cannot be projected")
    return value.astimezone(UTC).isoformat()


def encode_metadata(value: Mapping[str, Any] | None) -> str:
    """Compact JSON with sorted keys (so equal metadata encodes to equal bytes); Decimals as strings."""
    return _encode_metadata_json(value or {})


def encode_value(value: Any) -> str:
    """One hash field: None "", bool "True"/"False", Decimal plain, enum by value, datetime ISO, dict JSON."""
    exact = _BY_EXACT_TYPE.get(type(value))
    if exact is not None:  # the common types, without a chain of isinstance checks (ABCs are slow)
        return exact(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return encode_datetime(value)
    if isinstance(value, Mapping):
        return encode_metadata(value)
    if isinstance(value, float):
        raise TypeError("floats are not projected: convert through Decimal(str(x)) at the edge")
    return str(value)


# Exact types (no subclasses: a str enum must still be encoded by its value) and their encoding,
# the same as the isinstance chain of ``encode_value`` gives them.
_BY_EXACT_TYPE: dict[type, Any] = {
    type(None): lambda value: "",
    str: str,
    int: str,
    bool: lambda value: TRUE if value else FALSE,
    Decimal: plain,
    uuid.UUID: str,
    datetime: encode_datetime,
    dict: encode_metadata,
}


def decode_bool(text: str) -> bool:
    """ "True" / "False" back to a bool (anything else is a ValueError)."""
    if text == TRUE:
        return True
    if text == FALSE:
        return False
    raise ValueError(f"not a projected boolean: {text!r}")


def decode_datetime(text: str) -> datetime | None:
    """ISO 8601 with offset back to an aware datetime; "" is None."""
    return datetime.fromisoformat(text) if text else None


class _JSONEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return plain(o)
        if isinstance(o, datetime):
            return encode_datetime(o)
        if isinstance(o, uuid.UUID | enum.Enum):
            return encode_value(o)
        return super().default(o)


# One encoder each (json.dumps with arguments builds a new one for every value; the text is the same).
_encode_metadata_json = _JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


# -- unified hashes -----------------------------------------------------------------------------


def encode_position(position: Position) -> dict[str, str]:
    """The unified position hash (SPEC 6.1), field order fixed by ``POSITION_FIELDS``."""
    pnl_info = position.pnl_info
    return {
        name: encode_value(getattr(pnl_info if name in _PNL_FIELDS else position, name)) for name in POSITION_FIELDS
    }


def _percentages(values: Mapping[str, Any], unrealized: Decimal) -> dict[str, Decimal]:
    """The PnL percentages of an open position at its stored mark (zero without a mark)."""
    if values["status"] != PositionStatus.OPEN or values["current_price"] is None:
        return {}
    try:
        return {
            "pnl_percentage": pnl_math.pnl_percentage(values["side"], values["entry_price"], values["current_price"]),
            "roe_percentage": pnl_math.roe_percentage(
                unrealized, values["entry_price"], values["size"], values["leverage"]
            ),
        }
    except InvalidOperation:  # a percentage beyond 28 digits (dust size or entry): left at zero
        return {}


def decode_position(fields: Mapping[str, str]) -> Position:
    """A unified position hash back to the DTO (validated); PnL percentages are recomputed from the mark."""
    values = _decode_fields(fields, POSITION_FIELDS, _POSITION_KINDS)
    totals = {name: values.pop(name) for name in _PNL_FIELDS}
    info = PnLInfo(**totals, **_percentages(values, totals["unrealized_pnl"]))
    return Position.model_validate(values | {"pnl_info": info})


def decode_position_fast(fields: Mapping[str, str]) -> Position:
    """``decode_position`` without pydantic validation, for hashes this codec wrote (the read path).

    Every value is converted here as ``decode_position`` would (tests/tradingcore/redis/test_codec.py
    holds the two together); the DTO is then built without validating again.
    """
    side, status = PositionSide(fields["side"]), PositionStatus(fields["status"])
    size, entry, mark = Decimal(fields["size"]), Decimal(fields["entry_price"]), _decimal(fields["current_price"])
    leverage, unrealized = int(fields["leverage"]), Decimal(fields["unrealized_pnl"])
    values = {
        "id": uuid.UUID(fields["id"]),
        "user_id": fields["user_id"],
        "exchange": Exchange(fields["exchange"]),
        "symbol": fields["symbol"],
        "side": side,
        "size": size,
        "entry_price": entry,
        "current_price": mark,
        "exit_price": _decimal(fields["exit_price"]),
        "leverage": leverage,
        "stop_loss_price": _decimal(fields["stop_loss_price"]),
        "take_profit_price": _decimal(fields["take_profit_price"]),
        "liquidation_price": _decimal(fields["liquidation_price"]),
        "margin_mode": MarginMode(fields["margin_mode"]),
        "contract_size": _decimal(fields["contract_size"]),
        "status": status,
        "grid_level": int(fields["grid_level"]) if fields["grid_level"] else None,
        "metadata": json.loads(fields["metadata"]),
        "close_reason": fields["close_reason"],
        "created_at": datetime.fromisoformat(fields["created_at"]),
        "updated_at": datetime.fromisoformat(fields["updated_at"]),
        "closed_at": decode_datetime(fields["closed_at"]),
    }
    totals = {
        "realized_pnl": Decimal(fields["realized_pnl"]),
        "unrealized_pnl": unrealized,
        "fees": Decimal(fields["fees"]),
    }
    info = _constructed(PnLInfo, {**_PNL_DEFAULTS, **totals, **_percentages(values, unrealized)})
    values["pnl_info"] = info
    return _constructed(Position, values)


def copied_position(position: Position) -> Position:
    """A copy of a decoded position (and of its PnL) that its holder may change freely."""
    info = _constructed(PnLInfo, dict(position.pnl_info.__dict__))
    return _constructed(Position, {**position.__dict__, "pnl_info": info, "metadata": _copied(position.metadata)})


def _copied(value: Any) -> Any:
    """A copy of decoded JSON: containers copied all the way down, scalars (immutable) shared."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None


_PNL_DEFAULTS = {"pnl_percentage": ZERO, "roe_percentage": ZERO}
_M = TypeVar("_M", bound=BaseModel)


def _constructed(model: type[_M], values: dict[str, Any]) -> _M:
    """A model instance holding ``values`` (every field, already of its type), built as pydantic's
    ``model_construct`` builds one, without going through its handling of defaults."""
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def encode_order(order: Order) -> dict[str, str]:
    """The unified order hash (SPEC 6.1), field order fixed by ``ORDER_FIELDS``."""
    values = order.model_dump(include=set(ORDER_FIELDS))
    return {name: encode_value(values[name]) for name in ORDER_FIELDS}


def decode_order(fields: Mapping[str, str]) -> Order:
    """A unified order hash back to the DTO."""
    return Order.model_validate(_decode_fields(fields, ORDER_FIELDS, _ORDER_KINDS))


def _decode_fields(fields: Mapping[str, str], names: tuple[str, ...], kinds: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        text = fields[name]
        kind = kinds.get(name, "str")
        if kind.endswith("?"):
            values[name] = None if text == "" else _DECODERS[kind[:-1]](text)
        else:
            values[name] = _DECODERS[kind](text)
    return values


def position_history_item(position: Position) -> str:
    """One entry of ``positions:history:...``: the position hash as compact JSON."""
    return _compact_json(encode_position(position))


def stream_fields(*, event: str, kind: str, fields: Mapping[str, str], outbox_id: int | None) -> dict[str, str]:
    """Fields of one ``events:{user_id}`` entry: the seed's event name and the entity's current hash."""
    return {
        "event": event,
        "kind": kind,
        "id": fields.get("id", ""),
        "status": fields.get("status", ""),
        "outbox_id": "" if outbox_id is None else str(outbox_id),
        "data": _compact_json(dict(fields)),
    }


# -- legacy HYPERRSI ----------------------------------------------------------------------------
#
# What HYPERRSI's own writers put there, and so what its readers expect:
# - the position hash: OKXPositionFetcher.fetch_okx_position
#   (HYPERRSI/src/trading/modules/okx_position_fetcher.py) writes every number as Python's
#   str(float) ("10.0"), the ccxt symbol in ``symbol``, ``liquidation_price`` "0.0" when unknown;
#   TPSLOrderCreator._create_tp_sl_orders (tp_sl_order_creator.py) writes every take-profit level
#   comma-joined in ``tp_prices`` and ``sl_price`` only when there is one (the readers call float()
#   on whatever is there, so an unknown value is left out rather than written as "").
# - the order lists: store_order_in_redis (HYPERRSI/src/trading/services/order_utils.py) pushes
#   json.dumps() of {order_id, symbol, side, size, filled_size, status, avg_fill_price, create_time,
#   update_time, order_type, posSide}: default separators, JSON numbers, ISO times; the order
#   monitor (OrderManager.monitor_orders, modules/order_manager.py) rewrites items with ccxt's
#   statuses and json.dumps() again, keeping keys it does not know.


def float_text(value: Decimal) -> str:
    """A number as Python's ``str(float)`` / ``json.dumps(float)`` writes it ("45000.0", "0.1"),
    without going through a float (plain notation, never an exponent)."""
    text = plain(value)
    return text if "." in text else f"{text}.0"


def ccxt_symbol(exchange: Exchange | str, symbol: str) -> str:
    """ccxt's unified symbol of a native id (``BTC-USDT-SWAP`` -> ``BTC/USDT:USDT``); the id itself
    when the instrument table does not list it."""
    try:
        return instruments.get_market(exchange, symbol).unified_symbol
    except TradingError:
        return symbol


def contracts(quantity: Decimal, contract_size: Decimal | None) -> Decimal:
    """Base quantity to a contract count (``contract_size`` None or 0 means one base unit per contract)."""
    if not contract_size:
        return quantity
    return quantize(quantity / contract_size)


def hyperrsi_tp_levels(position: Position) -> list[Decimal]:
    """Every take-profit level of a position: the imported levels (``metadata["tp_prices"]``) while
    their first one is still the position's take-profit, else the take-profit alone."""
    if position.take_profit_price is None:
        return []
    levels = position.metadata.get("tp_prices") if isinstance(position.metadata, Mapping) else None
    try:
        parsed = [Decimal(str(level)) for level in levels or ()]
    except (InvalidOperation, ValueError):
        parsed = []
    if parsed and parsed[0] == position.take_profit_price:
        return parsed
    return [position.take_profit_price]


def encode_hyperrsi_position(position: Position) -> dict[str, str]:
    """The fields we own in the HYPERRSI ``user:{id}:position:{symbol}:{side}`` hash (SPEC 6.2):
    sizes in contracts, numbers written like str(float), unknown values left out (``sl_price``,
    ``tp_prices``) or "0.0" (``liquidation_price``, ``mark_price``) as the bots write them."""
    count = float_text(contracts(position.size, position.contract_size))
    fields = {
        "symbol": ccxt_symbol(position.exchange, position.symbol),
        "side": encode_value(position.side),
        "size": count,
        "contracts": count,
        "contracts_amount": count,
        "contract_size": float_text(position.contract_size or Decimal(1)),
        "position_qty": float_text(position.size),
        "entry_price": float_text(position.entry_price),
        "leverage": float_text(Decimal(position.leverage)),
        "unrealized_pnl": float_text(position.pnl_info.unrealized_pnl),
        "liquidation_price": float_text(position.liquidation_price or ZERO),
        "mark_price": float_text(position.current_price or ZERO),
        "margin_mode": encode_value(position.margin_mode),
        "last_update_time": str(int(position.updated_at.timestamp())),
    }
    if position.stop_loss_price is not None:
        fields["sl_price"] = float_text(position.stop_loss_price)
    levels = hyperrsi_tp_levels(position)
    if levels:
        fields["tp_prices"] = ",".join(float_text(level) for level in levels)
    return fields


def hyperrsi_pos_side(side: str, reduce_only: bool, position_side: PositionSide | str | None) -> str:
    """OKX ``posSide`` of an order: its position's side, else implied by its side and reduce-only flag."""
    if position_side:
        return encode_value(PositionSide.parse(position_side))
    buys = encode_value(side) == "buy"
    return "long" if buys != reduce_only else "short"


_CCXT_STATUSES = {
    OrderStatus.PENDING: "open",
    OrderStatus.OPEN: "open",
    OrderStatus.PARTIALLY_FILLED: "open",
    OrderStatus.FILLED: "closed",
    OrderStatus.CANCELLED: "canceled",
    OrderStatus.EXPIRED: "expired",
    OrderStatus.REJECTED: "rejected",
}


def ccxt_status(status: OrderStatus | str) -> str:
    """Our status as ccxt spells it (``closed`` = filled, ``canceled``, ``open`` with any fill)."""
    return _CCXT_STATUSES[OrderStatus(status)]


def hyperrsi_order_type(order: Order) -> str:
    """How HYPERRSI names an order's type: ``stop_loss`` (the one its monitor looks up as an algo
    order), ``take_profit`` (its reduce-only limit take-profits), else our type."""
    triggered = OrderType(order.order_type).is_triggered
    if order.order_type == OrderType.STOP_LOSS or (triggered and order.role == OrderRole.STOP_LOSS):
        return "stop_loss"
    if order.role == OrderRole.TAKE_PROFIT and order.order_type == OrderType.LIMIT:
        return "take_profit"
    return encode_value(order.order_type)


def json_object(pairs: Iterable[tuple[str, str]]) -> str:
    """A JSON object from (name, JSON text) pairs, spaced as ``json.dumps`` spaces it by default."""
    return "{" + ", ".join(f"{json.dumps(name)}: {text}" for name, text in pairs) + "}"


def encode_hyperrsi_order(order: Order) -> str:
    """One JSON item of ``user:{id}:open_orders`` / ``closed_orders`` (SPEC 6.2), as HYPERRSI's
    store_order_in_redis writes one: sizes in contracts of ``order.contract_size`` as JSON numbers,
    ccxt statuses, ISO times, ``avg_fill_price`` 0.0 when unknown; ``order_id`` is the exchange's id
    once known (what HYPERRSI looks orders up and cancels by), else ours. ``clientOrderId`` (ours,
    never changes) finds the item again and ``managed_by`` tells our items from the bots' own; the
    legacy monitor keeps both when it rewrites an item."""
    text = json.dumps
    return json_object(
        [
            ("order_id", text(order.exchange_order_id or str(order.id))),
            ("symbol", text(order.symbol)),
            ("side", text(encode_value(order.side))),
            ("size", float_text(contracts(order.quantity, order.contract_size))),
            ("filled_size", float_text(contracts(order.filled_qty, order.contract_size))),
            ("status", text(ccxt_status(order.status))),
            ("avg_fill_price", float_text(order.avg_fill_price or ZERO)),
            ("create_time", text(encode_datetime(order.created_at))),
            ("update_time", text(encode_datetime(order.updated_at))),
            ("order_type", text(hyperrsi_order_type(order))),
            ("posSide", text(hyperrsi_pos_side(order.side, order.reduce_only, order.position_side))),
            ("clientOrderId", text(order.client_order_id)),
            ("managed_by", text("tradingcore")),
        ]
    )


def hyperrsi_item_match(client_order_id: str) -> str:
    """The text that finds our item of an order in a HYPERRSI list (as json.dumps spaces it)."""
    return f'"clientOrderId": {json.dumps(client_order_id)}'


HYPERRSI_OWN_ITEM_MARKER = '"managed_by": "tradingcore"'


# -- legacy GRID --------------------------------------------------------------------------------
#
# GRID's update_active_grid (GRID/database/redis_database.py) writes ``entry_price`` /
# ``position_size`` / ``execution_time`` with json.dumps, ``pnl`` with string.format('%.8f') and
# ``grid_count`` with tostring() from its Lua script, and refreshes a 7-day expiry on each level;
# get_active_grid json-decodes every field of levels 0..20 and returns nothing without level 0.

GRID_LEVEL_TTL_SECONDS = 7 * 24 * 3600


def encode_grid_level(
    *,
    entry_price: Decimal,
    position_size: Decimal,
    grid_count: int,
    pnl: Decimal,
    execution_time: datetime | None,
) -> dict[str, str]:
    """The GRID ``{exchange}:user:{id}:symbol:{symbol}:active_grid:{level}`` hash (SPEC 6.2).

    ``entry_price`` and ``position_size`` (contracts) are JSON numbers, ``grid_count`` a signed
    integer whose sign is the direction, ``pnl`` "%.8f", ``execution_time`` a JSON-quoted ISO string
    (``null`` when unknown). An empty level is entry 0.0, size 0.0, count 0.
    """
    return {
        "entry_price": float_text(entry_price),
        "position_size": float_text(position_size),
        "grid_count": str(grid_count),
        "pnl": f"{quantize(pnl):.8f}",
        "execution_time": json.dumps(encode_datetime(execution_time) if execution_time else None),
    }


def encode_grid_reset(*, pnl: Decimal, execution_time: datetime | None) -> dict[str, str]:
    """An emptied GRID level: 0.0 entry and size, count 0; the level's accumulated pnl kept."""
    return encode_grid_level(entry_price=ZERO, position_size=ZERO, grid_count=0, pnl=pnl, execution_time=execution_time)


def encode_grid_empty() -> dict[str, str]:
    """A level nobody ever traded, as GRID's initialize_active_grid writes one."""
    return encode_grid_reset(pnl=ZERO, execution_time=None)
