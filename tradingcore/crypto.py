"""Encryption at rest for exchange credentials.

Values are Fernet tokens keyed by ``TRADING_ENCRYPTION_KEY`` (any string; a Fernet key is derived
from it). Decrypted values are wrapped in ``Secret`` so that ``str()``, ``repr()``, logging and
templates never show them; code that must send them to an exchange calls ``reveal()``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tradingcore.exceptions import ConfigurationError

MASK = "********"


class Secret:
    """A credential in memory. Shows only a mask; ``reveal()`` gives the plaintext."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self._value else "Secret('')"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[type, tuple[str]]:
        raise TypeError("secrets are not picklable")


@lru_cache(maxsize=4)
def _fernet(key_material: str) -> Fernet:
    digest = hashlib.sha256(key_material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _key() -> Fernet:
    material = settings.TRADING_ENCRYPTION_KEY
    if not material:
        if settings.DEBUG or settings.EMBEDDED:
            material = settings.SECRET_KEY
        else:
            raise ImproperlyConfigured("TRADING_ENCRYPTION_KEY must be set to store exchange credentials")
    return _fernet(material)


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _key().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _key().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ConfigurationError("stored credentials cannot be decrypted with TRADING_ENCRYPTION_KEY") from None
