"""Production mode (``DJANGO_ENV=production``) refuses to start with an unfit environment, listing
every problem at once, and starts when everything is set."""

from __future__ import annotations

import secrets
import subprocess
from typing import Any

import pytest

from config.checks import LOCAL_SECRET_KEY, production_problems
from tests.embedded import PYTHON, ROOT
from tests.production import production_env

STRONG_SECRET = secrets.token_urlsafe(64)
FIT: dict[str, Any] = {
    "debug": False,
    "secret_key": STRONG_SECRET,
    "encryption_key": secrets.token_urlsafe(40),
    "database_url": "postgres://trading@db.internal:5432/trading",
    "redis_url": "redis://cache.internal:6379/0",
    "allowed_hosts": ["trading.internal"],
}


def problems_with(**changes: Any) -> list[str]:
    return production_problems(**{**FIT, **changes})


def test_a_fit_production_environment_has_no_problem() -> None:
    assert problems_with() == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"debug": True}, "DJANGO_DEBUG is on"),
        ({"secret_key": ""}, "DJANGO_SECRET_KEY is not set"),
        ({"secret_key": LOCAL_SECRET_KEY}, "DJANGO_SECRET_KEY is a development key"),
        ({"secret_key": "django-insecure-" + secrets.token_urlsafe(50)}, "DJANGO_SECRET_KEY is a development key"),
        ({"secret_key": "throwaway"}, "DJANGO_SECRET_KEY is too weak"),
        ({"secret_key": "ab" * 40}, "DJANGO_SECRET_KEY is too weak"),  # long, but two characters
        ({"encryption_key": None}, "TRADING_ENCRYPTION_KEY is not set"),
        ({"encryption_key": "short-key"}, "TRADING_ENCRYPTION_KEY is too short"),
        ({"encryption_key": STRONG_SECRET}, "TRADING_ENCRYPTION_KEY equals DJANGO_SECRET_KEY"),
        ({"database_url": None}, "DATABASE_URL is not set"),
        ({"database_url": "sqlite:///var/db.sqlite3"}, "DATABASE_URL must point at PostgreSQL"),
        ({"redis_url": None}, "REDIS_URL is not set"),
        ({"allowed_hosts": []}, "DJANGO_ALLOWED_HOSTS is empty"),
    ],
)
def test_each_unfit_setting_is_refused(changes: dict[str, Any], problem: str) -> None:
    problems = problems_with(**changes)

    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_a_problem_never_shows_the_secret_it_is_about() -> None:
    weak, short = "weak-secret-value", "short-encryption"

    text = "\n".join(problems_with(secret_key=weak, encryption_key=short))

    assert weak not in text
    assert short not in text


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.django_db
def test_manage_py_refuses_to_start_listing_every_problem_without_a_traceback() -> None:
    # given production mode with nothing fit: debug on, development defaults everywhere
    environment = production_env(DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="")
    for name in ("DJANGO_SECRET_KEY", "TRADING_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"):
        del environment[name]

    # when any command starts
    result = manage("watch_orders", "--once", env=environment)

    # then it stops at once, naming every problem in one message
    assert result.returncode == 1
    assert "refusing to start with DJANGO_ENV=production" in result.stderr
    for problem in ("DJANGO_DEBUG is on", "DJANGO_SECRET_KEY is not set", "TRADING_ENCRYPTION_KEY is not set",
                    "DATABASE_URL is not set", "REDIS_URL is not set", "DJANGO_ALLOWED_HOSTS is empty"):  # fmt: skip
        assert problem in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.django_db
def test_production_settings_with_everything_set_start() -> None:
    result = manage("check", "--database", "default", env=production_env())

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
