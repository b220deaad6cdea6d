"""Removal of a run's rows and keys, whatever the models look like in the tree being measured.

Bench users have unique ids (``bench-<hex>-<role>``). Every model of the project's apps with a
``user_id`` field loses that user's rows (children go with them by cascade); a model still
protected by another's reference is retried after the others, so no model names are needed and
the same code cleans today's tree and an older commit. In Redis every key whose name contains the
user id is deleted (SCAN, not KEYS); ids left in global sets (``positions:active``) are not.
"""

from __future__ import annotations

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


def delete_keys(client: redis.Redis, user_ids: list[str]) -> int:
    """Delete every key whose name contains one of the user ids; returns how many."""
    deleted = 0
    for user_id in user_ids:
        batch = list(client.scan_iter(match=f"*{user_id}*", count=1000))
        for start in range(0, len(batch), 500):
            deleted += client.delete(*batch[start : start + 500])
    return deleted
