"""Counting layer: SQL statements, PostgreSQL and Redis round trips of any block of calls.

Counting runs in its own pass, never in a timed one: open a window around the call only
(``with counter.window(): call()``) and leave set-up and tear-down outside it.

PostgreSQL, exact at the protocol level. ``install()`` (once, before Django connects) wraps
``psycopg.connect`` and ``Connection.connect`` / ``AsyncConnection.connect`` of psycopg 3 so every
connection the process opens, in any thread, joins a weak set; that is all it does outside a
window. While a window is open each live connection carries a libpq trace
(``pgconn.trace(fd)``, timestamps suppressed) into a temporary file of its own, connections
opened inside the window are traced from their first message after authentication, and a
connection closed inside the window hands its trace over first. At the end of the window the
traces are read:

- a round trip is each switch from frontend (``F``) to backend (``B``) messages in one
  connection's trace: the client sent something and waited for the answer. Without pipeline
  mode that is one per ReadyForQuery; in pipeline mode a batch sent before reading counts once.
  BEGIN, COMMIT, SAVEPOINT and RELEASE are round trips like any statement.
- a statement is a simple-protocol ``Query`` or an extended-protocol ``Execute`` (its SQL found
  through Bind and Parse); one whose SQL starts with BEGIN, START, COMMIT, END, ROLLBACK, ABORT,
  SAVEPOINT or RELEASE is counted as transaction control, not as a statement.
- a connect is a connection opened inside the window. Its start-up (TCP, SSL negotiation,
  authentication: two round trips or more) precedes what libpq can trace and is not in the round
  trips; the queries Django runs on a new connection (time zone) are.
- a simple ``Query`` holding several statements separated by semicolons counts as one (Django
  never sends such a query).

Each trace opens a C stdio stream that psycopg never closes: a few KB per connection and window,
which a counting pass of a few hundred windows can afford.

Redis, exact for redis-py (sync and asyncio). While a window is open ``send_packed_command`` and
``read_response`` of both connection classes are wrapped. A round trip is a read that follows a
send on the same connection, so a pipeline or a MULTI/EXEC block sent at once counts as one, and
the handshake of a new connection (CLIENT SETINFO, SELECT) counts as what it is. Commands are
read from the RESP arrays sent; a MULTI/EXEC block is an EXEC. Other clients of the server do not
disturb the counts (nothing is read from the server).
"""

from __future__ import annotations

import re
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import psycopg
import redis.asyncio.connection as redis_async_connection
import redis.connection as redis_connection
from psycopg import pq

TX_CONTROL = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE"})
_QUOTED = re.compile(r'\s*"([^"]*)"\s*"?(.*)')
_FIRST_WORD = re.compile(r"\W*(\w+)")


@dataclass
class Counts:
    """Totals over ``calls`` calls; ``per_call()`` divides them."""

    calls: int = 0
    statements: int = 0
    tx_control: int = 0
    pg_round_trips: int = 0
    pg_connects: int = 0
    redis_round_trips: int = 0
    redis_commands: int = 0
    redis_multi: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def per_call(self) -> dict[str, float]:
        calls = max(self.calls, 1)
        return {name: value / calls for name, value in asdict(self).items() if name != "calls"}


# --- PostgreSQL: libpq traces ----------------------------------------------------------------


