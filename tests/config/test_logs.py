"""Log lines (config/logs.py): JSON with the bound context, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from config.logs import formatter_config

KEY = "tc_Sa9XZihDQ6TJqQloyWGzgc4xg9KK-N6T1-G-kbY49ls"


def formatter(*, json_lines: bool) -> logging.Formatter:
    config = formatter_config(json_lines=json_lines)
    factory = config.pop("()")
    return factory(**config)  # type: ignore[no-any-return]


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """What the logger ``tests.logs`` writes, through the production formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json_lines=True))
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield stream, handler
    logger.removeHandler(handler)
    logger.propagate = True


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_standard_library_line_is_json_with_the_bound_context(captured: Any) -> None:
    stream, _ = captured

    with structlog.contextvars.bound_contextvars(request_id="r-1"):
        logging.getLogger("tests.logs").warning("order %s: fill %s trimmed", "o-1", "t-9")

    [line] = lines_of(stream)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert line["event"] == "order o-1: fill t-9 trimmed"
    assert (line["level"], line["logger"], line["request_id"]) == ("warning", "tests.logs", "r-1")
    assert line["timestamp"].endswith("Z")


def test_credentials_in_fields_messages_and_tracebacks_are_masked(captured: Any) -> None:
    stream, _ = captured
    log = structlog.stdlib.get_logger("tests.logs")

    log.info("calling", api_key="plain-key", headers={"Authorization": f"Bearer {KEY}", "Accept": "json"})
    logging.getLogger("tests.logs").warning("sent Authorization: Bearer %s", KEY)
    logging.getLogger("tests.logs").warning("a bot sent %s in its body", KEY)
    password = "hunter2-the-passphrase"  # a local variable of the failing frame
    try:
        raise ValueError(f"rejected Token {KEY}")
    except ValueError:
        logging.getLogger("tests.logs").exception("placement failed")

    text = stream.getvalue()
    assert KEY not in text
    assert "plain-key" not in text
    assert password not in text
    fields, bearer, bare, failure = lines_of(stream)
    assert fields["api_key"] == "[redacted]"
    assert fields["headers"] == {"Authorization": "[redacted]", "Accept": "json"}
    assert bearer["event"] == "sent Authorization: Bearer [redacted]"
    assert bare["event"] == "a bot sent [redacted] in its body"
    assert "ValueError: rejected Token [redacted]" in failure["exception"]


def test_console_lines_stay_readable(captured: Any) -> None:
    stream, handler = captured
    handler.setFormatter(formatter(json_lines=False))

    with structlog.contextvars.bound_contextvars(pass_id="p-1"):
        logging.getLogger("tests.logs").warning("mark of %s unavailable", "okx")

    assert stream.getvalue().split(" ", 2)[2] == "WARNING tests.logs mark of okx unavailable pass_id=p-1\n"
