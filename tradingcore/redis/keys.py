"""The Redis key schema (SPEC 6.1 and 6.2): the only place in the project that spells (and parses) a key.

Every function returns one key as a string. Arguments may be enum members or their string
values; enums are written by value. Nothing here talks to Redis.

Unified keys (always owned by this service, so ``rebuild_redis`` may delete stale ones) start with
``positions:`` or ``orders:``, behind ``TRADING_UNIFIED_KEY_PREFIX`` when it is set (default: none,
the seeds' keys). The prefix exists for deployments where the newest GRID code still runs: it
reads ``positions:index:{user}:{exchange}`` as ``{symbol}:{side}`` members and
``positions:{user}:{exchange}:{symbol}:{side}`` hashes with ``pos`` / ``notionalUsd`` fields
(``grid_exchange_index`` / ``grid_exchange_position``), the very keys of the seeds' schema.
``is_unified_key`` tells ours apart from other services' keys that share the prefix (GRID's
``orders:{exchange}:user:...:order_placed``). Legacy keys (HYPERRSI, GRID) are shared with bots that
may not be migrated yet, so only keys of entities we hold in PostgreSQL are ever written or removed.

The legacy key parsers anchor on known prefixes and suffixes and never split a symbol on its
colons: ccxt symbols (``BTC/USDT:USDT``) appear inside legacy keys.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from tradingcore.enums import Exchange, PositionSide

PROJECTION_BUILT = "projection:built"
PROJECTION_CURRENT = "projection:current"

_EXCHANGES = frozenset(member.value for member in Exchange)
_SIDES = frozenset(member.value for member in PositionSide)


def _text(value: Any) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


# -- unified keys (SPEC 6.1) ------------------------------------------------------------------


def unified_prefix() -> str:
    """``TRADING_UNIFIED_KEY_PREFIX`` (read at call time, so tests may override it); "" by default."""
    return str(getattr(settings, "TRADING_UNIFIED_KEY_PREFIX", "") or "")


def position_scan_pattern() -> str:
    """SCAN pattern of every unified position key."""
    return f"{unified_prefix()}positions:*"


def order_scan_pattern() -> str:
    """SCAN pattern of every unified order key."""
    return f"{unified_prefix()}orders:*"


def position(user_id: str, exchange: Any, symbol: str, side: Any, grid_level: int | None = None) -> str:
    """Hash of the open position; grid positions get a ``:grid:{level}`` suffix so levels never collide."""
    key = f"{unified_prefix()}positions:{user_id}:{_text(exchange)}:{symbol}:{_text(side)}"
    return key if grid_level is None else f"{key}:grid:{grid_level}"


def position_index(user_id: str, exchange: Any) -> str:
    """Set of the ids of the user's open positions on one exchange."""
    return f"{unified_prefix()}positions:index:{user_id}:{_text(exchange)}"


def positions_active() -> str:
    """Set of the ids of every open position."""
    return f"{unified_prefix()}positions:active"


def position_slots(user_id: str, exchange: Any) -> str:
    """Hash from the id of each open position of the user on one exchange to its position hash key.

    Not in the seed schema: the seed's index set holds ids but its hashes are keyed by symbol and
    side, so the seed's own reader could not list a user's positions without a symbol. This map
    lets the read path fetch every open position in one round trip.
    """
    return f"{unified_prefix()}positions:slots:{user_id}:{_text(exchange)}"


def position_history(user_id: str, exchange: Any) -> str:
    """List of the user's closed positions on one exchange, newest first, JSON, capped."""
    return f"{unified_prefix()}positions:history:{user_id}:{_text(exchange)}"


def order(order_id: Any) -> str:
    """Hash of one order."""
    return f"{unified_prefix()}orders:{order_id}"


def order_user_index(user_id: str, exchange: Any) -> str:
    """Set of the ids of the user's live orders on one exchange."""
    return f"{unified_prefix()}orders:user:{user_id}:{_text(exchange)}"


