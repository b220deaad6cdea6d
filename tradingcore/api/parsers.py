"""Request bodies: JSON whose numbers are read as ``Decimal``, never through ``float``.

``123456789012.12345678`` keeps all 20 digits, and the literals ``NaN`` / ``Infinity`` that some
JSON writers emit reach the field's rule, which refuses them naming the field (400). A NUL
character (``\u0000``) anywhere is refused naming the top-level field: PostgreSQL can store it in
neither text nor jsonb.
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


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


def refuse_nul(data: Any) -> Any:
    """``data``, or a 400 naming the first top-level field holding a NUL character."""
    if isinstance(data, dict):
        for key, value in data.items():
            if has_nul(key) or has_nul(value):
                raise ValidationError({key.replace(NUL, "") or "body": ["NUL characters are not allowed"]})
    elif has_nul(data):
        raise ValidationError({"body": ["NUL characters are not allowed"]})
    return data


class DecimalJSONParser(parsers.JSONParser):
    """DRF's JSON parser with ``parse_float=Decimal`` and non-finite literals kept as ``Decimal``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream)
            data = json.load(text, parse_float=Decimal, parse_constant=Decimal)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        return refuse_nul(data)
