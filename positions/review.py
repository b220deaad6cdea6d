"""Manual review of positions by operators: approve or flag a position, with a note.

The review fields (``review_status``, ``review_note``, ``reviewed_by``, ``reviewed_at``) are the
operators' record, not trading state: the Redis projection does not carry them, so a review
changes neither ``version`` nor ``updated_at`` and projects nothing (``verify_redis`` stays clean).
It is written under the row lock with a ``reviewed`` event, in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from positions import events, selectors
from positions.models import Position
from tradingcore import dto, validation
from tradingcore.enums import ReviewStatus

MAX_NOTE_LENGTH = 2000
REVIEW_FIELDS = ["review_status", "review_note", "reviewed_by", "reviewed_at"]


def review_position(position_id: Any, *, status: Any, note: str = "", reviewer: str, actor: str) -> dto.Position:
    """Set the position's review status (approved, flagged, or back to unreviewed) with a note.

    ``reviewer`` is who reviewed (the admin's username), recorded in ``reviewed_by`` with the time
    in ``reviewed_at``; ``actor`` names the event's author (``admin:<username>``). Open and closed
    positions alike may be reviewed. Raises ``InvalidInput`` for an unknown status, a flag without
    a note, a note over 2000 characters or an empty reviewer, and ``ObjectNotFound``.
    """
    decision = ReviewStatus.parse(status, field="status")
    note = (note or "").strip()
    if decision == ReviewStatus.FLAGGED and not note:
        raise validation.invalid("note", "say why the position is flagged")
    if len(note) > MAX_NOTE_LENGTH:
        raise validation.invalid("note", f"at most {MAX_NOTE_LENGTH} characters")
    if not (reviewer or "").strip():
        raise validation.invalid("reviewer", "required")
    row = selectors.position_row(position_id)
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=row.pk)
        previous = position.review_status
        position.review_status = decision
        position.review_note = note
        position.reviewed_by = reviewer.strip()[:150]
        position.reviewed_at = timezone.now()
        position.clean_fields(exclude=[f.name for f in Position._meta.fields if f.name not in REVIEW_FIELDS])
        position.save(update_fields=REVIEW_FIELDS)
        events.position_reviewed(position, actor, previous=previous).save()
    return dto.Position.from_row(position)
