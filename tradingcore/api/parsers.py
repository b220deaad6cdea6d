"""Request bodies: JSON whose numbers are read as ``Decimal``, never through ``float``.

``123456789012.12345678`` keeps all 20 digits, and the literals ``NaN`` / ``Infinity`` that some
JSON writers emit reach the field's rule, which refuses them naming the field (400). A NUL
character (``\u0000``) anywhere is refused naming the top-level field: PostgreSQL can store it in
neither text nor jsonb. Bodies nested more than 64 levels deep are refused (400): the walk that
looks for both is a loop, and nothing else walks a body before this.
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

NUL = "\x00"
# Deeper bodies are refused before anything else walks them (metadata allows 32 levels below the body).
MAX_DEPTH = 64
TOO_DEEP = f"JSON parse error - nested more than {MAX_DEPTH} levels deep"


def _problem(value: Any, *, depth: int) -> str | None:
    """What is wrong with ``value``, found at ``depth``: ``"nul"``, ``"deep"`` or None. Walked
    without recursion, so that the depth checked is ours, never Python's stack."""
    pending = [(value, depth)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return "nul"
        elif isinstance(item, dict | list):
            if level > MAX_DEPTH:
                return "deep"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, level + 1) for child in children)
    return None


def checked(data: Any) -> Any:
    """``data``, or a 400: a NUL character (naming the top-level field holding it) or nesting
    deeper than ``MAX_DEPTH`` (a parse error)."""
    fields = data.items() if isinstance(data, dict) else [("body", data)]
    depth = 2 if isinstance(data, dict) else 1
    for key, value in fields:
        problem = "nul" if NUL in key else _problem(value, depth=depth)
        if problem == "deep":
            raise ParseError(TOO_DEEP)
        if problem == "nul":
            raise ValidationError({key.replace(NUL, "") or "body": ["NUL characters are not allowed"]})
    return data


class DecimalJSONParser(parsers.JSONParser):
    """DRF's JSON parser with ``parse_float=Decimal`` and non-finite literals kept as ``Decimal``;
    a body nested deeper than ``MAX_DEPTH`` is a parse error (400), never a ``RecursionError``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream)
            data = json.load(text, parse_float=Decimal, parse_constant=Decimal)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        return checked(data)
