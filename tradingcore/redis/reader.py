"""The fast read path: a user's open positions from the projection, sync and async (SPEC 4, "Reads").

The seeds read positions from Redis; so do we, when Redis can be trusted: ``read.lua`` fetches
every open position hash of a user on one exchange in one round trip (through the
``positions:slots`` map), or answers None when the projection is not confirmed current
(``projection:current`` missing: a new deployment, a Redis that lost its data, a projection that
failed and was not caught up yet, a watcher that stopped). None also when this process failed to
project a change of that user since the last confirmation (``outbox.behind_here``). The caller
then reads PostgreSQL: a reader never sees a state older than its own last write.

Values are decoded without pydantic validation (``codec.decode_position_fast``): they were
encoded by ``codec`` from validated DTOs. The async client (redis.asyncio) is kept per event loop,
so an async reader never reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from pathlib import Path
from typing import Any

from django.conf import settings
from redis import asyncio as redis_asyncio
from redis.commands.core import AsyncScript, Script

from tradingcore import dto
from tradingcore.redis import codec, keys, outbox
from tradingcore.redis.projector import redis_client

READ_SCRIPT = Path(__file__).with_name("read.lua")


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


def _decode(user_id: str, answer: list[Any] | None) -> list[dto.Position] | None:
    if answer is None or outbox.behind_here(user_id, int(answer[0])):
        return None
    positions = [codec.decode_position_fast(dict(zip(row[::2], row[1::2], strict=True))) for row in answer[1:]]
    return sorted(positions, key=lambda p: (p.created_at, str(p.id)), reverse=True)


def open_positions(user_id: str, exchange: str, symbol: str | None = None) -> list[dto.Position] | None:
    """The user's open positions on ``exchange`` (of ``symbol``, a native id, if given), newest
    first; None when the projection cannot answer. Raises ``RedisError`` when Redis fails."""
    script_keys = [keys.projection_current(), keys.position_slots(user_id, exchange)]
    return _decode(user_id, _script()(keys=script_keys, args=[_key_prefix(user_id, exchange, symbol)]))


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
    script_keys = [keys.projection_current(), keys.position_slots(user_id, exchange)]
    answer: Any = await _async_script()(keys=script_keys, args=[_key_prefix(user_id, exchange, symbol)])
    return _decode(user_id, answer)
