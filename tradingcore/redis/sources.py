"""Where the projection gets rows it was not handed: registered by the apps from ``AppConfig.ready()``.

``tradingcore`` sits below the apps and never imports them. A change in hand is projected from the
DTOs the services pass (``plan.PositionChange`` / ``plan.OrderChange``); the outbox drain, the
rebuild and the verification read the current state through these sources instead:

- ``load_change(entity_id, event)``: the current state of one entity as a change (None if gone);
- ``facts(user_id, now)``: what the user's keys should hold (``plan.PositionFacts`` / ``OrderFacts``);
- ``user_ids()``: every user with rows of this kind;
- ``liveness(ids)``: for the stale-key scan, a small dict per existing id (user, exchange, symbol,
  side, grid level, status, last change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from tradingcore.redis.plan import Change, UserSnapshot

POSITION = "position"
ORDER = "order"


@dataclass(frozen=True)
class Source:
    """The read side one app offers the projection for one kind of entity."""

    kind: str
    load_change: Callable[[Any, str | None], Change | None]
    facts: Callable[[str, datetime], Any]
    user_ids: Callable[[], Iterable[str]]
    liveness: Callable[[Iterable[Any]], dict[Any, dict[str, Any]]]


_SOURCES: dict[str, Source] = {}


def register(source: Source) -> None:
    """Register (or replace) the source of ``source.kind``; called from an ``AppConfig.ready()``."""
    _SOURCES[source.kind] = source


def get(kind: str) -> Source:
    """The registered source of ``kind`` ("position" / "order"); ``ImproperlyConfigured`` if none."""
    try:
        return _SOURCES[kind]
    except KeyError:
        raise ImproperlyConfigured(f"no projection source registered for {kind!r}: is its app installed?") from None


def all_user_ids() -> list[str]:
    """Every user with a position or an order, sorted."""
    users: set[str] = set()
    for kind in (POSITION, ORDER):
        users.update(get(kind).user_ids())
    return sorted(users)


def user_snapshot(user_id: str, now: datetime) -> UserSnapshot:
    """Everything ``user_id``'s keys should reflect, read through both sources."""
    return UserSnapshot(
        user_id=user_id, positions=get(POSITION).facts(user_id, now), orders=get(ORDER).facts(user_id, now)
    )
