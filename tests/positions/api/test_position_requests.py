"""Requests to ``/api/v1/positions/`` that must be refused rather than guessed at: an explicit
``"size": null`` on close, a reason that is not text, metadata keys the system maintains."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, mark
from tests.tradingcore.api.cases import client_for, error_of

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/positions/"


@pytest.fixture
def client() -> Any:
    mark("45000")
    return client_for(USER)


@pytest.fixture
def position() -> Any:
    return PositionManager().open_position(
        user_id=USER, exchange="okx", symbol=BTC, side="long", size=Decimal("0.1"), metadata={"strategy": "rsi"}
    )


def test_close_with_an_explicit_null_size_is_refused_and_closes_nothing(client: Any, position: Any) -> None:
    # given a bot whose size variable is unset; when it sends it as null
    response = client.post(f"{URL}{position.id}/close/", {"size": None}, format="json")

    # then nothing is closed and it is told how to close everything
    assert response.status_code == 400, response.content
    assert error_of(response)["details"] == {"size": ["omit size to close the whole position"]}
    assert Position.objects.get(pk=position.id).status == "open"


def test_close_without_a_size_closes_the_whole_position(client: Any, position: Any) -> None:
    response = client.post(f"{URL}{position.id}/close/", {}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["size"]) == ("closed", "0.10000000")


@pytest.mark.parametrize("reason", [123, 1.5, True, ["done"], {"why": "done"}])
def test_close_with_a_reason_that_is_not_text_is_refused(client: Any, position: Any, reason: Any) -> None:
    response = client.post(f"{URL}{position.id}/close/", {"reason": reason}, format="json")

    assert response.status_code == 400, response.content
    assert error_of(response)["details"] == {"reason": ["a string is required"]}
    assert Position.objects.get(pk=position.id).status == "open"


@pytest.mark.parametrize("key", ["entry_order_id", "pending_entry_order_id", "tp_prices", "grid_count", "legacy"])
def test_patching_a_key_the_system_maintains_is_refused_and_changes_nothing(
    client: Any, position: Any, key: str
) -> None:
    before = Position.objects.get(pk=position.id).metadata

    response = client.patch(f"{URL}{position.id}/", {"metadata": {key: "hacked", "note": "x"}}, format="json")

    assert response.status_code == 400, response.content
    assert error_of(response)["details"] == {"metadata": [f"{key}: set by the system, choose another key"]}
    assert Position.objects.get(pk=position.id).metadata == before
    assert before["entry_order_id"] != "hacked"


def test_patching_the_callers_own_keys_merges_them(client: Any, position: Any) -> None:
    response = client.patch(f"{URL}{position.id}/", {"metadata": {"strategy": "grid", "note": "x"}}, format="json")

    assert response.status_code == 200, response.content
    kept = Position.objects.get(pk=position.id).metadata
    assert (kept["strategy"], kept["note"], kept["entry_order_id"]) == (
        "grid",
        "x",
        position.metadata["entry_order_id"],
    )


def test_patches_that_each_fit_cannot_grow_the_merged_metadata_past_its_limit(client: Any, position: Any) -> None:
    chunk = "x" * 3000  # three of them fit one by one; merged they pass 8192 bytes
    answers = [
        client.patch(f"{URL}{position.id}/", {"metadata": {f"k{index}": chunk}}, format="json").status_code
        for index in range(3)
    ]

    assert answers == [200, 200, 400]
    assert "k2" not in Position.objects.get(pk=position.id).metadata
