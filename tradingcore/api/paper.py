"""``POST /api/v1/paper/marks/``: set the mark of a simulated market (the paper exchange, or any
exchange in dry-run), as ``manage.py set_paper_price`` does.

The mark moves the whole simulated market (crossed triggers fire, crossed limits fill), so only
staff and keys acting for every user may set it. The fills reach positions through the fill
watcher (``watch_orders``, running beside ``make run``).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from tradingcore.api.authentication import scope_of
from tradingcore.api.errors import UserNotAllowed
from tradingcore.api.fields import AmountField, EnumField, StrictSerializer, SymbolField, decimal_output
from tradingcore.api.schema import error_responses
from tradingcore.api.views import validated
from tradingcore.enums import Exchange
from tradingcore.exceptions import InvalidInput
from tradingcore.exchange import paper
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.registry import is_simulated


class SetPaperMarkSerializer(StrictSerializer):
    """The market (native id or ccxt form) and its new mark."""

    exchange = EnumField(Exchange)
    symbol = SymbolField()
    price = AmountField()


class PaperMarkSerializer(serializers.Serializer):
    """The mark set, and how many simulated fills it caused."""

    exchange = EnumField(Exchange, read_only=True)
    symbol = serializers.CharField(read_only=True)
    price = decimal_output()
    fills = serializers.IntegerField(read_only=True, help_text="simulated fills the move caused")


@extend_schema(
    summary="Set a simulated mark price",
    request=SetPaperMarkSerializer,
    responses={201: PaperMarkSerializer, **error_responses(400, 403)},
)
@api_view(["POST"])
def set_paper_mark(request: Request) -> Response:
    """Set the mark and match the simulated book; 403 unless staff or a key acting for every user."""
    data = validated(SetPaperMarkSerializer, request.data)
    if not scope_of(request).all_users:
        raise UserNotAllowed("only staff and keys acting for every user move a simulated market")
    exchange, price = data["exchange"], data["price"]
    if not is_simulated(exchange):
        raise InvalidInput(f"{exchange.value} is not simulated", details={"exchange": ["not simulated"]})
    market = get_market(exchange, data["symbol"])
    fills = paper.set_mark(market.exchange, market.symbol, price)
    result = {"exchange": market.exchange, "symbol": market.symbol, "price": price, "fills": len(fills)}
    return Response(PaperMarkSerializer(result).data, status=status.HTTP_201_CREATED)
