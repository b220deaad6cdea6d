"""Read helpers shared by the apps' selectors."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

from tradingcore.exceptions import ObjectNotFound

M = TypeVar("M", bound=models.Model)


def owned_row(model: type[M], pk: Any, *, user_id: str | None = None) -> M:
    """The row with ``pk``, or ``ObjectNotFound``: also for a malformed id and for another user's row,
    so a caller never learns that someone else's position or order exists."""
    noun = model._meta.verbose_name
    try:
        row = model._default_manager.get(pk=pk)
    except (ObjectDoesNotExist, ValidationError, ValueError):
        raise ObjectNotFound(f"{noun} {pk} not found") from None
    if user_id is not None and getattr(row, "user_id", None) != user_id:
        raise ObjectNotFound(f"{noun} {pk} not found")
    return row