def open_orders(exchange: Any, symbol: str) -> str:
    """Set of the ids of the live orders on one market."""
    return f"{unified_prefix()}orders:open:{_text(exchange)}:{symbol}"


def events(user_id: str) -> str:
    """Capped stream of the user's position and order events."""
    return f"events:{user_id}"


# -- the projection's own bookkeeping -------------------------------------------------------------


def projection_built() -> str:
    """Set by a full rebuild to a new random token: Redis holds the whole projection. Missing (a
    Redis that lost its data, a new deployment) makes the fill watcher rebuild it."""
    return PROJECTION_BUILT


def projection_current() -> str:
    """Epoch milliseconds at which no change was found waiting to be projected; expires unless
    confirmed again. Readers trust the projection only while it is there (``reader``)."""
    return PROJECTION_CURRENT


def positions_version(user_id: str, exchange: Any) -> str:
    """A counter raised with every change of the user's open positions on one exchange, in the same
    MULTI/EXEC: a reader that holds the positions of an unchanged counter need not fetch them again."""
    return f"projection:positions:{user_id}:{_text(exchange)}"


def projection_version(kind: str, entity_id: Any) -> str:
    """The version of an entity last projected; an older change never overwrites a newer one."""
    return f"projection:version:{kind}:{entity_id}"


# -- legacy keys (SPEC 6.2) -------------------------------------------------------------------

GRID_LEVELS = 21  # GRID's reader walks levels 0..20
# The field of the newest GRID code's position hashes (positions:{user}:{exchange}:{symbol}:{side}):
# a hash holding it is GRID's, even under a key of ours.
GRID_EXCHANGE_FIELD = "pos"


def hyperrsi_position(user_id: str, symbol: str, side: Any) -> str:
    """HYPERRSI hash of a non-grid position (contracts, leverage like "10.0", ...)."""
    return f"user:{user_id}:position:{symbol}:{_text(side)}"


def hyperrsi_open_orders(user_id: str) -> str:
    """HYPERRSI list of the user's live orders (JSON items)."""
    return f"user:{user_id}:open_orders"


def hyperrsi_closed_orders(user_id: str) -> str:
    """HYPERRSI list of the user's ended orders (JSON items, capped)."""
    return f"user:{user_id}:closed_orders"


def hyperrsi_credentials(user_id: str) -> str:
    """HYPERRSI hash of the user's OKX credentials (``api_key``, ``api_secret``, ``passphrase``)."""
    return f"user:{user_id}:api:keys"


def hyperrsi_trading_status(user_id: str) -> str:
    """HYPERRSI string: ``running`` while the user's bot trades (its writer is alive)."""
    return f"user:{user_id}:trading:status"


def grid_level(exchange: Any, user_id: str, symbol: str, level: int) -> str:
    """GRID hash of one grid level (JSON-encoded values, direction in the sign of grid_count)."""
    return f"{grid_symbol(exchange, user_id, symbol)}:active_grid:{level}"


def grid_levels(exchange: Any, user_id: str, symbol: str) -> list[str]:
    """Every GRID level hash of one symbol, level 0 (the one GRID's reader checks first) first."""
    return [grid_level(exchange, user_id, symbol, level) for level in range(GRID_LEVELS)]


def grid_symbol(exchange: Any, user_id: str, symbol: str) -> str:
    """The base of GRID's per-symbol keys (the older single ``active_grid`` hash hangs from it)."""
    return f"{_text(exchange)}:user:{user_id}:symbol:{symbol}"


def grid_user(exchange: Any, user_id: str) -> str:
    """GRID hash of the user's settings, running state and credentials (``password`` is the passphrase)."""
    return f"{_text(exchange)}:user:{user_id}"


def grid_exchange_index(user_id: str, exchange: Any) -> str:
    """The newest GRID code's set of ``{symbol}:{side}`` members (the seeds' unified key, unprefixed)."""
    return f"positions:index:{user_id}:{_text(exchange)}"


