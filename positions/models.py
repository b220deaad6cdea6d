"""Positions and their event log (SPEC section 3)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, JSONField, Q, Value
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from tradingcore.decimals import PRECISE_MAX_DIGITS, PRECISE_PLACES
from tradingcore.enums import Exchange, MarginMode, PositionSide, PositionStatus, ReviewStatus
from tradingcore.fields import MoneyField, in_choices
from tradingcore.validation import MAX_GRID_LEVEL, MAX_LEVERAGE, MAX_REASON_LENGTH, MIN_GRID_LEVEL, MIN_LEVERAGE


class Position(models.Model):
    """A position of one user on one instrument and side (and grid level, for grid bots).

    ``size`` is in base currency and always positive; a closed position keeps its last size, and
    its fills and events hold the full history. At most one open position exists per (user,
    exchange, symbol, side, grid level), a NULL grid level counting as one value; the database
    enforces it. Positions change only through the services of this app (``positions.ledger``
    applies fills; ``positions.lifecycle`` opens, closes and updates).

    Every column beyond the seed schema (SPEC 3) has a database default or may be NULL, so a row
    written with the seed's columns alone is accepted: a NULL ``entry_price_precise`` means the
    entry is exactly ``entry_price``. ``version`` grows by one with every change; the Redis
    projection uses it to never let an older state overwrite a newer one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=64)
    exchange = models.CharField(max_length=32, choices=Exchange.choices)
    symbol = models.CharField(max_length=32)
    side = models.CharField(max_length=16, choices=PositionSide.choices)
    size = MoneyField()
    entry_price = MoneyField()
    # The weighted entry at 20 places, so adds and partial closes never accumulate rounding.
    entry_price_precise = models.DecimalField(
        max_digits=PRECISE_MAX_DIGITS, decimal_places=PRECISE_PLACES, null=True, blank=True
    )
    # Quantity-weighted mean of the exit fills, and their total quantity (base currency).
    exit_price = MoneyField(null=True, blank=True)
    exit_price_precise = models.DecimalField(
        max_digits=PRECISE_MAX_DIGITS, decimal_places=PRECISE_PLACES, null=True, blank=True
    )
    exit_qty = MoneyField(default=0, db_default=0)
    current_price = MoneyField(null=True, blank=True)
    leverage = models.IntegerField(
        default=1, db_default=1, validators=[MinValueValidator(MIN_LEVERAGE), MaxValueValidator(MAX_LEVERAGE)]
    )
    margin_mode = models.CharField(
        max_length=16, choices=MarginMode.choices, default=MarginMode.CROSS, db_default=MarginMode.CROSS
    )
    contract_size = MoneyField(null=True, blank=True)
    realized_pnl = MoneyField(default=0, db_default=0)
    unrealized_pnl = MoneyField(default=0, db_default=0)
    # Every fee in the settlement currency (USDT for linear swaps); a rebate lowers it.
    fees = MoneyField(default=0, db_default=0)
    # Fees charged in a currency that cannot be converted at the fill price (a platform token):
    # {currency: amount}, never added to ``fees``.
    other_fees = models.JSONField(
        default=dict, blank=True, encoder=DjangoJSONEncoder, db_default=Value({}, JSONField())
    )
    stop_loss_price = MoneyField(null=True, blank=True)
    take_profit_price = MoneyField(null=True, blank=True)
    liquidation_price = MoneyField(null=True, blank=True)
    grid_level = models.IntegerField(
        null=True, blank=True, validators=[MinValueValidator(MIN_GRID_LEVEL), MaxValueValidator(MAX_GRID_LEVEL)]
    )
    status = models.CharField(
        max_length=16, choices=PositionStatus.choices, default=PositionStatus.OPEN, db_default=PositionStatus.OPEN
    )
    close_reason = models.CharField(max_length=MAX_REASON_LENGTH, blank=True, default="", db_default="")
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder, db_default=Value({}, JSONField()))
    review_status = models.CharField(
        max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.UNREVIEWED, db_default=ReviewStatus.UNREVIEWED
    )
    reviewed_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True, default="", db_default="")
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now())
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "positions"
        ordering = ["-created_at"]
        # The admin's actions on positions, each behind its own permission (SPEC 8).
        permissions = [
            ("close_position", "Can close positions at market"),
            ("change_protection", "Can set or move stop-loss and take-profit"),
            ("review_position", "Can approve or flag positions in review"),
        ]
        indexes = [
            models.Index(fields=["user_id", "exchange"], name="positions_user_exchange_idx"),
            models.Index(fields=["status"], name="positions_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=in_choices("side", PositionSide), name="positions_side_valid"),
            models.CheckConstraint(condition=in_choices("status", PositionStatus), name="positions_status_valid"),
            models.CheckConstraint(condition=Q(size__gt=0), name="positions_size_positive"),
            models.CheckConstraint(condition=Q(entry_price__gte=0), name="positions_entry_price_non_negative"),
            models.CheckConstraint(
                condition=Q(leverage__gte=1, leverage__lte=MAX_LEVERAGE), name="positions_leverage_range"
            ),
            models.CheckConstraint(
                condition=Q(grid_level__isnull=True) | Q(grid_level__gte=0, grid_level__lte=MAX_GRID_LEVEL),
                name="positions_grid_level_range",
            ),
            models.CheckConstraint(condition=in_choices("exchange", Exchange), name="positions_exchange_valid"),
            models.UniqueConstraint(
                F("user_id"),
                F("exchange"),
                F("symbol"),
                F("side"),
                Coalesce(F("grid_level"), Value(-1)),
                condition=Q(status=PositionStatus.OPEN),
                name="positions_one_open_per_key",
                violation_error_message="an open position already exists for this user, symbol, side and grid level",
            ),
        ]

    @property
    def entry_precise(self) -> Decimal:
        """The weighted entry at full precision (``entry_price`` for a row that never had one)."""
        return self.entry_price if self.entry_price_precise is None else self.entry_price_precise

    def __str__(self) -> str:
        level = f" L{self.grid_level}" if self.grid_level is not None else ""
        return f"{self.user_id} {self.exchange} {self.symbol} {self.side}{level} {self.size} ({self.status})"


class PositionEvent(models.Model):
    """Append-only log of a position's state changes, written in the transaction of the change."""

    class Type(models.TextChoices):
        OPENED = "opened", "Opened"
        INCREASED = "increased", "Increased"
        REDUCED = "reduced", "Reduced"
        CLOSED = "closed", "Closed"
        LIQUIDATED = "liquidated", "Liquidated"
        UPDATED = "updated", "Updated"
        PROTECTION_CHANGED = "protection_changed", "Stop-loss / take-profit changed"
        PROTECTION_REFUSED = "protection_refused", "Stop-loss / take-profit refused"
        LEVERAGE_CHANGED = "leverage_changed", "Leverage changed"
        MARK_REFRESHED = "mark_refreshed", "Mark refreshed"
        REVIEWED = "reviewed", "Reviewed"
        RECONCILED = "reconciled", "Reconciled"
        IMPORTED = "imported", "Imported"

    id = models.BigAutoField(primary_key=True)
    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32, choices=Type.choices)
    parameters = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now())

    class Meta:
        db_table = "position_events"
        ordering = ["id"]
        indexes = [models.Index(fields=["position", "id"], name="position_events_position_idx")]

    def __str__(self) -> str:
        return f"{self.type} by {self.actor} at {self.created_at:%Y-%m-%d %H:%M:%S}"
