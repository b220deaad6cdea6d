"""Per-bot API keys: creation (the key is returned once), revocation and lookup by hash.

A key is ``tc_`` followed by 43 URL-safe random characters (256 bits). Only its SHA-256 is
stored, which is enough for a key of that entropy and lets a request find its key with one
indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tradingcore import db, validation
from tradingcore.exceptions import InvalidInput, ObjectNotFound
from tradingcore.models import ApiKey

KEY_PREFIX = "tc_"
SHOWN_PREFIX_LENGTH = 10
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def create_api_key(*, name: str, user_ids: Iterable[str] = (), all_users: bool = False) -> tuple[ApiKey, str]:
    """Create a key acting for ``user_ids`` (or every user); returns the row and the key itself,
    which is never stored and cannot be shown again. Raises ``InvalidInput`` for an empty name or
    scope, or a malformed user id."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise validation.invalid("name", "1 to 100 characters")
    ids = sorted({validation.user_id(user_id) for user_id in user_ids})
    if not ids and not all_users:
        raise validation.invalid("user_ids", "give at least one user id, or all users")
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, prefix=raw_key[:SHOWN_PREFIX_LENGTH], key_hash=hash_key(raw_key), user_ids=ids,
                 all_users=all_users)  # fmt: skip
    key.full_clean()
    key.save()
    return key, raw_key


def revoke_api_keys(
    *, name: str | None = None, prefix: str | None = None, ids: Iterable[int] | None = None
) -> list[ApiKey]:
    """Revoke every active key with ``name``, starting with ``prefix``, or among ``ids`` (the
    admin's selection); returns them. Raises ``InvalidInput`` without a selector and
    ``ObjectNotFound`` when nothing matches."""
    if not name and not prefix and ids is None:
        raise InvalidInput("name the key or give its prefix")
    with transaction.atomic():
        keys = ApiKey.objects.select_for_update().filter(revoked_at=None)
        if ids is not None:
            keys = keys.filter(pk__in=list(ids))
        elif name:
            keys = keys.filter(name=name)
        else:
            keys = keys.filter(prefix=(prefix or "")[:SHOWN_PREFIX_LENGTH])
        revoked = list(keys)
        if not revoked:
            raise ObjectNotFound("no active API key matches")
        ApiKey.objects.filter(pk__in=[key.pk for key in revoked]).update(revoked_at=timezone.now())
    return revoked


def active_key(raw_key: str) -> ApiKey | None:
    """The active key for ``raw_key``, or None; refreshes ``last_used_at`` at most once a minute.
    Every request asks: one indexed SELECT compiled once (``tradingcore.db``), so a revoked key
    stops working at once."""
    found = db.select(ApiKey, where={"key_hash": hash_key(raw_key), "revoked_at": None}, limit=1)
    key = found[0] if found else None
    if key is not None:
        _touch(key)
    return key


async def aactive_key(raw_key: str) -> ApiKey | None:
    """Async ``active_key`` (for the live event stream)."""
    key = await ApiKey.objects.filter(key_hash=hash_key(raw_key), revoked_at=None).afirst()
    if key is not None and _stale(key):
        await ApiKey.objects.filter(pk=key.pk).aupdate(last_used_at=timezone.now())
    return key


def _stale(key: ApiKey) -> bool:
    return key.last_used_at is None or timezone.now() - key.last_used_at >= LAST_USED_RESOLUTION


def _touch(key: ApiKey) -> None:
    if _stale(key):
        key.last_used_at = timezone.now()
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=key.last_used_at)