def grid_exchange_position(user_id: str, exchange: Any, symbol: str, side: Any) -> str:
    """The newest GRID code's exchange-level position hash (``pos``, ``notionalUsd``), unprefixed."""
    return f"positions:{user_id}:{_text(exchange)}:{symbol}:{_text(side)}"


# -- legacy SCAN patterns (a user id given is matched literally; None: every user) ----------------


def _glob(user_id: str | None) -> str:
    return "*" if user_id is None else re.sub(r"([*?\[\]\\])", r"\\\1", user_id)


def hyperrsi_position_pattern(user_id: str | None = None) -> str:
    return f"user:{_glob(user_id)}:position:*"


def hyperrsi_open_orders_pattern(user_id: str | None = None) -> str:
    return f"user:{_glob(user_id)}:open_orders"


def hyperrsi_credentials_pattern(user_id: str | None = None) -> str:
    return f"user:{_glob(user_id)}:api:keys"


def grid_level_pattern(user_id: str | None = None) -> str:
    return f"*:user:{_glob(user_id)}:symbol:*:active_grid*"


def grid_user_pattern(user_id: str | None = None) -> str:
    return f"*:user:{_glob(user_id)}"


def grid_exchange_index_pattern(user_id: str | None = None) -> str:
    return f"positions:index:{_glob(user_id)}:*"


# -- legacy key parsing --------------------------------------------------------------------------


@dataclass(frozen=True)
class LegacyKey:
    """What a legacy key names. ``kind``: ``hyperrsi_position``, ``hyperrsi_sibling`` (a key under the
    position pattern that is not a position), ``grid_level``, ``grid_levels`` (the older single hash),
    ``hyperrsi_orders``, ``hyperrsi_credentials``, ``grid_user``."""

    kind: str
    user_id: str
    symbol: str = ""
    side: str = ""
    exchange: str = ""
    level: int | None = None


def _between(key: str, start: str, marker: str) -> tuple[str, str] | None:
    """(text between ``start`` and the first ``marker``, the rest after it), or None."""
    if not key.startswith(start):
        return None
    head, found, rest = key[len(start) :].partition(marker)
    return (head, rest) if found and head else None


def parse_hyperrsi_position_key(key: str) -> LegacyKey | None:
    """``user:{id}:position:{symbol}:{side}``, the symbol possibly holding colons; a key under that
    pattern without a trailing side (``...:dca_count``, ``user:{id}:position:summary``) is a sibling."""
    parts = _between(key, "user:", ":position:")
    if parts is None:
        return None
    user_id, rest = parts
    symbol, _, side = rest.rpartition(":")
    if side not in _SIDES or not symbol:
        return LegacyKey("hyperrsi_sibling", user_id, symbol=rest)
    return LegacyKey("hyperrsi_position", user_id, symbol=symbol, side=side)


def parse_grid_level_key(key: str) -> LegacyKey | None:
    """``{exchange}:user:{id}:symbol:{symbol}:active_grid:{level}`` or the older single
    ``...:active_grid`` hash; None for anything else (the exchange is not checked here)."""
    exchange, found, rest = key.partition(":user:")
    user_id, marked, rest = rest.partition(":symbol:")
    if not (found and marked and exchange and user_id):
        return None
    if rest.endswith(":active_grid"):
        return LegacyKey("grid_levels", user_id, symbol=rest.removesuffix(":active_grid"), exchange=exchange)
    symbol, found, level = rest.rpartition(":active_grid:")
    if not found or not symbol or not level.isdigit():
        return None
    return LegacyKey("grid_level", user_id, symbol=symbol, exchange=exchange, level=int(level))


def parse_user_key(key: str, suffix: str) -> str | None:
    """The user id of ``user:{id}{suffix}`` (``:open_orders``, ``:api:keys``), or None."""
    if not key.startswith("user:") or not key.endswith(suffix):
        return None
    user_id = key[len("user:") : len(key) - len(suffix)]
    return user_id if user_id and ":" not in user_id else None


