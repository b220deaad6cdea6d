"""Base class of the apps' viewsets: scope, filters, paging and serializing manager results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from tradingcore.api.authentication import Scope, scope_of

# Query parameters of every list besides its filters: paging and DRF's format override.
LIST_PARAMETERS = frozenset({"limit", "offset", "format"})


def validated(serializer_class: Any, data: Any) -> dict[str, Any]:
    """``data`` checked by ``serializer_class``; 400 naming each bad field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ScopedViewSet(viewsets.GenericViewSet):
    """A viewset whose rows are narrowed to the request's scope (``get_queryset``), filtered by its
    ``filterset_class`` and paged; subclasses define ``base_queryset`` and ``to_output``."""

    lookup_value_regex = "[^/]+"
    filterset_class: Any = None

    @property
    def scope(self) -> Scope:
        return scope_of(self.request)

    def base_queryset(self) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        return self.scope.narrow(self.base_queryset()).order_by("-created_at", "-id")

    def filtered(self, queryset: Any) -> Any:
        """The FilterSet over ``queryset``, validated (400 naming the bad query parameter; an
        unknown one, such as a misspelt filter, is refused rather than ignored)."""
        unknown = sorted(set(self.request.query_params) - set(self.filterset_class.base_filters) - LIST_PARAMETERS)
        if unknown:
            raise ValidationError({name: ["unknown query parameter"] for name in unknown})
        filterset = self.filterset_class(self.request.query_params, queryset=queryset, request=self.request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return filterset

    def to_output(self, item: Any) -> Any:
        """What the serializer reads for one row (the managers' DTO)."""
        return item

    def paged(self, items: Sequence[Any] | Any, serializer_class: Any = None) -> Response:
        """One page of ``items`` (rows or DTOs): with the viewset's own serializer through
        ``to_output``, with another ``serializer_class`` as they are."""
        page = self.paginate_queryset(items)
        assert page is not None
        if serializer_class is None:
            serializer_class, page = self.get_serializer_class(), [self.to_output(item) for item in page]
        return self.get_paginated_response(serializer_class(page, many=True).data)

    def validated(self, serializer_class: Any, request: Request, *, query: bool = False) -> dict[str, Any]:
        """The request body (or query) checked by ``serializer_class``; 400 naming each bad field."""
        return validated(serializer_class, request.query_params if query else request.data)
