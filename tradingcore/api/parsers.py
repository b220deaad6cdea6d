"""Request bodies: JSON whose numbers are read as ``Decimal``, never through ``float``.

``123456789012.12345678`` keeps all 20 digits, and the literals ``NaN`` / ``Infinity`` that some
JSON writers emit reach the field's rule, which refuses them naming the field (400).
"""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class DecimalJSONParser(parsers.JSONParser):
    """DRF's JSON parser with ``parse_float=Decimal`` and non-finite literals kept as ``Decimal``."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream)
            return json.load(text, parse_float=Decimal, parse_constant=Decimal)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
