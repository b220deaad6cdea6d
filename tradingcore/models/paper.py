"""State of the paper exchange (SPEC section 5): marks, orders, fills, positions and leverage.

Everything the simulator knows lives in these tables, so it survives a restart and several
processes can share it. Quantities are in base currency, like the gateway interface; contracts
are kept next to them because orders are sized like the real instrument.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from tradingcore.decimals import PRECISE_MAX_DIGITS, PRECISE_PLACES
from tradingcore.enums import (
    Exchange,
    Liquidity,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from tradingcore.fields import MoneyField

PAPER_ORDER_ID_PREFIX = "paper-"
PAPER_TRADE_ID_PREFIX = "paper-fill-"


def _precise_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(max_digits=PRECISE_MAX_DIGITS, decimal_places=PRECISE_PLACES, **kwargs)  # type: ignore[arg-type]


class PaperMark(models.Model):
    """The simulated mark price of one instrument on one simulated exchange.

    The row is also the lock of that market's book: placing, triggering and matching on the market
    happen while holding it (``select_for_update``), so two processes never match the same book at
    once. ``price`` is null until a mark is set.
    """

    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    price = MoneyField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "paper_marks"
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol"], name="paper_mark_unique_market"),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gt=0), name="paper_mark_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange} {self.symbol} @ {self.price}"


class PaperOrder(models.Model):
    """One order on the paper exchange, from placement to its terminal state.

    ``exchange_order_id`` is derived from the primary key (``paper-<id>``). ``client_order_id`` is
    unique per exchange. Trigger-style orders wait until the mark crosses ``trigger_price`` in
    ``trigger_direction`` (``up``: the mark rises to it, ``down``: falls to it); ``triggered_at``
    records when they went live on the book.

    ``category`` tells an order of the account (``normal``) from one the exchange placed itself to
    close a position by force (``liquidation``). ``forgotten`` plays an exchange that lost track of
    an order (a test and demo control, ``paper.outside.forget``): ``order``, lookups of the order
    find nothing but its trades are still listed; ``order_and_trades``, neither is found.
    """

    class TriggerDirection(models.TextChoices):
        UP = "up", "Mark rises to the trigger"
        DOWN = "down", "Mark falls to the trigger"

    class Category(models.TextChoices):
        NORMAL = "normal", "Placed by the account"
        LIQUIDATION = "liquidation", "Placed by the exchange to liquidate a position"

    class Forgotten(models.TextChoices):
        NO = "", "Known"
        ORDER = "order", "The order is not found; its trades are listed"
        ORDER_AND_TRADES = "order_and_trades", "Neither the order nor its trades are found"

    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    client_order_id = models.CharField(max_length=64)
    side = models.CharField(max_length=8, choices=OrderSide.choices)
    order_type = models.CharField(max_length=32, choices=OrderType.choices)
    time_in_force = models.CharField(max_length=8, choices=TimeInForce.choices, default=TimeInForce.GTC)
    quantity = MoneyField()
    contracts = MoneyField()
    price = MoneyField(null=True, blank=True)
    trigger_price = MoneyField(null=True, blank=True)
    trigger_direction = models.CharField(max_length=8, choices=TriggerDirection.choices, blank=True, default="")
    triggered_at = models.DateTimeField(null=True, blank=True)
    reduce_only = models.BooleanField(default=False)
    post_only = models.BooleanField(default=False)
    position_side = models.CharField(max_length=16, choices=PositionSide.choices, blank=True, default="")
    margin_mode = models.CharField(max_length=16, choices=MarginMode.choices, default=MarginMode.CROSS)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.NORMAL)
    forgotten = models.CharField(max_length=16, choices=Forgotten.choices, blank=True, default=Forgotten.NO)
    filled_qty = MoneyField(default=Decimal(0))
    filled_notional = _precise_field(default=Decimal(0))
    fee = MoneyField(default=Decimal(0))
    fee_currency = models.CharField(max_length=16, blank=True, default="")
    reject_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "paper_orders"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "client_order_id"], name="paper_order_unique_client_id"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="paper_order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(filled_qty__gte=0) & Q(filled_qty__lte=F("quantity")), name="paper_order_filled_in_range"
            ),
        ]
        indexes = [
            models.Index(fields=["exchange", "symbol", "status"], name="paper_order_book_idx"),
            models.Index(fields=["user_id", "exchange", "status"], name="paper_order_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_order_id} {self.side} {self.quantity} {self.symbol} ({self.status})"

    @property
    def exchange_order_id(self) -> str:
        return f"{PAPER_ORDER_ID_PREFIX}{self.pk}"

    @property
    def remaining_qty(self) -> Decimal:
        return self.quantity - self.filled_qty

    @property
    def is_live(self) -> bool:
        return OrderStatus(self.status).is_live


class PaperFill(models.Model):
    """One trade of a paper order; ``trade_id`` (``paper-fill-<id>``) is unique across exchanges."""

    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="fills")
    price = MoneyField()
    quantity = MoneyField()
    fee = MoneyField(default=Decimal(0))
    fee_currency = models.CharField(max_length=16, blank=True, default="")
    liquidity = models.CharField(max_length=8, choices=Liquidity.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "paper_fills"
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="paper_fill_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.trade_id} {self.quantity} @ {self.price}"

    @property
    def trade_id(self) -> str:
        return f"{PAPER_TRADE_ID_PREFIX}{self.pk}"


class PaperPosition(models.Model):
    """The simulated position of one user on one side of one instrument, built only from paper
    fills. A flat position keeps its row with size 0."""

    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=16, choices=PositionSide.choices)
    size = MoneyField(default=Decimal(0))
    entry_price = _precise_field(default=Decimal(0))
    realized_pnl = MoneyField(default=Decimal(0))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "paper_positions"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "exchange", "symbol", "side"], name="paper_position_unique"),
            models.CheckConstraint(condition=Q(size__gte=0), name="paper_position_size_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.exchange} {self.symbol} {self.side} {self.size}"


class PaperLeverage(models.Model):
    """Leverage set on the paper exchange for one user and instrument; ``side`` empty means both
    sides (one-way mode or a hedge-mode call without a side)."""

    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=16, choices=PositionSide.choices, blank=True, default="")
    leverage = models.PositiveSmallIntegerField()
    margin_mode = models.CharField(max_length=16, choices=MarginMode.choices, default=MarginMode.CROSS)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "paper_leverage"
        constraints = [
            models.UniqueConstraint(fields=["user_id", "exchange", "symbol", "side"], name="paper_leverage_unique"),
            models.CheckConstraint(condition=Q(leverage__gte=1) & Q(leverage__lte=125), name="paper_leverage_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.exchange} {self.symbol} {self.side or 'both'} x{self.leverage}"
