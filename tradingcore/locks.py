"""Cross-process locks held without an open database transaction.

``position_lock`` serialises the protective-order sync of one position (it calls the exchange, so
it cannot hold a row lock). ``idempotency_lock`` lets one request per idempotency key run at a
time, on every worker (the API's retries wait for the first request, then replay its
response). ``try_claim_outbox`` lets several outbox drainers share the work
without publishing the same row twice. (The projection itself needs no lock: every block it
writes carries the entity's version, see ``tradingcore.redis.plan``.)

On PostgreSQL these are session-level advisory locks: they need no transaction (so Redis is
never written inside one), are shared by every process and machine, and die with the session if
a worker crashes. On SQLite (the embedded single-machine run) they fall back to in-process locks.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

# Namespaces (the first key of the two-key advisory lock form).
_OUTBOX_NAMESPACE = 0x7C0F
_POSITION_NAMESPACE = 0x7C10
_IDEMPOTENCY_NAMESPACE = 0x7C11
_POLL_SECONDS = 0.02

_local_guard = threading.Lock()
_local_locks: dict[tuple[int, int], threading.Lock] = {}
_local_rlocks: dict[tuple[int, int], threading.RLock] = {}


def _int4(value: int) -> int:
    """Fold into PostgreSQL's signed int4 range."""
    value &= 0xFFFFFFFF
    return value - 0x1_0000_0000 if value >= 0x8000_0000 else value


def _is_postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def _local_lock(namespace: int, key: int) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault((namespace, key), threading.Lock())


def try_claim_outbox(entry_id: int, *, using: str = "default") -> bool:
    """Claim one outbox row for this session without waiting; False if another worker holds it."""
    key = _int4(entry_id)
    if not _is_postgres(using):
        return _local_lock(_OUTBOX_NAMESPACE, key).acquire(blocking=False)
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_OUTBOX_NAMESPACE, key])
        row = cursor.fetchone()
    return bool(row and row[0])


def release_outbox(entry_id: int, *, using: str = "default") -> None:
    """Release a claim taken with ``try_claim_outbox``."""
    key = _int4(entry_id)
    if not _is_postgres(using):
        lock = _local_lock(_OUTBOX_NAMESPACE, key)
        if lock.locked():
            lock.release()
        return
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_OUTBOX_NAMESPACE, key])


@contextmanager
def position_lock(position_id: object, *, using: str = "default") -> Iterator[None]:
    """Hold the lock of one position for the block; re-entrant in the same session or thread."""
    key = _int4(zlib.crc32(str(position_id).encode()))
    if not _is_postgres(using):
        with _local_guard:
            lock = _local_rlocks.setdefault((_POSITION_NAMESPACE, key), threading.RLock())
        with lock:
            yield
        return
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_POSITION_NAMESPACE, key])
    try:
        yield
    finally:
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_POSITION_NAMESPACE, key])


@contextmanager
def idempotency_lock(name: str, *, timeout: float, using: str = "default") -> Iterator[bool]:
    """Hold the lock named ``name`` for the block, waiting at most ``timeout`` seconds for another
    holder; yields whether it is held (False: the wait timed out and nothing is held)."""
    key = _int4(zlib.crc32(name.encode()))
    if not _is_postgres(using):
        lock = _local_lock(_IDEMPOTENCY_NAMESPACE, key)
        held = lock.acquire(timeout=timeout)
    else:
        held = _wait_for_advisory_lock(_IDEMPOTENCY_NAMESPACE, key, timeout, using)
    try:
        yield held
    finally:
        if held and not _is_postgres(using):
            lock.release()
        elif held:
            with connections[using].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_IDEMPOTENCY_NAMESPACE, key])


def _wait_for_advisory_lock(namespace: int, key: int, timeout: float, using: str) -> bool:
    # Polled rather than blocking, so a waiter gives up after ``timeout`` without a transaction.
    deadline = time.monotonic() + timeout
    with connections[using].cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [namespace, key])
            row = cursor.fetchone()
            if row and row[0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
