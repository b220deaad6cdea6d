"""Request and response shapes of ``/api/v1/positions/``: the managers' keyword names.

Requests are checked for shape only (field rules from ``tradingcore.validation``, unknown fields
refused); the managers and the database check meaning. Responses are built from the managers'
``dto.Position`` with the model's field names plus the computed ones; decimals are strings.
"""

from __future__ import annotations

from rest_framework import serializers

from positions.models import PositionEvent
from tradingcore.api.fields import (
    AmountField,
    ClientOrderIdField,
    EnumField,
    GridLevelField,
    LeverageField,
    MetadataField,
    OutputSerializer,
    StrictSerializer,
    SymbolField,
    TextField,
    UserIdField,
    decimal_output,
)
from tradingcore.enums import Exchange, MarginMode, PositionSide, PositionStatus
from tradingcore.validation import MAX_REASON_LENGTH, ROUNDINGS


def rounding_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=ROUNDINGS, required=False, allow_null=True,
        help_text="a size off the market's lot is refused unless this asks to round it (the order keeps the asked size "
        "in metadata.requested_quantity)",
    )  # fmt: skip


def price_rounding_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=ROUNDINGS, required=False, allow_null=True,
        help_text="a price off the market's tick is refused unless this asks to round it",
    )  # fmt: skip


class PositionSerializer(OutputSerializer):
    """A position (sizes in base currency) with its PnL at its last mark."""

    id = serializers.UUIDField(read_only=True)
    user_id = serializers.CharField(read_only=True)
    exchange = EnumField(Exchange, read_only=True)
    symbol = serializers.CharField(read_only=True)
    side = EnumField(PositionSide, read_only=True)
    size = decimal_output(help_text="base currency; a closed position keeps its last size")
    entry_price = decimal_output()
    current_price = decimal_output(allow_null=True, help_text="last mark")
    exit_price = decimal_output(allow_null=True)
    leverage = serializers.IntegerField(read_only=True)
    stop_loss_price = decimal_output(allow_null=True)
    take_profit_price = decimal_output(allow_null=True)
    liquidation_price = decimal_output(allow_null=True)
    margin_mode = EnumField(MarginMode, read_only=True)
    contract_size = decimal_output(allow_null=True, help_text="base units per exchange contract")
    status = EnumField(PositionStatus, read_only=True)
    grid_level = serializers.IntegerField(read_only=True, allow_null=True)
    metadata = serializers.DictField(read_only=True)
    close_reason = serializers.CharField(read_only=True)
    realized_pnl = decimal_output(source="pnl_info.realized_pnl")
    unrealized_pnl = decimal_output(source="pnl_info.unrealized_pnl")
    fees = decimal_output(source="pnl_info.fees")
    total_pnl = decimal_output(source="pnl_info.total_pnl", help_text="realized + unrealized")
    net_pnl = decimal_output(source="pnl_info.net_pnl", help_text="realized + unrealized - fees")
    pnl_percentage = decimal_output(help_text="price change in percent, signed by side")
    roe_percentage = decimal_output(source="pnl_info.roe_percentage")
    notional_value = decimal_output(help_text="size times the mark (the entry while no mark is known)")
    is_open = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class OpenPositionSerializer(StrictSerializer):
    """``open_position``: a market entry, or a limit entry with ``entry_price``; adds to an open
    position with the same user, exchange, symbol, side and grid level."""

    user_id = UserIdField()
    exchange = EnumField(Exchange)
    symbol = SymbolField()
    side = EnumField(PositionSide)
    size = AmountField(help_text="base currency (0.1 = 0.1 BTC)")
    leverage = LeverageField(
        required=False,
        help_text="omitted: the open position's (an add), else 1; a new one applies to the whole position",
    )
    entry_price = AmountField(required=False, allow_null=True, help_text="limit entry; omitted: market")
    stop_loss_price = AmountField(required=False, allow_null=True)
    take_profit_price = AmountField(required=False, allow_null=True)
    grid_level = GridLevelField(required=False, allow_null=True)
    margin_mode = EnumField(MarginMode, required=False)
    metadata = MetadataField(required=False)
    client_order_id = ClientOrderIdField(required=False, help_text="the entry order's id; makes retries idempotent")
    rounding = rounding_field()
    price_rounding = price_rounding_field()


class ClosePositionSerializer(StrictSerializer):
    """``close_position`` at market: all of it without ``size``, else that much (base currency); an
    explicit ``"size": null`` is refused (a bot's unset variable must not close everything)."""

    size = AmountField(required=False, error_messages={"null": "omit size to close the whole position"})
    reason = TextField(required=False, allow_blank=True, max_length=MAX_REASON_LENGTH, default="")
    client_order_id = ClientOrderIdField(required=False, help_text="the closing order's id")


class UpdatePositionSerializer(StrictSerializer):
    """``update_position``: a field left out is unchanged; ``null`` removes a stop-loss or take-profit."""

    stop_loss_price = AmountField(required=False, allow_null=True)
    take_profit_price = AmountField(required=False, allow_null=True)
    metadata = MetadataField(required=False, help_text="merged into the position's metadata")
    exit_if_triggered = serializers.BooleanField(
        required=False, default=False,
        help_text="a stop-loss / take-profit already through the mark closes the position at market instead of "
        "being refused",
    )  # fmt: skip
    price_rounding = price_rounding_field()


class PnLQuerySerializer(serializers.Serializer):
    """``calculate_pnl`` at ``price`` (default: the position's last mark)."""

    price = AmountField(required=False)


class PositionPnLSerializer(serializers.Serializer):
    """PnL of a position at one price (leverage never multiplies PnL)."""

    price = decimal_output(allow_null=True, help_text="the price used (null: no mark known yet)")
    realized_pnl = decimal_output(source="pnl.realized_pnl")
    unrealized_pnl = decimal_output(source="pnl.unrealized_pnl")
    fees = decimal_output(source="pnl.fees")
    total_pnl = decimal_output(source="pnl.total_pnl")
    net_pnl = decimal_output(source="pnl.net_pnl")
    pnl_percentage = decimal_output(source="pnl.pnl_percentage")
    roe_percentage = decimal_output(source="pnl.roe_percentage")


class PositionEventSerializer(serializers.ModelSerializer):
    """One entry of a position's event log (append-only)."""

    class Meta:
        model = PositionEvent
        fields = ["id", "type", "parameters", "actor", "created_at"]
        read_only_fields = fields
