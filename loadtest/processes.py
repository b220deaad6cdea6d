"""The processes of a run: a redis-server of its own (so it can be restarted), API servers and
fill watchers, each started, killed and restarted on command, with its output in a log file.

``api_server_command`` is the one place that says how an API server is started.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def api_server_command() -> list[str]:
    """How one API server is started: the Procfile's ``web`` process (gunicorn with uvicorn
    workers, ``config/gunicorn.py``), told where to listen and how many workers to run by its
    environment (``api_server_env``), as an operator starts it."""
    return [PYTHON, "-m", "gunicorn", "--config", "config/gunicorn.py", "config.asgi:application"]


def api_server_env(*, port: int, workers: int) -> dict[str, str]:
    return {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers)}


def production_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` in production mode (``DJANGO_ENV=production``, which refuses unfit settings) with
    fresh keys for the run; the inherited ``DJANGO_*`` / ``LOG_*`` / ``WEB_*`` / ``PROMETHEUS_*``
    settings are dropped so the run does not depend on the shell it was started from."""
    inherited = {
        name: value for name, value in base.items() if not name.startswith(("DJANGO_", "LOG_", "WEB_", "PROMETHEUS_"))
    }
    return {
        **inherited,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "TRADING_ENCRYPTION_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def watcher_command() -> list[str]:
    return [PYTHON, "manage.py", "watch_orders"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent() -> None:
    # Runs in the child before exec: if the suite dies, its processes die with it.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Process:
    """One child process, restartable; its output goes to ``log`` (appended across restarts)."""

    name: str
    command: Sequence[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"---- start {self.starts + 1}: {' '.join(self.command)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(
                list(self.command), cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
            )  # fmt: skip
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def wait(self, seconds: float) -> bool:
        """Whether the process has exited within ``seconds``."""
        if self.popen is None:
            return True
        try:
            code = self.popen.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        self.exits.append(code)
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stop(self, seconds: float = 15) -> None:
        """SIGTERM; SIGKILL to the whole process group when it does not stop in time."""
        if not self.alive():
            return
        self.signal(signal.SIGTERM)
        if not self.wait(seconds):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.wait(10)

    def children(self) -> list[int]:
        """Pids of the process's direct children (gunicorn's workers)."""
        if not self.alive():
            return []
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def redis_server(port: int, log: Path, env: dict[str, str]) -> Process:
    """A redis-server without persistence: a restart comes back empty, as a lost cache does."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return Process("redis", command, env, log)


def wait_for_port(port: int, seconds: float, process: Process | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``; ``RuntimeError`` when not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise RuntimeError(f"{process.name} exited while starting:\n{process.tail()}")
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")
