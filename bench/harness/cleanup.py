"""Removal of a run's rows and keys, whatever the models look like in the tree being measured.

Bench users have unique ids (``bench-<hex>-<role>``). Every model of the project's apps with a
``user_id`` field loses that user's rows (children go with them by cascade); a model still
protected by another's reference is retried after the others, so no model names are needed and
the same code cleans today's tree and an older commit. In Redis (SCAN, never KEYS) a key goes
when its name contains one of the user ids or has the UUID of one of their rows as a part
(``orders:{id}``), and those UUIDs leave every set (``positions:active``, live-order sets).
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

PROJECT_APPS = ("tradingcore", "positions", "orders")


def _user_models() -> list[type[models.Model]]:
    found = []
    for label in PROJECT_APPS:
        if label not in apps.app_configs:
            continue
        for model in apps.get_app_config(label).get_models():
            if any(field.name == "user_id" for field in model._meta.concrete_fields):
                found.append(model)
    return found


def _delete_some(pending: list[type[models.Model]], user_ids: list[str]) -> list[type[models.Model]]:
    blocked = []
    for model in pending:
        try:
            with transaction.atomic():
                model._default_manager.filter(user_id__in=user_ids).delete()
        except (ProtectedError, RestrictedError, IntegrityError):
            blocked.append(model)
    return blocked


def delete_rows(user_ids: list[str]) -> None:
    """Delete the users' rows in every model that has a ``user_id``; raises if some stay protected."""
    pending = _user_models()
    while pending:
        blocked = _delete_some(pending, user_ids)
        if len(blocked) == len(pending):
            names = ", ".join(model.__name__ for model in blocked)
            raise RuntimeError(f"cleanup: rows of {names} stay protected")
        pending = blocked


def row_ids(user_ids: list[str]) -> set[str]:
    """The UUID primary keys of the users' rows (what Redis keys and sets are named after)."""
    found: set[str] = set()
    for model in _user_models():
        if isinstance(model._meta.pk, models.UUIDField):
            found |= {
                str(pk) for pk in model._default_manager.filter(user_id__in=user_ids).values_list("pk", flat=True)
            }
    return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _is_theirs(key: str, user_ids: list[str], ids: set[str]) -> bool:
    return any(user_id in key for user_id in user_ids) or any(part in ids for part in key.split(":"))


def _in_batches(keys: Iterable[bytes | str], size: int = 500) -> Iterable[list[bytes | str]]:
    batch: list[bytes | str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def delete_keys(client: redis.Redis, user_ids: list[str], ids: set[str]) -> int:
    """Delete the users' keys and drop their row ids from every set; returns the keys deleted."""
    theirs = [key for key in client.scan_iter(count=1000) if _is_theirs(_text(key), user_ids, ids)]
    deleted = sum(client.delete(*batch) for batch in _in_batches(theirs))
    if ids:
        sets = list(client.scan_iter(count=1000, _type="set"))
        with client.pipeline(transaction=False) as pipe:
            for key in sets:
                pipe.srem(key, *ids)
            pipe.execute()
    return deleted
