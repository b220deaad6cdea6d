"""The production server (config/gunicorn.py, the Procfile's ``web``) run as an operator runs it:
gunicorn with uvicorn workers in production mode, on a free port, against the test PostgreSQL and
Redis. It answers with the request id, logs nothing but JSON lines (every application line with a
request id, a bot's key never), sums the workers' metrics, and refuses an unfit environment."""

from __future__ import annotations

import subprocess
import uuid

import pytest
import requests

from tests.embedded import free_port, wait_for_http
from tests.managers import BTC, USER, mark
from tests.production import GUNICORN, json_lines, production_env, running
from tradingcore.api.keys import create_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
REQUEST_ID = "bot-7f3a:open-1"
OPEN = {"user_id": USER, "exchange": "okx", "symbol": BTC, "side": "long", "size": "0.1"}


def test_the_production_server_returns_the_request_id_and_logs_only_json_lines_carrying_it() -> None:
    mark("45000")
    _, key = create_api_key(name="probe", user_ids=[USER])
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    # given the production command with two workers
    with running(GUNICORN, production_env(PORT=str(port), WEB_CONCURRENCY="2")) as server:
        wait_for_http(base_url, server, 60)

        # when a bot opens a position with its own request id, and a client sends a malformed one
        opened = requests.post(f"{base_url}/api/v1/positions/", json=OPEN, timeout=30,
                               headers={"Authorization": f"Bearer {key}", "X-Request-ID": REQUEST_ID})  # fmt: skip
        health = requests.get(f"{base_url}/healthz", headers={"X-Request-ID": "two words\t!"}, timeout=10)
        scrapes = [requests.get(f"{base_url}/metrics", timeout=10).text for _ in range(4)]

    # then each gets an id back: its own, or a fresh UUID in place of the malformed one
    assert opened.status_code == 201, opened.text
    assert opened.headers["X-Request-ID"] == REQUEST_ID
    assert health.status_code == 200, health.text
    assert str(uuid.UUID(health.headers["X-Request-ID"])) == health.headers["X-Request-ID"]

    # and every line printed is JSON; every application line carries a request id, the bot's its own
    lines = json_lines(server.output)
    assert sum("Booting worker" in line["event"] for line in lines) == 2
    application = [line for line in lines if not line["logger"].startswith(("gunicorn.", "uvicorn."))]
    assert application, server.output
    assert all(line.get("request_id") for line in application), server.output
    finished = [line for line in application if line["request_id"] == REQUEST_ID]
    assert [(line["event"], line["code"], line["actor"]) for line in finished] == [
        ("request_finished", 201, "api:probe")
    ]
    assert finished[0]["request"] == "POST /api/v1/positions/"
    assert key not in server.output

    # and whichever worker answered the scrape, it counted the open made on either worker
    for scrape in scrapes:
        assert 'position_manager_latency_seconds_count{operation="open_position"} 1.0' in scrape


def test_the_production_server_refuses_an_unfit_environment_before_listening() -> None:
    port = free_port()
    environment = production_env(PORT=str(port), DJANGO_DEBUG="true", DJANGO_SECRET_KEY="short")
    del environment["REDIS_URL"]

    result = subprocess.run(GUNICORN, env=environment, capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode != 0
    assert "refusing to start with DJANGO_ENV=production" in result.stderr
    assert "DJANGO_DEBUG is on" in result.stderr
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr
    assert "REDIS_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Listening at" not in result.stdout + result.stderr
