"""The production web server and the fill watcher, started for a benchmark and stopped after it.

``web_command`` is the one place that says how the server starts: the ``web:`` line of the
``Procfile`` when the tree has one (the production command, run in production mode with ``HOST``,
``PORT`` and ``WEB_CONCURRENCY`` in its environment), else the same shape spelled out: gunicorn running uvicorn
workers on ``config.asgi:application``. Programs are taken from the interpreter's own virtualenv.
``watch_orders`` runs beside it, as in production: it confirms the Redis projection current, which
the fast read path of position listing needs.

CPU use is read from ``/proc`` (Linux): ``Processes.cpu_seconds`` sums user and system time of the
server's whole process tree, so a benchmark can say how much CPU each request cost the server,
whatever else the machine was doing.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _from_venv(argv: list[str]) -> list[str]:
    """``gunicorn`` / ``python`` of the Procfile, taken from this interpreter's virtualenv."""
    program = argv[0]
    if program in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    if (BIN / program).exists():
        return [str(BIN / program), *argv[1:]]
    return argv


def procfile_command(root: Path, name: str) -> list[str] | None:
    """The command of process ``name`` in ``root/Procfile``, or None."""
    procfile = root / "Procfile"
    if not procfile.exists():
        return None
    for line in procfile.read_text().splitlines():
        label, _, command = line.partition(":")
        if label.strip() == name and command.strip():
            return _from_venv(shlex.split(command))
    return None


def web_command(root: Path, port: int, workers: int) -> tuple[list[str], str]:
    """How the production server starts, and where that came from (printed with the figures)."""
    if os.environ.get("BENCH_WEB_COMMAND"):  # an experiment: another server on the same tree
        return shlex.split(os.environ["BENCH_WEB_COMMAND"].format(port=port, workers=workers)), "BENCH_WEB_COMMAND"
    command = procfile_command(root, "web")
    if command is not None:
        return command, "Procfile web"
    fallback = [
        str(BIN / "gunicorn"), "config.asgi:application", "-k", "uvicorn_worker.UvicornWorker",
        "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    return fallback, "gunicorn + uvicorn workers (no Procfile yet)"


def watcher_command(root: Path) -> list[str]:
    return procfile_command(root, "watcher") or [sys.executable, "manage.py", "watch_orders"]


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """User + system CPU seconds of one process (0 when it is gone); with ``reaped``, plus those of
    its children that ended and were waited for (PostgreSQL backends of closed connections)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants, living or ended (when reaped)."""
    return sum(cpu_seconds(each, reaped=True) for each in process_tree(pid))


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def process_tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children(current))
    return found


@dataclass
class Processes:
    """The server (and its workers) and the watcher, with their logs."""

    root: Path
    port: int
    workers: int
    log_dir: Path
    source: str = ""
    server: subprocess.Popen[bytes] | None = None
    watcher: subprocess.Popen[bytes] | None = None
    logs: list[IO[bytes]] = field(default_factory=list)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(64))
    encryption_key: str = field(default_factory=lambda: secrets.token_urlsafe(40))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self) -> dict[str, str]:
        """Production mode (JSON logs, every production check passed) on loopback, as deployed."""
        environment = dict(os.environ)
        key = environment.get("TRADING_ENCRYPTION_KEY", "")
        environment.update(
            DJANGO_ENV="production", DJANGO_SECRET_KEY=self.secret_key, DJANGO_DEBUG="false",
            TRADING_ENCRYPTION_KEY=key if len(key) >= 32 else self.encryption_key,
            HOST="127.0.0.1", PORT=str(self.port), WEB_CONCURRENCY=str(self.workers),
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONPATH=str(self.root),
        )  # fmt: skip
        return environment

    def _spawn(self, command: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / log_name).open("wb")
        self.logs.append(log)
        return subprocess.Popen(
            command, cwd=self.root, env=self._environment(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def start(self, *, timeout: float = 60.0) -> None:
        command, self.source = web_command(self.root, self.port, self.workers)
        self.watcher = self._spawn(watcher_command(self.root), "watcher.log")
        self.server = self._spawn(command, "server.log")
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server is not None and self.server.poll() is not None:
                raise RuntimeError(f"the server exited at start; see {self.log_dir / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.worker_pids()) >= self.workers:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s; see {self.log_dir}")

    def worker_pids(self) -> list[int]:
        return children(self.server.pid) if self.server is not None else []

    def server_cpu(self) -> float:
        """CPU seconds used so far by the server's process tree (master and workers)."""
        return tree_cpu_seconds(self.server.pid) if self.server else 0.0

    def watcher_cpu(self) -> float:
        return tree_cpu_seconds(self.watcher.pid) if self.watcher else 0.0

    def stop(self) -> None:
        for process in (self.server, self.watcher):
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self.logs:
            log.close()

    def describe(self) -> str:
        command, _ = web_command(self.root, self.port, self.workers)
        shown = " ".join(Path(part).name if part.startswith(str(BIN)) else part for part in command)
        return f"{shown}  ({self.source}; DJANGO_ENV=production, WEB_CONCURRENCY={self.workers}, JSON logs to a file)"
