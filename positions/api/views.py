"""``/api/v1/positions/``: list, retrieve, open, close, PnL at a price, stop-loss / take-profit
update and the event log. Each handler validates, calls one ``PositionManager`` method (or a
selector for a paged read) and serializes; the error body and statuses come from
``tradingcore.api.errors``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from positions import selectors
from positions.api.filters import PositionFilterSet
from positions.api.serializers import (
    ClosePositionSerializer,
    OpenPositionSerializer,
    PnLQuerySerializer,
    PositionEventSerializer,
    PositionPnLSerializer,
    PositionSerializer,
    UpdatePositionSerializer,
)
from positions.models import Position
from positions.services import PositionManager
from tradingcore import dto
from tradingcore.api.idempotency import derived_client_order_id, idempotent
from tradingcore.api.schema import error_responses
from tradingcore.api.views import ScopedViewSet


class PositionViewSet(ScopedViewSet):
    """Positions of the users the API key acts for; sizes in base currency."""

    queryset = Position.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = PositionSerializer
    filterset_class = PositionFilterSet

    def base_queryset(self) -> Any:
        return selectors.position_queryset(status=None)

    def to_output(self, item: Any) -> dto.Position:
        return item if isinstance(item, dto.Position) else dto.Position.from_row(item)

    def manager(self) -> PositionManager:
        return PositionManager(actor=self.scope.actor)

    def visible_position(self, pk: Any) -> dto.Position:
        """The position, or 404 when it is unknown or of a user outside the key's scope."""
        return self.scope.visible(self.manager().get_position(pk))

    @extend_schema(summary="List positions", responses={200: PositionSerializer(many=True), **error_responses(400)})
    def list(self, request: Request) -> Response:
        """Every status unless ``status`` is given, newest first. One user's open positions on one
        exchange (``user_id``, ``exchange``, ``status=open``) are read from the Redis projection."""
        filterset = self.filtered(Position.objects.none())  # the rows' query is built only when needed
        question = filterset.projection_question()
        if question is not None and self.scope.allows(question["user_id"]):
            return self.paged(self.manager().get_positions(**question))
        return self.paged(filterset.filter_queryset(self.get_queryset()))

    @extend_schema(summary="Get a position", responses={200: PositionSerializer, **error_responses(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(PositionSerializer(self.visible_position(pk)).data)

    @extend_schema(
        summary="Open or add to a position",
        request=OpenPositionSerializer,
        responses={201: PositionSerializer, **error_responses(400, 403, 409, 422, 503)},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """A market entry (or a limit entry with ``entry_price``); adds to the open position with the
        same key (the entry becomes the weighted mean). While a limit entry rests, the answer is the
        position it will open (size 0) with ``metadata.pending_entry_order_id``."""
        data = self.validated(OpenPositionSerializer, request)
        self.scope.require(data["user_id"])
        data.setdefault("client_order_id", derived_client_order_id(request))
        position = self.manager().open_position(**data)
        return Response(PositionSerializer(position).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Close all or part of a position at market",
        request=ClosePositionSerializer,
        responses={200: PositionSerializer, **error_responses(400, 404, 409, 422, 503)},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def close(self, request: Request, pk: str) -> Response:
        """Closes ``size`` (base currency), or everything without it; 409 when more is asked than is
        open and not already being closed."""
        data = self.validated(ClosePositionSerializer, request)
        position = self.visible_position(pk)
        data.setdefault("client_order_id", derived_client_order_id(request))
        closed = self.manager().close_position(position.id, **data)
        return Response(PositionSerializer(closed).data)

    @extend_schema(
        summary="Change stop-loss / take-profit or metadata",
        request=UpdatePositionSerializer,
        responses={200: PositionSerializer, **error_responses(400, 404, 409, 503)},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """The protective orders on the exchange are replaced (the new one placed before the old
        one is cancelled); ``null`` removes one."""
        data = self.validated(UpdatePositionSerializer, request)
        position = self.visible_position(pk)
        return Response(PositionSerializer(self.manager().update_position(position.id, **data)).data)

    @extend_schema(
        summary="PnL of a position at a price",
        parameters=[PnLQuerySerializer],
        responses={200: PositionPnLSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["get"])
    def pnl(self, request: Request, pk: str) -> Response:
        price = self.validated(PnLQuerySerializer, request, query=True).get("price")
        position = self.visible_position(pk)
        result = {"price": price or position.current_price, "pnl": self.manager().calculate_pnl(position, price)}
        return Response(PositionPnLSerializer(result).data)

    @extend_schema(
        summary="Event log of a position", responses={200: PositionEventSerializer(many=True), **error_responses(404)}
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request: Request, pk: str) -> Response:
        """Every state change, oldest first, with who made it (``api:<key>``, ``admin:<user>``, ``system:...``)."""
        position = self.visible_position(pk)
        return self.paged(selectors.position_events(position.id), PositionEventSerializer)
