"""How every process logs: the web workers (Django, gunicorn, uvicorn), ``watch_orders``, commands.

Two formats (``LOG_FORMAT``), the same processors behind both:

- ``json`` (the production default): one JSON object per line on stderr, for example
  ``{"timestamp": "2026-12-01T10:00:00.123456Z", "level": "info", "logger": "django_structlog...",
  "event": "request_finished", "pid": 812, "request_id": "...", "code": 200, ...}``;
- ``console`` (development, ``make run`` and the tests): ``2026-12-01 10:00:00,123 INFO logger
  message key=value ...``, as readable as the plain lines before.

Our modules log through the standard library (``logging.getLogger(__name__)``); django-structlog's
request lines through structlog. Both get the context bound with ``structlog.contextvars``
merged into every line, whatever thread logs it: ``request_id`` on every line of a request (bound
by the request middleware, copied into the thread that runs a sync view), ``pass_id`` on every line
of a watcher pass. Secrets are masked on the way out (``redact_secrets``), and tracebacks are
rendered as plain text, never with their local variables.

Django reads ``logging_config()`` as ``LOGGING``, gunicorn as ``logconfig_dict`` (config/gunicorn.py),
so the server's own lines are in the same format as the application's.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"
# Fields whose value is never logged, and secrets recognisable inside any text: HTTP credentials
# ("Bearer <key>", "Token <key>", "Basic <...>") and our API keys (tc_ + 43 characters).
SECRET_FIELD = re.compile(r"authori[sz]ation|api_?key|secret|passw|passphrase|token|cookie|credential", re.IGNORECASE)
SECRET_TEXT = re.compile(r"\b(Bearer|Token|Basic)\s+[^\s'\",;]+|\btc_[A-Za-z0-9_-]{20,}")
CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
FIRST_FIELDS = ("timestamp", "level", "logger", "event")


def _scrub(text: str) -> str:
    return SECRET_TEXT.sub(lambda found: f"{found.group(1)} {REDACTED}" if found.group(1) else REDACTED, text)


def _redacted(key: Any, value: Any) -> Any:
    if SECRET_FIELD.search(str(key)):
        return REDACTED
    if isinstance(value, str):
        return _scrub(value)
    if isinstance(value, dict):
        return {inner: _redacted(inner, item) for inner, item in value.items()}
    return value


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Mask credential fields (``authorization``, ``api_key``, ``password``, ...) and credentials
    written inside messages and tracebacks."""
    return {key: _redacted(key, value) if key != "event" else _scrub(str(value)) for key, value in event_dict.items()}


def add_pid(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    event_dict["pid"] = os.getpid()
    return event_dict


def fields_in_order(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    first = {name: event_dict.pop(name) for name in FIRST_FIELDS if name in event_dict}
    return {**first, **event_dict}


def console_message(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> str:
    """The message part of a console line: the event, the bound context as key=value, the traceback
    (time, level and logger come from ``CONSOLE_FORMAT``)."""
    event = str(event_dict.pop("event", ""))
    exception = event_dict.pop("exception", None)
    for name in FIRST_FIELDS:
        event_dict.pop(name, None)
    extras = " ".join(f"{key}={value}" for key, value in event_dict.items())
    text = f"{event} {extras}" if extras else event
    return f"{text}\n{exception}" if exception else text


# Run on every line, from structlog and from the standard library alike.
SHARED_PROCESSORS: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter_config(*, json_lines: bool) -> dict[str, Any]:
    """A ``logging`` formatter (dictConfig form) rendering both kinds of records."""
    meta = structlog.stdlib.ProcessorFormatter.remove_processors_meta
    exceptions = structlog.processors.format_exc_info  # text, without local variables
    if json_lines:
        renderer: list[Processor] = [add_pid, fields_in_order, structlog.processors.JSONRenderer()]
        return {
            "()": structlog.stdlib.ProcessorFormatter,
            "foreign_pre_chain": SHARED_PROCESSORS,
            "processors": [meta, exceptions, redact_secrets, *renderer],
        }
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": SHARED_PROCESSORS,
        "processors": [meta, exceptions, redact_secrets, console_message],
        "fmt": CONSOLE_FORMAT,
    }


def logging_config(*, json_lines: bool, level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of every process: one stderr handler for everything."""
    loggers: dict[str, Any] = {
        # Django's own "django" handler would print every line a second time through the root.
        "django": {"handlers": [], "level": level, "propagate": True},
        # gunicorn's master and workers; uvicorn's workers under gunicorn take these handlers.
        "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
        "gunicorn.access": {"handlers": ["discard"], "propagate": False},
    }
    if json_lines:
        # The access line is django-structlog's request_finished, which carries the request id;
        # django.request repeats it (and request_failed's traceback) after the request's context is gone.
        loggers["uvicorn.access"] = {"handlers": ["discard"], "propagate": False}
        loggers["django.request"] = {"handlers": ["discard"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter_config(json_lines=json_lines)},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "main"},
            # A logger without any handler would fall back to logging's plain "last resort" output.
            "discard": {"class": "logging.NullHandler"},
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": loggers,
    }


def configure_structlog() -> None:
    """structlog's loggers (django-structlog's, ours) hand their lines to ``logging``'s handlers;
    Python warnings become log lines too."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    logging.captureWarnings(True)
