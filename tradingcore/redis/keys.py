"""The Redis key schema (SPEC 6.1 and 6.2): the only place in the project that spells a key.

Every function returns one key as a string. Arguments may be enum members or their string
values; enums are written by value. Nothing here talks to Redis.

Unified keys (always owned by this service, so ``rebuild_redis`` may delete stale ones) start with
``positions:`` or ``orders:``; ``is_unified_key`` tells them apart from other services' keys that
share the prefix (GRID's ``orders:{exchange}:user:...:order_placed``). Legacy keys (HYPERRSI,
GRID) are shared with bots that may not be migrated yet, so only keys of entities we hold in
PostgreSQL are ever written or removed.
"""

from __future__ import annotations

import enum
import uuid
from typing import Any

from tradingcore.enums import Exchange, PositionSide

POSITIONS_ACTIVE = "positions:active"
PROJECTION_BUILT = "projection:built"
PROJECTION_CURRENT = "projection:current"
POSITION_SCAN_PATTERN = "positions:*"
ORDER_SCAN_PATTERN = "orders:*"

_EXCHANGES = frozenset(member.value for member in Exchange)
_SIDES = frozenset(member.value for member in PositionSide)


def _text(value: Any) -> str:
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


# -- unified keys (SPEC 6.1) ------------------------------------------------------------------


def position(user_id: str, exchange: Any, symbol: str, side: Any, grid_level: int | None = None) -> str:
    """Hash of the open position; grid positions get a ``:grid:{level}`` suffix so levels never collide."""
    key = f"positions:{user_id}:{_text(exchange)}:{symbol}:{_text(side)}"
    return key if grid_level is None else f"{key}:grid:{grid_level}"


def position_index(user_id: str, exchange: Any) -> str:
    """Set of the ids of the user's open positions on one exchange."""
    return f"positions:index:{user_id}:{_text(exchange)}"


def positions_active() -> str:
    """Set of the ids of every open position."""
    return POSITIONS_ACTIVE


def position_slots(user_id: str, exchange: Any) -> str:
    """Hash from the id of each open position of the user on one exchange to its position hash key.

    Not in the seed schema: the seed's index set holds ids but its hashes are keyed by symbol and
    side, so the seed's own reader could not list a user's positions without a symbol. This map
    lets the read path fetch every open position in one round trip.
    """
    return f"positions:slots:{user_id}:{_text(exchange)}"


def position_history(user_id: str, exchange: Any) -> str:
    """List of the user's closed positions on one exchange, newest first, JSON, capped."""
    return f"positions:history:{user_id}:{_text(exchange)}"


def order(order_id: Any) -> str:
    """Hash of one order."""
    return f"orders:{order_id}"


def order_user_index(user_id: str, exchange: Any) -> str:
    """Set of the ids of the user's live orders on one exchange."""
    return f"orders:user:{user_id}:{_text(exchange)}"


def open_orders(exchange: Any, symbol: str) -> str:
    """Set of the ids of the live orders on one market."""
    return f"orders:open:{_text(exchange)}:{symbol}"


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


def hyperrsi_position(user_id: str, symbol: str, side: Any) -> str:
    """HYPERRSI hash of a non-grid position (contracts, leverage like "10.0", ...)."""
    return f"user:{user_id}:position:{symbol}:{_text(side)}"


def hyperrsi_open_orders(user_id: str) -> str:
    """HYPERRSI list of the user's live limit and take-profit orders (JSON items)."""
    return f"user:{user_id}:open_orders"


def hyperrsi_closed_orders(user_id: str) -> str:
    """HYPERRSI list of the user's ended limit and take-profit orders (JSON items, capped)."""
    return f"user:{user_id}:closed_orders"


def grid_level(exchange: Any, user_id: str, symbol: str, level: int) -> str:
    """GRID hash of one grid level (JSON-encoded values, direction in the sign of grid_count)."""
    return f"{_text(exchange)}:user:{user_id}:symbol:{symbol}:active_grid:{level}"


# -- classification ---------------------------------------------------------------------------


def is_unified_key(key: str) -> bool:
    """True when ``key`` has the shape of a unified key this service owns (SPEC 6.1).

    Used by ``rebuild_redis`` and ``verify_redis`` before deleting a key: other services' keys
    under the same prefixes (GRID's ``orders:{exchange}:user:...``) are never ours.
    """
    if key == POSITIONS_ACTIVE:
        return True
    if key.startswith(("positions:index:", "positions:slots:", "positions:history:", "orders:user:", "orders:open:")):
        return True
    if key.startswith("orders:"):
        return _is_uuid(key.removeprefix("orders:"))
    if key.startswith("positions:"):
        return _is_position_hash_key(key.removeprefix("positions:"))
    return False


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
