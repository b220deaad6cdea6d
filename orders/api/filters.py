"""The filters of ``GET /api/v1/orders/``: the ``get_orders`` keywords and a few more."""

from __future__ import annotations

import django_filters

from orders.models import Order
from tradingcore.api.filters import IntegerFilter, MarketFilterSet
from tradingcore.enums import OrderSide, OrderStatus, OrderType
from tradingcore.validation import CLIENT_ORDER_ID_LENGTH, MAX_GRID_LEVEL, MIN_GRID_LEVEL


class OrderFilterSet(MarketFilterSet):
    """Orders by user, exchange, symbol, side, status (repeat it for several), type, grid level,
    position and client order id."""

    side = django_filters.ChoiceFilter(choices=OrderSide.choices)
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    order_type = django_filters.ChoiceFilter(choices=OrderType.choices)
    grid_level = IntegerFilter(min_value=MIN_GRID_LEVEL, max_value=MAX_GRID_LEVEL)
    position_id = django_filters.UUIDFilter()
    client_order_id = django_filters.CharFilter(max_length=CLIENT_ORDER_ID_LENGTH)

    class Meta:
        model = Order
        fields = ["user_id", "exchange", "symbol", "side", "status", "order_type", "grid_level", "position_id",
                  "client_order_id"]  # fmt: skip
