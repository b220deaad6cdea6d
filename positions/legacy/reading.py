"""Reading a legacy Redis: streaming SCAN and pipelined reads, one batch at a time.

Memory stays flat in the number of keys: keys come from SCAN (a cursor, never KEYS), are read in
batches of ``batch_size`` with two pipelined round trips (TYPE, then the value by its type), and
each batch is handed over and dropped. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from redis import Redis

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
    """The records of ``batch`` in two round trips; keys gone since the scan are left out, keys of
    another type come back with a None value."""
    pipe = client.pipeline(transaction=False)
    for key in batch:
        pipe.type(key)
    typed = [(key, kind) for key, kind in zip(batch, pipe.execute(), strict=True) if kind != "none"]
    pipe = client.pipeline(transaction=False)
    for key, kind in typed:
        reader = _READ.get(kind)
        if reader is None:
            pipe.exists(key)
        else:
            reader(pipe, key)
    values = pipe.execute()
    return [
        RawRecord(key, kind, value if kind in _READ else None) for (key, kind), value in zip(typed, values, strict=True)
    ]


def hget_many(client: Redis, requests: list[tuple[str, str]]) -> list[Any]:
    """HGET of each (key, field) in one round trip."""
    pipe = client.pipeline(transaction=False)
    for key, field in requests:
        pipe.hget(key, field)
    return list(pipe.execute()) if requests else []