def parse_grid_user_key(key: str) -> LegacyKey | None:
    """``{exchange}:user:{id}`` exactly (GRID's per-user hash); its sub-keys are not it."""
    exchange, found, user_id = key.partition(":user:")
    if not found or not exchange or not user_id or ":" in user_id or ":" in exchange:
        return None
    return LegacyKey("grid_user", user_id, exchange=exchange)


def legacy_user_id(key: str) -> str | None:
    """The user a legacy key belongs to (``user:{id}:...``, ``{exchange}:user:{id}...``,
    ``positions:index:{id}:{exchange}``), or None."""
    if key.startswith("user:"):
        return key[len("user:") :].partition(":")[0] or None
    if key.startswith("positions:index:"):
        return key[len("positions:index:") :].rpartition(":")[0] or None
    _, found, rest = key.partition(":user:")
    return (rest.partition(":")[0] or None) if found else None


def parse_index_key(key: str) -> tuple[str, str] | None:
    """(user id, exchange) of an unprefixed ``positions:index:{user}:{exchange}`` key, or None."""
    user_id, _, exchange = key.removeprefix("positions:index:").rpartition(":")
    return (user_id, exchange) if key.startswith("positions:index:") and user_id and exchange else None


def parse_grid_exchange_member(member: str) -> tuple[str, str] | None:
    """(symbol, side) of a newest-GRID index member ``{symbol}:{side}``; None for our ids."""
    symbol, _, side = member.rpartition(":")
    return (symbol, side) if symbol and side in _SIDES and not _is_uuid(member) else None


# -- classification ---------------------------------------------------------------------------


def is_unified_key(key: str) -> bool:
    """True when ``key`` has the shape of a unified key this service owns (SPEC 6.1).

    Used by ``rebuild_redis`` and ``verify_redis`` before deleting a key: other services' keys
    under the same prefixes (GRID's ``orders:{exchange}:user:...``) are never ours.
    """
    prefix = unified_prefix()
    if not key.startswith(prefix):
        return False
    key = key[len(prefix) :]
    if key == "positions:active":
        return True
    if key.startswith(("positions:index:", "positions:slots:", "positions:history:", "orders:user:", "orders:open:")):
        return True
    if key.startswith("orders:"):
        return _is_uuid(key.removeprefix("orders:"))
    if key.startswith("positions:"):
        return _is_position_hash_key(key.removeprefix("positions:"))
    return False


def unified_role(key: str) -> str:
    """What a unified key is, from its shape (``position_set``, ``slots``, ``history``,
    ``order_set``, ``order_hash``, ``position_hash``): decides its Redis type and liveness rule."""
    key = key[len(unified_prefix()) :]
    if key == "positions:active" or key.startswith("positions:index:"):
        return "position_set"
    if key.startswith("positions:slots:"):
        return "slots"
    if key.startswith("positions:history:"):
        return "history"
    if key.startswith(("orders:user:", "orders:open:")):
        return "order_set"
    if key.startswith("orders:"):
        return "order_hash"
    return "position_hash"


def order_id_of(key: str) -> str:
    """The order id in a unified ``orders:{id}`` key."""
    return key[len(unified_prefix()) :].removeprefix("orders:")


def is_entity_id(text: str) -> bool:
    """Whether a set member is one of our ids (a UUID): the only members our sets hold."""
    return _is_uuid(text)


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _is_position_hash_key(rest: str) -> bool:
    # {user_id}:{exchange}:{symbol}:{side}[:grid:{level}]; symbols may hold colons, so anchor on the
    # known tail (side, optional grid suffix) and look for a known exchange among the segments.
    parts = rest.split(":")
    if len(parts) >= 6 and parts[-2] == "grid" and parts[-1].isdigit():
        parts = parts[:-2]
    if len(parts) < 4 or parts[-1] not in _SIDES:
        return False
    return any(segment in _EXCHANGES for segment in parts[1:-2])
