"""``projection_confirmed_seconds_ago``: how operators see that a fill watcher runs (README,
"Health and metrics")."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from orders import watcher

pytestmark = pytest.mark.django_db


def confirmed_seconds_ago() -> float:
    text = APIClient().get("/metrics").content.decode()
    found = re.search(r"^projection_confirmed_seconds_ago (\S+)$", text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


def test_the_gauge_is_small_right_after_a_watcher_pass_and_infinite_without_one() -> None:
    # given no watcher ever ran (a fresh Redis)
    assert confirmed_seconds_ago() == float("inf")

    # when a watcher pass finds the projection caught up
    assert watcher.run_pass().projection_current

    # then the gauge says it was just now
    assert confirmed_seconds_ago() < 5
