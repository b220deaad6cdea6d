"""The load and fault suite in miniature (``make loadtest`` runs it in full: 50 bots for 60 s):
a few careful bots for a few seconds over HTTP against two production servers (gunicorn with
uvicorn workers) and two fill watchers, on the test database and a redis-server of the run's own
(``make test`` installs redis-server), while Redis restarts and a watcher and an API worker are
killed; then every check of the suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.report import print_report
from loadtest.suite import ALL_FAULTS, Plan, Suite

pytestmark = pytest.mark.django_db(transaction=True)

MINIATURE = Plan(
    seconds=10.0, bots=4, api_servers=2, workers=1, watchers=2, faults=ALL_FAULTS, think=(0.2, 0.5),
    redis_downtime=1.0, watcher_downtime=1.0, settle_seconds=90.0, answer_seconds=60.0,
)  # fmt: skip


def test_a_few_bots_through_every_fault_lose_duplicate_and_drift_nothing(tmp_path: Path) -> None:
    # given two API servers and two watchers, and a few bots trading through them
    suite = Suite(MINIATURE, tmp_path)

    # when Redis restarts, a watcher and an API worker are killed while they trade
    result = suite.run()

    # then every check passes: nothing lost, nothing duplicated, nothing drifted
    report: list[str] = []
    print_report(result, out=report.append)
    assert result.ok, "\n".join(report) + f"\nlogs: {tmp_path}"
    assert len(result.journal.calls) > 0
    happened = "\n".join(result.timeline)
    for fault in ("redis started again", "watcher-1 restarted", "master replaced it"):
        assert fault in happened, happened
    assert {check.name for check in result.checks} >= {
        "no lost order",
        "no duplicated order",
        "verify_redis reports no drift",
    }
