"""``/api/v1/orders/``: list, retrieve, create, cancel, open orders, fills and the event log.

Each handler validates, calls one ``OrderManager`` method (or a selector for a paged read) and
serializes; the error body and statuses come from ``tradingcore.api.errors``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from orders import selectors
from orders.api.filters import OrderFilterSet
from orders.api.serializers import CreateOrderSerializer, OrderEventSerializer, OrderFillSerializer, OrderSerializer
from orders.models import Order
from orders.services import OrderManager
from tradingcore import dto
from tradingcore.api.idempotency import derived_client_order_id, idempotent
from tradingcore.api.schema import error_responses
from tradingcore.api.views import ScopedViewSet
from tradingcore.enums import LIVE_ORDER_STATUSES


class OrderViewSet(ScopedViewSet):
    """Orders of the users the API key acts for; quantities in base currency."""

    queryset = Order.objects.none()  # the schema's model; rows come from get_queryset
    serializer_class = OrderSerializer
    filterset_class = OrderFilterSet

    def base_queryset(self) -> Any:
        return selectors.order_queryset()

    def to_output(self, item: Any) -> dto.Order:
        return item if isinstance(item, dto.Order) else dto.Order.from_row(item)

    def manager(self) -> OrderManager:
        return OrderManager(actor=self.scope.actor)

    def visible_order(self, pk: Any) -> dto.Order:
        """The order, or 404 when it is unknown or of a user outside the key's scope."""
        return self.scope.visible(self.manager().get_order(pk))

    @extend_schema(summary="List orders", responses={200: OrderSerializer(many=True), **error_responses(400)})
    def list(self, request: Request) -> Response:
        """Newest first."""
        return self.paged(self.filtered(self.get_queryset()).qs)

    @extend_schema(summary="Get an order", responses={200: OrderSerializer, **error_responses(404)})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(OrderSerializer(self.visible_order(pk)).data)

    @extend_schema(
        summary="Place an order",
        request=CreateOrderSerializer,
        responses={201: OrderSerializer, **error_responses(400, 403, 409, 422, 503)},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        """Saved ``pending`` with its client order id, then sent; the answer is the order as the
        exchange acknowledged (and maybe filled) it. 503 with ``Retry-After`` when the exchange is
        unreachable or did not answer: the order then waits, ``pending``, to be looked up by its
        client order id, and a retry with the same key or ``client_order_id`` never places it twice."""
        data = self.validated(CreateOrderSerializer, request)
        self.scope.require(data["user_id"])
        data.setdefault("client_order_id", derived_client_order_id(request))
        order = self.manager().create_order(**data)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel an order",
        request=None,
        responses={200: OrderSerializer, **error_responses(404, 409, 422, 503)},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str) -> Response:
        """409 for an order already filled, cancelled, rejected or expired (or still being placed)."""
        order = self.visible_order(pk)
        return Response(OrderSerializer(self.manager().cancel_order(order.id)).data)

    @extend_schema(summary="List live orders", responses={200: OrderSerializer(many=True), **error_responses(400)})
    @action(detail=False, methods=["get"])
    def open(self, request: Request) -> Response:
        """Orders still pending, open or partially filled (``get_open_orders``), newest first."""
        live = self.get_queryset().filter(status__in=list(LIVE_ORDER_STATUSES))
        return self.paged(self.filtered(live).qs)

    @extend_schema(summary="Fills of an order", responses={200: OrderFillSerializer(many=True), **error_responses(404)})
    @action(detail=True, methods=["get"], filterset_class=None)
    def fills(self, request: Request, pk: str) -> Response:
        order = self.visible_order(pk)
        return self.paged(selectors.order_fills(order.id), OrderFillSerializer)

    @extend_schema(
        summary="Event log of an order", responses={200: OrderEventSerializer(many=True), **error_responses(404)}
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def events(self, request: Request, pk: str) -> Response:
        """Every state change, oldest first, with who made it."""
        order = self.visible_order(pk)
        return self.paged(selectors.order_events(order.id), OrderEventSerializer)
