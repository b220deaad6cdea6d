"""``watch_orders`` as the Procfile's ``watcher`` process: in production mode it prints nothing but
JSON lines, each line of a pass carrying that pass's id."""

from __future__ import annotations

import pytest

from tests.production import WATCHER, json_lines, production_env, running, wait_for_output

pytestmark = pytest.mark.slow


@pytest.mark.django_db
def test_watch_orders_logs_json_lines_with_a_pass_id_in_production() -> None:
    # given the watcher process in production mode, its pass reports at DEBUG shown
    with running([*WATCHER, "--interval", "0.2"], production_env(LOG_LEVEL="DEBUG")) as watcher:
        # when it has run a few passes and is stopped (SIGTERM)
        wait_for_output(watcher, '"event": "watch_orders pass"', 60)
        wait_for_output(watcher, '"projection_rebuilt": false', 30)

    # then every line is JSON: its start, each pass (with its own id) and its stop
    lines = json_lines(watcher.output)
    command = [line["event"] for line in lines if line["logger"] == "orders.management.commands.watch_orders"]
    assert command[0].startswith("watching orders every 0.2s")
    assert command[-1] == lines[-1]["event"] == "stopped"
    assert all(line["logger"] and line["level"] and line["timestamp"] for line in lines)
    passes = [line for line in lines if line["event"] == "watch_orders pass"]
    assert len(passes) >= 2
    assert all(line["pass_id"] for line in passes)
    assert len({line["pass_id"] for line in passes}) == len(passes)
    assert watcher.returncode == 0
