"""Reading a legacy Redis: streaming SCAN and pipelined reads, one batch at a time.

Memory stays flat in the number of keys: keys come from SCAN (a cursor, never KEYS), are read in
batches of ``batch_size`` with one pipelined round trip (HGETALL: nearly every legacy record is a
hash), and a second for the keys of another type (TYPE, then the value by its type); each batch is
handed over and dropped. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import ResponseError

T = TypeVar("T")
SCAN_COUNT = 1000


@dataclass(frozen=True)
class RawRecord:
    """One legacy key as read: its Redis type and value (a dict, a str, a list, a set)."""

    key: str
    redis_type: str
    value: Any


def scan(client: Redis, pattern: str, *, count: int = SCAN_COUNT) -> Iterator[str]:
    """Every key matching ``pattern`` (SCAN: may repeat a key when the keyspace changes meanwhile;
    the importer is idempotent, so a repeat is counted as unchanged)."""
    yield from client.scan_iter(match=pattern, count=count)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


_READ = {
    "hash": lambda pipe, key: pipe.hgetall(key),
    "string": lambda pipe, key: pipe.get(key),
    "list": lambda pipe, key: pipe.lrange(key, 0, -1),
    "set": lambda pipe, key: pipe.smembers(key),
}


def read(client: Redis, batch: list[str]) -> list[RawRecord]:
    """The records of ``batch``, in its order: the hashes in one round trip, the keys of another type
    in two more; keys gone since the scan are left out, keys of a type not read here come back with
    a None value. Raises ``RedisError``."""
    pipe = client.pipeline(transaction=False)
    for key in batch:
        pipe.hgetall(key)
    found: list[RawRecord | None] = []
    others: list[str] = []
    for key, value in zip(batch, pipe.execute(raise_on_error=False), strict=True):
        if isinstance(value, ResponseError) and str(value).startswith("WRONGTYPE"):
            others.append(key)
            found.append(None)  # read below, in its place
        elif isinstance(value, Exception):
            raise value
        elif value:  # a hash is never empty in Redis: {} is a key gone since the scan
            found.append(RawRecord(key, "hash", value))
    if others:
        typed = iter(_read_by_type(client, others))
        found = [record or next(typed, None) for record in found]
    return [record for record in found if record is not None]


def _read_by_type(client: Redis, batch: list[str]) -> list[RawRecord | None]:
    """Each key of ``batch`` by its type (TYPE, then the value), None for a key gone meanwhile."""
    pipe = client.pipeline(transaction=False)
    for key in batch:
        pipe.type(key)
    typed = list(zip(batch, pipe.execute(), strict=True))
    pipe = client.pipeline(transaction=False)
    for key, kind in typed:
        reader = _READ.get(kind)
        if reader is None:
            pipe.exists(key)
        else:
            reader(pipe, key)
    values = pipe.execute()
    return [
        None if kind == "none" else RawRecord(key, kind, value if kind in _READ else None)
        for (key, kind), value in zip(typed, values, strict=True)
    ]


def hget_many(client: Redis, requests: list[tuple[str, str]]) -> list[Any]:
    """HGET of each (key, field) in one round trip."""
    pipe = client.pipeline(transaction=False)
    for key, field in requests:
        pipe.hget(key, field)
    return list(pipe.execute()) if requests else []
