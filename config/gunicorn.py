"""The production web server: gunicorn running uvicorn workers on Django's ASGI application.

    gunicorn --config config/gunicorn.py config.asgi:application

(``web`` in the Procfile). Uvicorn workers (the ``uvicorn-worker`` package) serve ASGI, so the event
stream (``/api/v1/events/stream``, an async view) holds many clients per worker while the sync
views run in Django's request threads. Every value comes from ``config.env``:

- ``HOST`` / ``PORT``: where it listens (default 127.0.0.1:8000; ``HOST=0.0.0.0`` for all interfaces);
- ``WEB_CONCURRENCY``: worker processes (default: one per CPU);
- ``WEB_TIMEOUT``: seconds after which a worker that stopped answering its master is replaced;
- ``FORWARDED_ALLOW_IPS``: the proxies whose ``X-Forwarded-For`` / ``-Proto`` are trusted;
- ``LOG_FORMAT`` / ``LOG_LEVEL``: gunicorn's own lines are written like the application's (JSON in
  production, config/logs.py).

In production mode (``DJANGO_ENV=production``) it refuses to start, listing every problem, before
it binds the port (config/checks.py). The application is loaded once in the master and the workers
are forked from it: a killed worker is back at once, and a broken application fails the start
instead of a loop of failing workers. Anything else gunicorn knows can be added on the command line
or in ``GUNICORN_CMD_ARGS``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

METRICS_DIR_PREFIX = "tradingcore-metrics-"
# Each worker keeps its Prometheus metrics in files here and /metrics sums them (whichever worker
# answers the scrape). prometheus_client reads the variable when it is first imported, so it is set
# before anything else: a fresh directory, removed at exit, unless one was given (it must be empty).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)
METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

from config import checks, env  # noqa: E402
from config.logs import logging_config  # noqa: E402


def on_exit(server: Any) -> None:
    if Path(METRICS_DIR).name.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(METRICS_DIR, ignore_errors=True)


try:
    checks.refuse_insecure_production()
except checks.InsecureSettings as refusal:
    on_exit(None)
    sys.exit(f"error: {refusal}")

wsgi_app = "config.asgi:application"
worker_class = "uvicorn_worker.UvicornWorker"
bind = [f"[{env.HOST}]:{env.PORT}" if ":" in env.HOST else f"{env.HOST}:{env.PORT}"]
workers = env.WEB_CONCURRENCY
timeout = env.WEB_TIMEOUT
# Open event streams would hold a stopping worker until this many seconds have passed.
graceful_timeout = 10
keepalive = 5
forwarded_allow_ips = env.FORWARDED_ALLOW_IPS
preload_app = True
proc_name = "tradingcore-web"
control_socket_disable = True  # gunicorn's runtime control socket: one per user, shared by every instance


def when_ready(server: Any) -> None:
    """Import the URL configuration (every view, serializer and the schema's classes) in the master,
    before the workers are forked: their first request is then as fast as the next."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point


logconfig_dict = logging_config(json_lines=env.LOG_FORMAT == "json", level=env.LOG_LEVEL)
accesslog = None  # django-structlog's request_finished line is the access log, with the request id


def child_exit(server: Any, worker: Any) -> None:
    """A worker that died (or was replaced) leaves its counters in the sum, its live gauges not."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, path=METRICS_DIR)