@dataclass
class _TraceParse:
    """Reads one connection's libpq trace (regress mode: ``F|B <tab> length <tab> Message <tab> detail``)."""

    counts: Counts = field(default_factory=Counts)
    statements_sql: dict[str, str] = field(default_factory=dict)
    portals_sql: dict[str, str] = field(default_factory=dict)
    last_direction: str = ""

    def line(self, text: str) -> None:
        parts = text.split("\t", 3)
        if len(parts) < 3 or parts[0] not in ("F", "B"):
            return  # a continuation of a multi-line message
        direction, message, detail = parts[0], parts[2], parts[3] if len(parts) > 3 else ""
        if direction == "B" and self.last_direction == "F":
            self.counts.pg_round_trips += 1
        self.last_direction = direction
        if direction == "F":
            self._frontend(message, detail)

    def _frontend(self, message: str, detail: str) -> None:
        if message == "Query":
            self._statement(detail.strip().lstrip('"'))
            return
        match = _QUOTED.match(detail)
        if match is None:
            return
        name, rest = match.groups()
        if message == "Parse":
            self.statements_sql[name] = rest
        elif message == "Bind":
            self.portals_sql[name] = self.statements_sql.get(rest.split('"', 1)[0], "")
        elif message == "Execute":
            self._statement(self.portals_sql.get(name, ""))

    def _statement(self, sql: str) -> None:
        first_word = _FIRST_WORD.match(sql)
        if first_word and first_word.group(1).upper() in TX_CONTROL:
            self.counts.tx_control += 1
        else:
            self.counts.statements += 1


def parse_trace(text: str) -> Counts:
    """Statements, transaction control and round trips in one connection's trace."""
    parse = _TraceParse()
    for line in text.splitlines():
        parse.line(line)
    return parse.counts


class _PgTraces:
    """Every psycopg connection of the process, and the traces of those open in a window."""

    def __init__(self) -> None:
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self.traced: dict[int, tuple[Any, IO[bytes]]] = {}
        self.counts = Counts()
        self.active = False
        self.lock = threading.Lock()

    def opened(self, connection: Any) -> None:
        self.connections.add(connection)
        if self.active:
            with self.lock:
                self.counts.pg_connects += 1
            self.attach(connection)

    def attach(self, connection: Any) -> None:
        if connection.closed or id(connection) in self.traced:
            return
        target = tempfile.TemporaryFile()
        connection.pgconn.trace(target.fileno())
        connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        with self.lock:
            self.traced[id(connection)] = (connection, target)

    def detach(self, connection: Any) -> None:
        with self.lock:
            entry = self.traced.pop(id(connection), None)
        if entry is None:
            return
        if not connection.closed:
            connection.pgconn.untrace()  # flushes libpq's stream
        target = entry[1]
        target.seek(0)
        counts = parse_trace(target.read().decode("utf-8", "replace"))
        target.close()
        with self.lock:
            self.counts.add(counts)

    def start(self) -> None:
        self.counts = Counts()
        self.active = True
        for connection in list(self.connections):
            self.attach(connection)

    def stop(self) -> Counts:
        self.active = False
        for connection, _ in list(self.traced.values()):
            self.detach(connection)
        return self.counts


_PG = _PgTraces()


def _recording_connect(original: Callable[..., Any]) -> Callable[..., Any]:
    def connect(*args: Any, **kwargs: Any) -> Any:
        connection = original(*args, **kwargs)
        _PG.opened(connection)
        return connection

    return connect


def _recording_aconnect(original: Callable[..., Any]) -> Callable[..., Any]:
    async def connect(*args: Any, **kwargs: Any) -> Any:
        connection = await original(*args, **kwargs)
        _PG.opened(connection)
        return connection

    return connect


def install() -> None:
    """Record every PostgreSQL connection from now on (call before the first one opens)."""
    if getattr(psycopg, "_bench_recording", False):
        return
    psycopg.Connection.connect = classmethod(_recording_connect(psycopg.Connection.connect.__func__))  # type: ignore[method-assign]
    psycopg.AsyncConnection.connect = classmethod(_recording_aconnect(psycopg.AsyncConnection.connect.__func__))  # type: ignore[method-assign]
    psycopg.connect = psycopg.Connection.connect  # the module's alias, which Django calls
    psycopg._bench_recording = True  # type: ignore[attr-defined]


def _closing_sync(original: Callable[..., Any]) -> Callable[..., Any]:
    def close(self: Any) -> Any:
        _PG.detach(self)
        return original(self)

    return close


def _closing_async(original: Callable[..., Any]) -> Callable[..., Any]:
    async def close(self: Any) -> Any:
        _PG.detach(self)
        return await original(self)

    return close


