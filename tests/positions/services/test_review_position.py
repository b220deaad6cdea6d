"""``PositionManager.review_position``: an operator approves or flags a position, with an event."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from positions.models import Position, PositionEvent
from positions.services import AsyncPositionManager, PositionManager
from tests.managers import btc, mark
from tradingcore.exceptions import InvalidInput, ObjectNotFound

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def opened():  # type: ignore[no-untyped-def]
    mark("45000")
    return PositionManager().open_position(**btc(side="long", size=Decimal("0.1")))


def test_flagging_sets_the_review_fields_and_writes_an_event_naming_the_admin(opened) -> None:  # type: ignore[no-untyped-def]
    before = Position.objects.get(pk=opened.id)

    PositionManager(actor="admin:alice").review_position(
        opened.id, status="flagged", note="size too large", reviewer="alice"
    )

    position = Position.objects.get(pk=opened.id)
    assert position.review_status == "flagged"
    assert (position.review_note, position.reviewed_by) == ("size too large", "alice")
    assert position.reviewed_at is not None
    event = PositionEvent.objects.filter(position=position).last()
    assert event is not None
    assert (event.type, event.actor) == ("reviewed", "admin:alice")
    assert event.parameters == {
        "status": "flagged", "previous": "unreviewed", "note": "size too large", "reviewed_by": "alice"
    }  # fmt: skip
    # the review is not trading state: the projection's version and time are untouched
    assert (position.version, position.updated_at) == (before.version, before.updated_at)


def test_approving_after_a_flag_records_the_previous_status(opened) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager(actor="admin:bob")
    manager.review_position(opened.id, status="flagged", note="check", reviewer="bob")

    reviewed = manager.review_position(opened.id, status="approved", reviewer="bob")

    assert reviewed.id == opened.id
    event = PositionEvent.objects.filter(position_id=opened.id, type="reviewed").last()
    assert event is not None
    assert (event.parameters["status"], event.parameters["previous"], event.parameters["note"]) == (
        "approved", "flagged", ""
    )  # fmt: skip


def test_a_flag_without_a_note_is_refused_and_changes_nothing(opened) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as caught:
        PositionManager().review_position(opened.id, status="flagged", note="  ", reviewer="alice")

    assert "note" in caught.value.details
    assert Position.objects.get(pk=opened.id).review_status == "unreviewed"
    assert not PositionEvent.objects.filter(position_id=opened.id, type="reviewed").exists()


@pytest.mark.parametrize(("status", "reviewer", "field"), [("maybe", "alice", "status"), ("approved", " ", "reviewer")])
def test_an_unknown_status_or_no_reviewer_is_refused(opened, status: str, reviewer: str, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as caught:
        PositionManager().review_position(opened.id, status=status, reviewer=reviewer)

    assert field in caught.value.details


def test_an_unknown_position_is_not_found() -> None:
    with pytest.raises(ObjectNotFound):
        PositionManager().review_position("00000000-0000-0000-0000-000000000000", status="approved", reviewer="a")


def test_the_async_manager_reviews_too(opened) -> None:  # type: ignore[no-untyped-def]
    reviewed = asyncio.run(
        AsyncPositionManager(actor="admin:carol").review_position(opened.id, status="approved", reviewer="carol")
    )

    assert reviewed.id == opened.id
    assert Position.objects.get(pk=opened.id).reviewed_by == "carol"
