"""Who a request is and whom it may act for.

Bots send ``Authorization: Bearer <key>`` (``Token <key>`` is accepted too) with a key from
``manage.py create_api_key``; staff use their admin session in the browsable API. Every view
asks ``scope_of(request)`` whom it may act for: another user's object then answers 404, never 403
and never the data, and acting for a user outside the scope is refused (403).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from tradingcore.api import keys
from tradingcore.api.errors import UserNotAllowed
from tradingcore.exceptions import ObjectNotFound
from tradingcore.models import ApiKey

SCHEMES = ("bearer", "token")


@dataclass(frozen=True)
class KeyUser:
    """``request.user`` of a request authenticated by an API key."""

    key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    @property
    def username(self) -> str:
        return self.key.actor

    def __str__(self) -> str:
        return self.key.actor


def raw_key_from_header(header: str) -> str | None:
    """The key in an ``Authorization`` value, None for another scheme; ``AuthenticationFailed``
    for a malformed value of ours."""
    parts = header.split()
    if not parts or parts[0].lower() not in SCHEMES:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <key>'")
    return parts[1]


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>`` or ``Token <key>``; a wrong or revoked key is a 401."""

    def authenticate(self, request: Request) -> tuple[KeyUser, ApiKey] | None:
        raw_key = raw_key_from_header(request.headers.get("Authorization", ""))
        if raw_key is None:
            return None
        key = keys.active_key(raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("unknown or revoked API key")
        return KeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class IsBotOrStaff(permissions.BasePermission):
    """An API key, or a staff member's session."""

    message = "an API key or a staff session is required"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (isinstance(request.auth, ApiKey) or user.is_staff))


@dataclass(frozen=True)
class Scope:
    """Whom a request may act for, and how the event log and the idempotency records name it."""

    actor: str
    owner: str
    user_ids: frozenset[str]
    all_users: bool

    def allows(self, user_id: str) -> bool:
        return self.all_users or user_id in self.user_ids

    def require(self, user_id: str) -> str:
        """``user_id`` if the scope covers it, else ``UserNotAllowed`` (403)."""
        if not self.allows(user_id):
            raise UserNotAllowed(f"this key does not act for user {user_id}", details={"user_id": ["not allowed"]})
        return user_id

    def visible(self, obj: Any) -> Any:
        """``obj`` if it belongs to a user of the scope, else ``ObjectNotFound`` (never reveal it)."""
        if not self.allows(obj.user_id):
            raise ObjectNotFound(f"{obj.id} not found")
        return obj

    def narrow(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset if self.all_users else queryset.filter(user_id__in=sorted(self.user_ids))

    def users(self, requested: Iterable[str]) -> list[str]:
        """The requested user ids the scope covers."""
        return [user_id for user_id in requested if self.allows(user_id)]


def key_scope(key: ApiKey) -> Scope:
    return Scope(actor=key.actor, owner=f"key:{key.pk}", user_ids=frozenset(key.user_ids), all_users=key.all_users)


def scope_of(request: Any) -> Scope:
    """The scope of an authenticated request (an API key's, or a staff member's: every user)."""
    if isinstance(request.auth, ApiKey):
        return key_scope(request.auth)
    user = request.user
    return Scope(actor=f"admin:{user.username}", owner=f"staff:{user.pk}", user_ids=frozenset(), all_users=True)


async def ascope_of(request: Any) -> Scope | None:
    """``scope_of`` for async Django views (no DRF): the key in the header or a staff session;
    None when neither authenticates."""
    try:
        raw_key = raw_key_from_header(request.headers.get("Authorization", ""))
    except exceptions.AuthenticationFailed:
        return None
    if raw_key is not None:
        key = await keys.aactive_key(raw_key)
        return None if key is None else key_scope(key)
    user = await request.auser()
    if user.is_authenticated and user.is_staff:
        return Scope(actor=f"admin:{user.username}", owner=f"staff:{user.pk}", user_ids=frozenset(), all_users=True)
    return None


from tradingcore.api import schema as _schema  # noqa: E402,F401 - registers the OpenAPI security scheme