# --- Redis: wrapped connections, INFO commandstats --------------------------------------------


def command_names(packed: Any) -> list[bytes]:
    """The command names in what redis-py sent: RESP arrays of bulk strings, one per command."""
    payload = packed.encode() if isinstance(packed, str) else b"".join(bytes(chunk) for chunk in packed)
    names, position = [], 0
    while position < len(payload) and payload[position : position + 1] == b"*":
        end = payload.index(b"\r\n", position)
        arguments, position = int(payload[position + 1 : end]), end + 2
        for argument in range(arguments):
            end = payload.index(b"\r\n", position)
            start = end + 2
            position = start + int(payload[position + 1 : end]) + 2
            if argument == 0:
                names.append(payload[start : position - 2].upper())
    return names


class _RedisTally:
    """Round trips (send/read transitions per connection) and commands sent while a window is open."""

    def __init__(self) -> None:
        self.sent: set[int] = set()
        self.round_trips = 0
        self.commands = 0
        self.multi = 0
        self.lock = threading.Lock()

    def on_send(self, connection: Any, packed: Any) -> None:
        names = command_names(packed)
        with self.lock:
            self.sent.add(id(connection))
            self.commands += len(names)
            self.multi += names.count(b"EXEC")

    def on_read(self, connection: Any) -> None:
        with self.lock:
            if id(connection) in self.sent:
                self.sent.discard(id(connection))
                self.round_trips += 1


def _sync_send(original: Callable[..., Any], tally: _RedisTally) -> Callable[..., Any]:
    def send_packed_command(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, command, *args, **kwargs)  # a health-check PING inside is its own round trip
        tally.on_send(self, command)
        return result

    return send_packed_command


def _sync_read(original: Callable[..., Any], tally: _RedisTally) -> Callable[..., Any]:
    def read_response(self: Any, *args: Any, **kwargs: Any) -> Any:
        tally.on_read(self)
        return original(self, *args, **kwargs)

    return read_response


def _async_send(original: Callable[..., Any], tally: _RedisTally) -> Callable[..., Any]:
    async def send_packed_command(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, command, *args, **kwargs)
        tally.on_send(self, command)
        return result

    return send_packed_command


def _async_read(original: Callable[..., Any], tally: _RedisTally) -> Callable[..., Any]:
    async def read_response(self: Any, *args: Any, **kwargs: Any) -> Any:
        tally.on_read(self)
        return await original(self, *args, **kwargs)

    return read_response


@contextmanager
def _patched(patches: list[tuple[Any, str, Any]]) -> Iterator[None]:
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            if original is None:
                delattr(owner, name)  # it was inherited
            else:
                setattr(owner, name, original)


def _window_patches(tally: _RedisTally) -> list[tuple[Any, str, Any]]:
    sync_conn, async_conn = redis_connection.AbstractConnection, redis_async_connection.AbstractConnection
    return [
        (sync_conn, "send_packed_command", _sync_send(sync_conn.send_packed_command, tally)),
        (sync_conn, "read_response", _sync_read(sync_conn.read_response, tally)),
        (async_conn, "send_packed_command", _async_send(async_conn.send_packed_command, tally)),
        (async_conn, "read_response", _async_read(async_conn.read_response, tally)),
        (psycopg.Connection, "close", _closing_sync(psycopg.Connection.close)),
        (psycopg.AsyncConnection, "close", _closing_async(psycopg.AsyncConnection.close)),
    ]


class Counter:
    """Accumulates the counts of every window opened on it; ``counts.calls`` counts the windows."""

    def __init__(self) -> None:
        self.counts = Counts()

    @contextmanager
    def window(self) -> Iterator[None]:
        tally = _RedisTally()
        with _patched(_window_patches(tally)):
            _PG.start()
            try:
                yield
            finally:
                counts = _PG.stop()
        counts.calls = 1
        counts.redis_round_trips = tally.round_trips
        counts.redis_commands = tally.commands
        counts.redis_multi = tally.multi
        self.counts.add(counts)
