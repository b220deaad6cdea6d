"""Request and response shapes of ``/api/v1/orders/``: the ``create_order`` keyword names.

Requests are checked for shape only (field rules from ``tradingcore.validation``, unknown fields
refused); ``OrderManager`` checks meaning (a limit needs a price, ...). Responses are built from
``dto.Order`` with the model's field names plus the computed ones; decimals are strings.
"""

from __future__ import annotations

from rest_framework import serializers

from orders.models import OrderEvent, OrderFill
from tradingcore.api.fields import (
    AmountField,
    ClientOrderIdField,
    EnumField,
    GridLevelField,
    MetadataField,
    OutputSerializer,
    StrictSerializer,
    SymbolField,
    UserIdField,
    decimal_output,
)
from tradingcore.enums import (
    Exchange,
    Liquidity,
    MarginMode,
    OrderRole,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from tradingcore.validation import ROUNDINGS


class OrderSerializer(OutputSerializer):
    """An order; quantities in base currency."""

    id = serializers.UUIDField(read_only=True)
    user_id = serializers.CharField(read_only=True)
    exchange = EnumField(Exchange, read_only=True)
    exchange_order_id = serializers.CharField(read_only=True, allow_null=True)
    client_order_id = serializers.CharField(read_only=True)
    symbol = serializers.CharField(read_only=True)
    side = EnumField(OrderSide, read_only=True)
    order_type = EnumField(OrderType, read_only=True)
    quantity = decimal_output()
    price = decimal_output(allow_null=True)
    trigger_price = decimal_output(allow_null=True)
    filled_qty = decimal_output()
    remaining_qty = decimal_output()
    fill_percentage = decimal_output()
    avg_fill_price = decimal_output(allow_null=True)
    status = EnumField(OrderStatus, read_only=True)
    is_filled = serializers.BooleanField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)
    reduce_only = serializers.BooleanField(read_only=True)
    post_only = serializers.BooleanField(read_only=True)
    time_in_force = EnumField(TimeInForce, read_only=True)
    position_id = serializers.UUIDField(read_only=True, allow_null=True)
    role = EnumField(OrderRole, read_only=True)
    position_side = EnumField(PositionSide, read_only=True, allow_null=True)
    margin_mode = EnumField(MarginMode, read_only=True)
    contract_size = decimal_output(allow_null=True)
    leverage = serializers.IntegerField(read_only=True, allow_null=True)
    grid_level = serializers.IntegerField(read_only=True, allow_null=True)
    fee = decimal_output()
    fee_currency = serializers.CharField(read_only=True)
    maker_fee = decimal_output()
    taker_fee = decimal_output()
    funding_fee = decimal_output()
    reason = serializers.CharField(read_only=True)
    last_error = serializers.CharField(read_only=True)
    metadata = serializers.DictField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    filled_at = serializers.DateTimeField(read_only=True, allow_null=True)


class CreateOrderSerializer(StrictSerializer):
    """``create_order``: market, limit (``price``) or trigger-style (``trigger_price``) orders."""

    user_id = UserIdField()
    exchange = EnumField(Exchange)
    symbol = SymbolField()
    side = EnumField(OrderSide)
    order_type = EnumField(OrderType)
    quantity = AmountField(help_text="base currency (0.1 = 0.1 BTC)")
    price = AmountField(required=False, allow_null=True)
    trigger_price = AmountField(required=False, allow_null=True)
    reduce_only = serializers.BooleanField(required=False, default=False)
    post_only = serializers.BooleanField(required=False, default=False)
    time_in_force = EnumField(TimeInForce, required=False)
    position_side = EnumField(PositionSide, required=False, help_text="hedge-mode side (default from side)")
    margin_mode = EnumField(MarginMode, required=False)
    grid_level = GridLevelField(required=False, allow_null=True)
    client_order_id = ClientOrderIdField(required=False, help_text="makes retries idempotent")
    metadata = MetadataField(required=False)
    rounding = serializers.ChoiceField(
        choices=ROUNDINGS, required=False, allow_null=True,
        help_text="a quantity off the market's lot is refused unless this asks to round it",
    )  # fmt: skip
    price_rounding = serializers.ChoiceField(
        choices=ROUNDINGS, required=False, allow_null=True,
        help_text="a price off the market's tick is refused unless this asks to round it",
    )  # fmt: skip


class OrderFillSerializer(serializers.ModelSerializer):
    """One exchange trade that filled (part of) the order."""

    price = decimal_output()
    quantity = decimal_output()
    fee = decimal_output()
    realized_pnl = decimal_output()
    liquidity = EnumField(Liquidity, read_only=True)

    class Meta:
        model = OrderFill
        fields = ["id", "trade_id", "price", "quantity", "fee", "fee_currency", "liquidity", "realized_pnl",
                  "filled_at"]  # fmt: skip
        read_only_fields = fields


class OrderEventSerializer(serializers.ModelSerializer):
    """One entry of an order's event log (append-only)."""

    class Meta:
        model = OrderEvent
        fields = ["id", "type", "parameters", "actor", "created_at"]
        read_only_fields = fields
