"""The fast read path: a user's open positions from the projection, sync and async (SPEC 4, "Reads").

The seeds read positions from Redis; so do we, when Redis can be trusted: ``read.lua`` fetches
every open position hash of a user on one exchange in one round trip (through the
``positions:slots`` map), or answers None when the projection is not confirmed current
(``projection:current`` missing: a new deployment, a Redis that lost its data, a projection that
failed and was not caught up yet, a watcher that stopped). None also when this process failed to
project a change of that user since the last confirmation (``outbox.behind_here``). The caller
then reads PostgreSQL: a reader never sees a state older than its own last write.

Every change of a user's open positions raises a counter in the same MULTI/EXEC
(``keys.positions_version``). The reader keeps the positions it decoded with the counter and the
build token they came with; the next read first asks Redis for the mark, the token and the
counter alone (one MGET, atomic): when they are unchanged the kept positions are returned (as
copies), which is the common case of a bot polling positions that did not change. Values are
decoded without pydantic validation (``codec.decode_position_fast``): they were encoded by
``codec`` from validated DTOs. The async client (redis.asyncio) is kept per event loop, so an
async reader never reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from redis import asyncio as redis_asyncio
from redis.commands.core import AsyncScript, Script

from tradingcore import dto
from tradingcore.redis import codec, keys, outbox
from tradingcore.redis.projector import redis_client

READ_SCRIPT = Path(__file__).with_name("read.lua")
KEPT_ANSWERS = 10_000


@dataclass(frozen=True)
class _Kept:
    built: str
    counter: str
    positions: tuple[dto.Position, ...]


_kept: OrderedDict[tuple[str, str, str], _Kept] = OrderedDict()
_kept_lock = threading.Lock()


def _key_prefix(user_id: str, exchange: str, symbol: str | None) -> str:
    """The start of every position hash key of ``symbol`` ("" for every symbol)."""
    return "" if symbol is None else keys.position(user_id, exchange, symbol, "")


@functools.cache
def _script_source() -> str:
    return READ_SCRIPT.read_text()


_sync_scripts: dict[int, Script] = {}


def _script() -> Script:
    client = redis_client()
    script = _sync_scripts.get(id(client))
    if script is None:
        script = _sync_scripts[id(client)] = client.register_script(_script_source())
    return script


def _keys(user_id: str, exchange: str) -> list[str]:
    return [
        keys.projection_current(),
        keys.projection_built(),
        keys.position_slots(user_id, exchange),
        keys.positions_version(user_id, exchange),
    ]


def _marks(script_keys: list[str]) -> list[str]:
    """The keys of the three marks (current, built, counter) among the script's keys."""
    return [script_keys[0], script_keys[1], script_keys[3]]


def _unchanged(question: tuple[str, str, str], marks: list[Any]) -> list[dto.Position] | None:
    """Copies of the kept positions when the marks say nothing changed since, else None."""
    kept = _kept.get(question)
    current, built, counter = marks
    if kept is None or current is None or outbox.behind_here(question[0], int(current)):
        return None
    if (kept.built, kept.counter) != (built or "", counter or "0"):
        return None
    return [codec.copied_position(position) for position in kept.positions]


def _answer(question: tuple[str, str, str], answer: list[Any] | None) -> list[dto.Position] | None:
    if answer is None or outbox.behind_here(question[0], int(answer[0])):
        return None
    built, counter, rows = answer[1], answer[2], answer[3:]
    positions = [codec.decode_position_fast(dict(zip(row[::2], row[1::2], strict=True))) for row in rows]
    positions.sort(key=lambda p: (p.created_at, str(p.id)), reverse=True)
    _keep(question, _Kept(built, counter, tuple(positions)))
    return [codec.copied_position(position) for position in positions]


def _keep(question: tuple[str, str, str], kept: _Kept) -> None:
    with _kept_lock:
        _kept[question] = kept
        _kept.move_to_end(question)
        while len(_kept) > KEPT_ANSWERS:
            _kept.popitem(last=False)


def open_positions(user_id: str, exchange: str, symbol: str | None = None) -> list[dto.Position] | None:
    """The user's open positions on ``exchange`` (of ``symbol``, a native id, if given), newest
    first; None when the projection cannot answer. Raises ``RedisError`` when Redis fails."""
    prefix = _key_prefix(user_id, exchange, symbol)
    question, script_keys = (user_id, exchange, prefix), _keys(user_id, exchange)
    if question in _kept:
        unchanged = _unchanged(question, redis_client().mget(_marks(script_keys)))
        if unchanged is not None:
            return unchanged
    return _answer(question, _script()(keys=script_keys, args=[prefix]))


_async_scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncScript] = weakref.WeakKeyDictionary()


def _async_script() -> AsyncScript:
    loop = asyncio.get_running_loop()
    script = _async_scripts.get(loop)
    if script is None:
        redis_client()  # starts the embedded server first when there is one
        client = redis_asyncio.from_url(settings.REDIS_URL, decode_responses=True)
        script = _async_scripts[loop] = client.register_script(_script_source())
    return script


async def aopen_positions(user_id: str, exchange: str, symbol: str | None = None) -> list[dto.Position] | None:
    """Async twin of ``open_positions`` (one client per event loop, never reconnecting)."""
    prefix = _key_prefix(user_id, exchange, symbol)
    question, script_keys = (user_id, exchange, prefix), _keys(user_id, exchange)
    script = _async_script()
    if question in _kept:
        marks = await script.registered_client.mget(_marks(script_keys))
        unchanged = _unchanged(question, marks)
        if unchanged is not None:
            return unchanged
    answer: Any = await script(keys=script_keys, args=[prefix])
    return _answer(question, answer)
