"""The HYPERRSI compatibility routes: ``POST /position/open``, ``POST /position/close`` and
``GET /position/{user_id}``, with the old request and response shapes (``positions.api.hyperrsi``)
and the old status codes: 503 with ``Retry-After: 300`` when the account lacks the margin, 404
when there is no position, 400 for the other failures (503 with ``Retry-After`` too when the
exchange is unreachable). The same API keys authenticate them; the error body is the API's.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from positions.api import hyperrsi
from positions.services import PositionManager
from tradingcore import validation
from tradingcore.api.authentication import scope_of
from tradingcore.api.errors import UserNotAllowed, error_body, exception_handler, trading_error_response
from tradingcore.api.idempotency import derived_client_order_id, idempotent
from tradingcore.api.schema import error_responses
from tradingcore.api.views import validated
from tradingcore.enums import PositionStatus
from tradingcore.exceptions import (
    ExchangeUnavailable,
    InsufficientFunds,
    ObjectNotFound,
    OrderOutcomeUnknown,
    TradingError,
)

INSUFFICIENT_FUNDS_RETRY_SECONDS = 300
TAGS = ["hyperrsi (compatibility)"]


def compat_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The old statuses: insufficient funds 503 (``Retry-After: 300``), no position 404, an
    unreachable exchange 503, a key not acting for the user 403, every other refusal 400."""
    if isinstance(exc, InsufficientFunds):
        body = error_body(exc.code, exc.message, exc.details)
        return Response(body, status=503, headers={"Retry-After": str(INSUFFICIENT_FUNDS_RETRY_SECONDS)})
    kept = (ObjectNotFound, ExchangeUnavailable, OrderOutcomeUnknown, UserNotAllowed)
    if isinstance(exc, TradingError) and not isinstance(exc, kept):
        return Response(error_body(exc.code, exc.message, exc.details), status=400)
    if isinstance(exc, TradingError):
        return trading_error_response(exc)
    return exception_handler(exc, context)


class HyperrsiView(APIView):
    """Base of the compatibility views: old statuses, decimals as JSON numbers."""

    renderer_classes = [hyperrsi.DecimalNumberRenderer]

    def get_exception_handler(self) -> Any:
        return compat_exception_handler

    def manager(self) -> PositionManager:
        return PositionManager(actor=scope_of(self.request).actor)


class PositionsOfUserView(HyperrsiView):
    """``GET /position/{user_id}[?symbol=]``: the user's open OKX positions in ccxt's shape (404 when none)."""

    @extend_schema(
        tags=TAGS,
        summary="HYPERRSI: a user's open positions in ccxt's shape",
        parameters=[hyperrsi.HyperrsiSymbolQuerySerializer],
        responses={200: hyperrsi.HyperrsiPositionsSerializer, **error_responses(400, 404)},
    )
    def get(self, request: Request, user_id: str) -> Response:
        return self.positions_of(request, user_id)

    def positions_of(self, request: Request, user_id: str) -> Response:
        symbol = validated(hyperrsi.HyperrsiSymbolQuerySerializer, request.query_params).get("symbol")
        user_id = validation.user_id(user_id)
        if not scope_of(request).allows(user_id):
            raise ObjectNotFound("no position")
        positions = self.manager().get_positions(user_id=user_id, exchange=hyperrsi.EXCHANGE, symbol=symbol)
        if not positions:
            raise ObjectNotFound(f"no open position of user {user_id}" + (f" on {symbol}" if symbol else ""))
        answer = {
            "timestamp": timezone.now().isoformat(), "logger": "position", "position_qty": len(positions),
            "message": f"{len(positions)} open position(s) of user {user_id}",
            "data": [hyperrsi.ccxt_position(position) for position in positions],
        }  # fmt: skip
        return Response(hyperrsi.HyperrsiPositionsSerializer(answer).data)


class FixedRouteView(PositionsOfUserView):
    """A fixed route beside ``/position/{user_id}``: as the old router had it, a ``GET`` of it is
    the positions of the user named like the route (``GET /position/open`` is user "open")."""

    route: str

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:  # type: ignore[override]
        return self.positions_of(request, self.route)


class OpenPositionView(FixedRouteView):
    """``POST /position/open``: open (or add to) a position, size in contracts; the old answer."""

    route = "open"

    @extend_schema(
        tags=TAGS,
        summary="HYPERRSI: open a position (size in contracts)",
        request=hyperrsi.HyperrsiOpenSerializer,
        responses={200: hyperrsi.HyperrsiPositionSerializer, **error_responses(400, 403, 422, 503)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(hyperrsi.HyperrsiOpenSerializer, request.data)
        scope_of(request).require(data["user_id"])
        keywords = hyperrsi.open_keywords(data)
        position = self.manager().open_position(**keywords, client_order_id=derived_client_order_id(request))
        return Response(hyperrsi.HyperrsiPositionSerializer(hyperrsi.position_response(position)).data)


class ClosePositionView(FixedRouteView):
    """``POST /position/close``: close a position by user, symbol and side (contracts; all without a size)."""

    route = "close"

    @extend_schema(
        tags=TAGS,
        summary="HYPERRSI: close a position (size in contracts; all without it)",
        request=hyperrsi.HyperrsiCloseSerializer,
        responses={200: hyperrsi.HyperrsiCloseResultSerializer, **error_responses(400, 404, 422, 503)},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = validated(hyperrsi.HyperrsiCloseSerializer, request.data)
        if not scope_of(request).allows(data["user_id"]):
            raise ObjectNotFound("no such position")
        keywords = hyperrsi.close_keywords(data)
        position = self.manager().close_position(**keywords, client_order_id=derived_client_order_id(request))
        what = f"{data['symbol']} {data['side'].value} position"
        message = f"{what} closed" if position.status == PositionStatus.CLOSED else f"{what} partly closed"
        return Response({"success": True, "message": message})


open_position = OpenPositionView.as_view()
close_position = ClosePositionView.as_view()
positions_of_user = PositionsOfUserView.as_view()
