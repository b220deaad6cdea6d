"""A ``ChangeSet``: everything one transaction of a service writes, saved in one statement.

The services lock their rows, change them in memory and collect here what changed (``update``),
what is new (``insert``: fills, new positions, event rows) and what Redis must show
(``project``: the DTO changes of ``tradingcore.redis.plan``). ``save()``, called last inside the
transaction, writes the rows and the outbox rows together (``tradingcore.db.write_rows``) and
arranges the projection after commit (``tradingcore.redis.outbox``). Every updated row's
``version`` advances once and its ``updated_at`` is set, whatever the number of changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from tradingcore.db import write_rows
from tradingcore.redis import outbox
from tradingcore.redis.plan import Change


@dataclass
class ChangeSet:
    """The rows and projections of one transaction. ``optimistic`` is True on a first attempt,
    when a service may insert rather than look up first (a unique index then settles a race and
    the transaction is retried with ``optimistic=False``)."""

    optimistic: bool = True
    updated: list[models.Model] = field(default_factory=list)
    inserted: list[models.Model] = field(default_factory=list)
    projections: list[Change] = field(default_factory=list)

    def update(self, row: Any) -> None:
        """``row`` (locked in this transaction) changed: its version advances, once."""
        if any(existing is row for existing in self.updated) or any(new is row for new in self.inserted):
            return
        row.version += 1
        row.updated_at = timezone.now()
        self.updated.append(row)

    def insert(self, *rows: models.Model) -> None:
        """New rows, parents before children."""
        self.inserted.extend(rows)

    def project(self, change: Change) -> None:
        """What Redis must show once the transaction commits (in this order)."""
        self.projections.append(change)

    def save(self) -> None:
        """Write everything collected in one statement, with the outbox rows of the projections;
        Redis follows after commit. Call it last, inside the transaction."""
        entries = outbox.entries(self.projections)
        write_rows(updated=self.updated, inserted=[*self.inserted, *entries])
        if self.projections:
            outbox.publish_after_commit(self.projections, entries)
