"""Orders, their fills and their event log (SPEC section 3)."""

from __future__ import annotations

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, JSONField, Q, Value
from django.db.models.functions import Now
from django.utils import timezone

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
from tradingcore.fields import MoneyField, RandomClientOrderId, in_choices
from tradingcore.validation import (
    CLIENT_ORDER_ID_LENGTH,
    MAX_GRID_LEVEL,
    MAX_LEVERAGE,
    MAX_REASON_LENGTH,
    MIN_GRID_LEVEL,
    MIN_LEVERAGE,
    client_order_id_validator,
    new_client_order_id,
)

LIVE_STATUS_VALUES = [OrderStatus.PENDING.value, OrderStatus.OPEN.value, OrderStatus.PARTIALLY_FILLED.value]


class Order(models.Model):
    """An order we sent (or will send) to an exchange, in base-currency quantity.

    Saved ``pending`` with its client order id before the exchange is called, so a crash after the
    exchange accepted it can be recovered by that id. ``filled_qty`` only grows and never passes
    ``quantity``; the database enforces both bounds. Orders change only through
    ``orders.services``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=16, choices=OrderSide.choices)
    order_type = models.CharField(max_length=32, choices=OrderType.choices)
    quantity = MoneyField()
    price = MoneyField(null=True, blank=True)
    trigger_price = MoneyField(null=True, blank=True)
    filled_qty = MoneyField(default=0, db_default=0)
    avg_fill_price = MoneyField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_default=OrderStatus.PENDING
    )
    exchange_order_id = models.CharField(max_length=128, unique=True, null=True, blank=True)
    client_order_id = models.CharField(
        max_length=CLIENT_ORDER_ID_LENGTH,
        unique=True,
        default=new_client_order_id,
        db_default=RandomClientOrderId(),
        validators=[client_order_id_validator],
    )
    reduce_only = models.BooleanField(default=False, db_default=False)
    post_only = models.BooleanField(default=False, db_default=False)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC, db_default=TimeInForce.GTC
    )
    position = models.ForeignKey(
        "positions.Position", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    # The id the position will get when this entry opens one (so the caller can be told it now).
    opens_position_id = models.UUIDField(null=True, blank=True, editable=False)
    role = models.CharField(
        max_length=16, choices=OrderRole.choices, default=OrderRole.PLAIN, db_default=OrderRole.PLAIN
    )
    position_side = models.CharField(max_length=16, choices=PositionSide.choices, blank=True, default="", db_default="")
    margin_mode = models.CharField(
        max_length=16, choices=MarginMode.choices, default=MarginMode.CROSS, db_default=MarginMode.CROSS
    )
    contract_size = MoneyField(null=True, blank=True)
    leverage = models.IntegerField(
        null=True, blank=True, validators=[MinValueValidator(MIN_LEVERAGE), MaxValueValidator(MAX_LEVERAGE)]
    )
    reason = models.CharField(max_length=MAX_REASON_LENGTH, blank=True, default="", db_default="")
    attached_stop_loss_price = MoneyField(null=True, blank=True)
    attached_take_profit_price = MoneyField(null=True, blank=True)
    grid_level = models.IntegerField(
        null=True, blank=True, validators=[MinValueValidator(MIN_GRID_LEVEL), MaxValueValidator(MAX_GRID_LEVEL)]
    )
    fee = MoneyField(default=0, db_default=0)
    fee_currency = models.CharField(max_length=16, blank=True, default="", db_default="")
    maker_fee = MoneyField(default=0, db_default=0)
    taker_fee = MoneyField(default=0, db_default=0)
    funding_fee = MoneyField(default=0, db_default=0)
    # Fees charged in a currency other than ``fee_currency`` (the settlement currency): {currency: amount}.
    other_fees = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, db_default=Value({}, JSONField())
    )
    # How many times in a row the exchange answered "no such order" about an acknowledged order.
    exchange_misses = models.PositiveIntegerField(default=0, db_default=0)
    last_error = models.TextField(blank=True, default="", db_default="")
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, db_default=Value({}, JSONField()))
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now())
    filled_at = models.DateTimeField(null=True, blank=True)
    # When the fill watcher should poll this order next; a claim pushes it forward (a lease).
    poll_after = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        db_table = "orders"
        ordering = ["-created_at"]
        permissions = [("cancel_order", "Can cancel orders")]
        indexes = [
            models.Index(fields=["user_id", "exchange"], name="orders_user_exchange_idx"),
            models.Index(fields=["status"], name="orders_status_idx"),
            models.Index(fields=["exchange", "symbol", "status"], name="orders_market_status_idx"),
            models.Index(
                fields=["poll_after"], name="orders_live_poll_idx", condition=Q(status__in=LIVE_STATUS_VALUES)
            ),
            # Live orders of a position by role: reserved close quantity, protective orders.
            models.Index(
                fields=["position", "role"],
                name="orders_live_position_role_idx",
                condition=Q(status__in=LIVE_STATUS_VALUES),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=in_choices("side", OrderSide), name="orders_side_valid"),
            models.CheckConstraint(condition=in_choices("order_type", OrderType), name="orders_order_type_valid"),
            models.CheckConstraint(condition=in_choices("status", OrderStatus), name="orders_status_valid"),
            models.CheckConstraint(
                condition=in_choices("time_in_force", TimeInForce), name="orders_time_in_force_valid"
            ),
            models.CheckConstraint(condition=in_choices("exchange", Exchange), name="orders_exchange_valid"),
            models.CheckConstraint(condition=in_choices("role", OrderRole), name="orders_role_valid"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orders_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_qty__gte=0, filled_qty__lte=F("quantity")), name="orders_filled_qty_within_quantity"
            ),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gt=0), name="orders_price_positive"),
            models.CheckConstraint(
                condition=Q(grid_level__isnull=True)
                | Q(grid_level__gte=MIN_GRID_LEVEL, grid_level__lte=MAX_GRID_LEVEL),
                name="orders_grid_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} {self.order_type} ({self.status})"


class OrderFill(models.Model):
    """One exchange trade that filled (part of) an order. Unique on (exchange, trade id), so a
    fill reported twice is stored, and applied to the position, once."""

    id = models.BigAutoField(primary_key=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    trade_id = models.CharField(max_length=128)
    price = MoneyField()
    quantity = MoneyField()
    # The fee as the exchange charged it, in ``fee_currency``; a rebate is negative.
    fee = MoneyField(default=0, db_default=0)
    fee_currency = models.CharField(max_length=16, blank=True, default="", db_default="")
    # Every fee of the trade when there are several: [{"amount": "-0.5", "currency": "OKB"}, ...].
    fees = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder, db_default=Value([], JSONField()))
    liquidity = models.CharField(max_length=8, choices=Liquidity.choices, default=Liquidity.TAKER)
    realized_pnl = MoneyField(default=0)
    filled_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "order_fills"
        ordering = ["filled_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "trade_id"], name="order_fills_unique_trade"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_fills_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="order_fills_price_positive"),
            models.CheckConstraint(condition=in_choices("liquidity", Liquidity), name="order_fills_liquidity_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} @ {self.price} ({self.trade_id})"


class OrderEvent(models.Model):
    """Append-only log of an order's state changes, written in the transaction of the change."""

    class Type(models.TextChoices):
        CREATED = "created", "Created"
        ACKNOWLEDGED = "acknowledged", "Acknowledged by the exchange"
        PARTIALLY_FILLED = "partially_filled", "Partially filled"
        FILLED = "filled", "Filled"
        CANCEL_REQUESTED = "cancel_requested", "Cancel requested"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"
        OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown"
        RECOVERED = "recovered", "Recovered by client order id"
        RECONCILED = "reconciled", "Reconciled"
        NOT_FOUND = "not_found", "Not found on the exchange"
        INCOMPLETE_REPORT = "incomplete_report", "Incomplete report from the exchange"

    id = models.BigAutoField(primary_key=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=Type.choices)
    parameters = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "order_events"
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"], name="order_events_order_idx")]

    def __str__(self) -> str:
        return f"{self.type} by {self.actor} at {self.created_at:%Y-%m-%d %H:%M:%S}"
