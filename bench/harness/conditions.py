"""The conditions a run was measured under: machine, software versions, server settings, code tree."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import django
import psycopg
import redis
from django.conf import settings
from django.db import connection


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB RAM"
    except (OSError, ValueError):
        pass
    return "RAM unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was besides the benchmark."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def _postgres() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), current_setting('fsync'), "
            "current_setting('synchronous_commit'), current_setting('full_page_writes')"
        )
        version, fsync, sync_commit, full_page_writes = cursor.fetchone()
    where = connection.settings_dict.get("HOST") or "unix socket"
    return {
        "postgresql": f"{version} at {where}:{connection.settings_dict.get('PORT') or ''}",
        "postgresql_settings": f"fsync={fsync} synchronous_commit={sync_commit} full_page_writes={full_page_writes}",
    }


def _redis() -> dict[str, str]:
    url = str(settings.REDIS_URL)
    version = redis.Redis.from_url(url).info("server")["redis_version"]
    parts = urlsplit(url)
    where = parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port} db {parts.path.strip('/') or 0}"
    return {"redis": f"{version} over {parts.scheme} ({where})"}


def _trading_settings() -> str:
    names = [name for name in dir(settings) if name.startswith("TRADING_") and name.endswith("_WRITE")]
    flags = [f"{name.removeprefix('TRADING_').lower()}={getattr(settings, name)}" for name in sorted(names)]
    return f"DEBUG={settings.DEBUG}, Redis layouts: {', '.join(flags) or 'none configured'}"


def _code(root: Path, label: str | None) -> str:
    try:
        revision = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = "no git metadata"
    return f"{label or root.name} ({root}, {revision})"


def collect(*, code_root: Path, label: str | None, iterations: int, counted: int) -> dict[str, str]:
    """Everything a reader needs to compare two runs, as printable strings."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": _code(code_root, label),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {_cpu_model()}, {_memory()}, "
        f"{platform.system()} {platform.release()}",
        "load average": f"{load_average()} (1, 5, 15 min) at the start",
        "python": f"{platform.python_version()}, Django {django.get_version()}, psycopg {psycopg.__version__} "
        f"(libpq {psycopg.pq.version()}, {psycopg.pq.__impl__}), redis-py {redis.__version__}",
        **_postgres(),
        **_redis(),
        "settings": _trading_settings(),
        "n": f"{iterations} timed calls per row after a warm-up; counts averaged over {counted} more calls",
    }


def print_conditions(values: dict[str, str]) -> None:
    for name, value in values.items():
        print(f"  {name + ':':<22}{value}")
