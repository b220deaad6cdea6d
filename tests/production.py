"""Helpers for the tests that run the production processes as an operator would: the production
server (config/gunicorn.py) and ``watch_orders``, as subprocesses in production mode against the
test PostgreSQL database and Redis, stopped with their whole process group however the test ends."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.embedded import PYTHON, ROOT, Launched, _as_if_from_a_terminal

# The Procfile's web process, as the README gives it.
GUNICORN = [PYTHON, "-m", "gunicorn", "--config", "config/gunicorn.py", "config.asgi:application"]
WATCHER = [PYTHON, "manage.py", "watch_orders"]


def database_url() -> str:
    """The test database (the one pytest-django created), as a DATABASE_URL."""
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
    return f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


def production_env(**overrides: str) -> dict[str, str]:
    """A production environment that passes every check, on the test database and Redis."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "LOG_", "WEB_", "PROMETHEUS_"))
    }
    return {
        **inherited,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "TRADING_ENCRYPTION_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        **overrides,
    }


def stop_group(process: Launched, seconds: float = 20) -> str:
    """SIGTERM to the process (gunicorn's master stops its workers), then SIGKILL to whatever of its
    process group is left; everything it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.lines.append(f"[killed: did not stop within {seconds}s of SIGTERM]\n")
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.reader.join(timeout=10)
    return process.output


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str]) -> Iterator[Launched]:
    """``command`` in a process group of its own for the block, stopped however the block ends."""
    process = Launched(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_as_if_from_a_terminal,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop_group(process)


def wait_for_output(process: Launched, text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in process.output:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{text!r} not printed within {seconds}s:\n{stop_group(process)}")
        time.sleep(0.1)


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line of ``output`` as a JSON object; fails naming the first line that is not one."""
    lines = []
    for line in output.splitlines():
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}\n\n{output}")
        assert isinstance(parsed, dict), line
        lines.append(parsed)
    return lines
