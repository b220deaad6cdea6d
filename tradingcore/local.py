"""The local logins of an embedded run (``make run``): an admin and a bot API key, made fresh at
each start and printed once. Never used against a configured ``DATABASE_URL`` (the callers check).
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.utils import timezone

from tradingcore.api.keys import create_api_key
from tradingcore.models import ApiKey

LOCAL_BOT_KEY_NAME = "local-bot"


def reset_local_admin(username: str = "admin") -> tuple[str, bool]:
    """Create (or reset) a superuser with a new random password; returns it and whether the user is new."""
    password = secrets.token_urlsafe(12)
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True}
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return password, created


def new_local_bot_key() -> str:
    """A new key acting for every user; the previous local bot keys are revoked (their text is lost)."""
    ApiKey.objects.filter(name=LOCAL_BOT_KEY_NAME, revoked_at=None).update(revoked_at=timezone.now())
    return create_api_key(name=LOCAL_BOT_KEY_NAME, all_users=True)[1]
