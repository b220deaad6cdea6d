"""``make run`` is the whole service (SPEC 10): ``manage.py serve`` on the embedded defaults.

It honours HOST / PORT and prints URLs that use them, an admin login and a bot API key that work;
``/`` leads to the API docs; log lines are printed once; the fill watcher runs beside the server
(a stop that fires closes the position without anyone running ``watch_orders``); the Redis
projection survives a restart; a start that fails because the port is busy changes nothing.
"""

from __future__ import annotations

import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.embedded import (
    Launched,
    free_port,
    kill_redis_servers_of,
    launch,
    login,
    manage,
    printed_login,
    serving,
    stop,
    wait_for_http,
    wait_until_gone,
)

pytestmark = pytest.mark.slow
BTC = "BTC-USDT-SWAP"
OPEN_DEMO = {"user_id": "demo", "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1"}


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "var"
    kill_redis_servers_of(tmp_path / "var")


def started(server: Launched, base_url: str) -> str:
    """Wait until the server answers and printed its start-up text; that text."""
    wait_for_http(base_url, server, 90)
    assert wait_for(lambda: "API docs:" in server.output, 30), server.output
    return server.output


def bot_key(printed: str) -> str:
    found = re.search(r"^\s*key:\s*(tc_\S+)\s*$", printed, re.MULTILINE)
    assert found, printed
    return found.group(1)


def bot(base_url: str, key: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    session.request = lambda method, url, **kwargs: requests.Session.request(  # type: ignore[method-assign]
        session, method, f"{base_url}{url}", timeout=15, **kwargs
    )
    return session


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.25)
    return False


def test_serve_is_the_whole_service_on_host_and_port(var_dir: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    # given the service started as `make run` starts it, with HOST and PORT set
    with serving(var_dir, "serve", HOST="127.0.0.1", PORT=str(port)) as server:
        printed = started(server, base_url)
        key = bot_key(printed)
        api = bot(base_url, key)

        # then the printed URLs use HOST and PORT, / leads to the API docs, and the admin login works
        assert f"{base_url}/admin/" in printed
        assert f"{base_url}/api/docs/" in printed
        assert requests.get(base_url, timeout=10, allow_redirects=False).headers["Location"] == "/api/docs/"
        assert "swagger-ui" in requests.get(f"{base_url}/api/docs/", timeout=10).text
        assert "Site administration" in login(base_url, *printed_login(printed)).text

        # when the bot opens a position with a stop-loss and the market falls through it
        assert api.post("/api/v1/paper/marks/", json={"exchange": "okx", "symbol": BTC, "price": "45000"}).ok
        opened = api.post("/api/v1/positions/", json={**OPEN_DEMO, "stop_loss_price": "44000"})
        assert opened.status_code == 201, opened.text
        api.post("/api/v1/paper/marks/", json={"exchange": "okx", "symbol": BTC, "price": "43900"})

        # then the fill watcher running beside the server closes it, nobody running watch_orders
        position_url = f"/api/v1/positions/{opened.json()['id']}/"
        assert wait_for(lambda: api.get(position_url).json()["status"] == "closed", 20)

        # and SSE flows through the ASGI server
        with api.get("/api/v1/events/stream?user_id=demo&after=0", stream=True) as stream:
            first = next(stream.iter_lines(decode_unicode=True))
        assert first.startswith("retry:")
    output = stop(server, signal.SIGINT)

    # then each log line was printed once, and the embedded redis-server stopped with the service
    requests_logged = [line for line in output.splitlines() if '"GET /api/v1/positions/' in line]
    assert len(requests_logged) == len(set(requests_logged)) > 0
    assert output.count("embedded redis-server started") == 1, output
    assert wait_until_gone(var_dir, 10) == []


def test_a_busy_port_fails_the_start_before_the_admin_password_changes(var_dir: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    manage(var_dir, "migrate", "--no-input")
    username, password = printed_login(manage(var_dir, "bootstrap_local"))

    # given the port is taken
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        # when the service starts on it
        server = launch(var_dir, "serve", PORT=str(port))
        try:
            server.wait(timeout=60)
        finally:
            output = stop(server)

    # then it fails, saying why, and the admin password printed before still works
    assert server.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in output
    assert "password:" not in output
    with serving(var_dir, "runserver", f"127.0.0.1:{port}", "--noreload") as admin_only:
        wait_for_http(base_url, admin_only, 60)
        assert "Site administration" in login(base_url, username, password).text


def test_the_redis_projection_survives_a_restart(var_dir: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    # given a service that projected a position to its embedded Redis, then stopped
    with serving(var_dir, "serve", PORT=str(port)) as server:
        api = bot(base_url, bot_key(started(server, base_url)))
        api.post("/api/v1/paper/marks/", json={"exchange": "okx", "symbol": BTC, "price": "45000"})
        opened = api.post("/api/v1/positions/", json=OPEN_DEMO)
        assert opened.status_code == 201, opened.text
    assert wait_until_gone(var_dir, 10) == []

    # when it starts again
    with serving(var_dir, "serve", PORT=str(port)) as server:
        started(server, base_url)
    output = stop(server)

    # then Redis still held the projection (nothing had to be rebuilt) and nothing drifted
    assert "projection is missing" not in output
    assert "0 differences" in manage(var_dir, "verify_redis")
