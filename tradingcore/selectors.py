"""Read helpers shared by the apps' selectors."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import QuerySet

from tradingcore.enums import Exchange
from tradingcore.exceptions import ObjectNotFound
from tradingcore.exchange import instruments

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


def of_market(
    queryset: QuerySet[M],
    *,
    user_id: str | None = None,
    exchange: Exchange | str | None = None,
    symbol: str | None = None,
) -> QuerySet[M]:
    """``queryset`` narrowed to a user, an exchange and a symbol (native or ccxt form), each if given."""
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    if exchange is not None:
        queryset = queryset.filter(exchange=Exchange.parse(exchange, field="exchange"))
    if symbol:
        queryset = queryset.filter(symbol=instruments.native_symbol(exchange, symbol))
    return queryset
