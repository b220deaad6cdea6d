"""Command one of the README works on a fresh machine (SPEC section 10).

With no DATABASE_URL and no REDIS_URL the service migrates a SQLite file under the var directory,
``bootstrap_local`` prints an admin login, and ``runserver`` serves the admin on 127.0.0.1 with an
embedded redis-server on ``<var>/redis.sock``; stopping the server leaves no redis-server behind.
``serve`` (what ``make run`` runs) is the whole service: see ``test_serve.py`` beside this file.

Everything runs in subprocesses with their own environment, so the PostgreSQL and Redis of the
test run are never touched. The servers are started so that they behave the same however the
test run itself was launched (``launch``), and never outlive a failing test.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.embedded import (
    free_port,
    kill_redis_servers_of,
    launch,
    login,
    manage,
    printed_login,
    redis_servers_of,
    serving,
    stop,
    wait_for_http,
    wait_until_gone,
)

pytestmark = pytest.mark.slow


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
    server = launch(var_dir, "runserver", f"127.0.0.1:{port}", "--noreload")
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
        output = stop(server, stop_signal)

    # then no redis-server of this var dir is left behind
    left = wait_until_gone(var_dir, 10)
    assert left == [], f"redis-server left running after runserver stopped:\n{output}"


def test_autoreloading_runserver_stopped_by_its_pid_leaves_no_redis_behind(
    bootstrapped: tuple[Path, str], var_dir: Path
) -> None:
    # given runserver with its autoreloader, as a developer runs it (a parent and a serving child)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # when a process manager stops the main process (the reloader then SIGKILLs its serving child)
    with serving(var_dir, "runserver", f"127.0.0.1:{port}") as server:
        wait_for_http(base_url, server, 60)
        assert len(redis_servers_of(var_dir)) == 1

    # then the embedded redis-server went with its owner
    assert wait_until_gone(var_dir, 10) == []
