"""List paging: ``?limit=`` (default 100, at most 1000) and ``?offset=``, over a stable order."""

from __future__ import annotations

from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset paging with our bounds; the response is ``{count, next, previous, results}``."""

    default_limit = 100
    max_limit = 1000
