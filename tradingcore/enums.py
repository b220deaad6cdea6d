"""Domain enumerations (SPEC section 2).

The string values are the wire and storage format and must never change. ``parse`` normalises
input from outside (API, ccxt, legacy Redis): case-insensitive, members or their values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from django.db import models

from tradingcore.exceptions import InvalidInput


class DomainChoices(models.TextChoices):
    """TextChoices with a tolerant parser shared by every domain enum."""

    @classmethod
    def parse(cls, value: Any, *, field: str | None = None) -> Self:
        """Return the member for ``value`` (a member or its value in any case), else raise."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            member = cls._value2member_map_.get(value)  # the exact value, the common case
            if member is not None:
                return member  # type: ignore[return-value]
            lowered = value.strip().lower()
            for member in cls:
                if member.value.lower() == lowered:
                    return member
        allowed = ", ".join(member.value for member in cls)
        name = field or cls.__name__
        raise InvalidInput(f"{name}: {value!r} is not one of {allowed}", details={name: [f"must be one of {allowed}"]})

    @classmethod
    def parse_optional(cls, value: Any, *, field: str | None = None) -> Self | None:
        return None if value is None or value == "" else cls.parse(value, field=field)


class Exchange(DomainChoices):
    OKX = "okx", "OKX"
    BINANCE = "binance", "Binance"
    BYBIT = "bybit", "Bybit"
    BITGET = "bitget", "Bitget"
    UPBIT = "upbit", "Upbit"
    PAPER = "paper", "Paper (built-in simulator)"


class PositionSide(DomainChoices):
    LONG = "long", "Long"
    SHORT = "short", "Short"

    @property
    def direction(self) -> int:
        """+1 for long, -1 for short: the sign every PnL formula multiplies by."""
        return 1 if self is PositionSide.LONG else -1

    @property
    def entry_order_side(self) -> OrderSide:
        return OrderSide.BUY if self is PositionSide.LONG else OrderSide.SELL

    @property
    def exit_order_side(self) -> OrderSide:
        return OrderSide.SELL if self is PositionSide.LONG else OrderSide.BUY


class PositionStatus(DomainChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    LIQUIDATED = "liquidated", "Liquidated"


class OrderSide(DomainChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class OrderType(DomainChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"
    STOP_MARKET = "stop_market", "Stop market"
    STOP_LIMIT = "stop_limit", "Stop limit"
    TRIGGER = "trigger", "Trigger"
    TAKE_PROFIT = "take_profit", "Take profit"
    STOP_LOSS = "stop_loss", "Stop loss"

    @property
    def is_triggered(self) -> bool:
        """Orders that wait for a trigger price before they become live on the book."""
        return self not in (OrderType.MARKET, OrderType.LIMIT)


class OrderStatus(DomainChoices):
    # Saved by us, not yet acknowledged by the exchange.
    PENDING = "pending", "Pending"
    # Acknowledged and resting, nothing filled.
    OPEN = "open", "Open"
    # Some quantity filled, the rest still live.
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    # Whole quantity filled. Terminal.
    FILLED = "filled", "Filled"
    # Cancelled by us, the user or the exchange, possibly after a partial fill. Terminal.
    CANCELLED = "cancelled", "Cancelled"
    # Refused by the exchange; the reason is in last_error. Terminal.
    REJECTED = "rejected", "Rejected"
    # Ended by its time in force or expiry. Terminal.
    EXPIRED = "expired", "Expired"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_ORDER_STATUSES

    @property
    def is_live(self) -> bool:
        return not self.is_terminal

    @classmethod
    def from_exchange(cls, raw: Any, *, filled: Decimal | None = None, amount: Decimal | None = None) -> OrderStatus:
        """Normalise an exchange (ccxt) status, using the fill to resolve ccxt's ambiguous words.

        ccxt ``canceled`` is ``cancelled``; ccxt ``closed`` is ``filled`` only when the whole amount
        filled, otherwise the order was cancelled after a partial fill; ``open`` with a fill is
        ``partially_filled``.
        """
        text = str(raw or "").strip().lower()
        filled = filled or Decimal(0)
        if text in {"canceled", "cancelled"}:
            return cls.CANCELLED
        if text == "closed":
            if amount is not None and filled < amount:
                return cls.CANCELLED
            return cls.FILLED
        if text == "open" and filled > 0:
            return cls.PARTIALLY_FILLED
        return cls.parse(text, field="status")


TERMINAL_ORDER_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)
LIVE_ORDER_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED})


class OrderRole(DomainChoices):
    """What an order does to its position: a fact stored with the order, never guessed later."""

    # Opens a new position (market or limit entry).
    ENTRY = "entry", "Entry"
    # Adds to an open position (DCA); the entry becomes the weighted mean.
    ADD = "add", "Add to position"
    # Closes all or part of a position at market (reserves its quantity).
    CLOSE = "close", "Close"
    # Reduce-only trigger order that protects a position against loss.
    STOP_LOSS = "stop_loss", "Stop-loss"
    # Reduce-only trigger order that takes a position's profit.
    TAKE_PROFIT = "take_profit", "Take-profit"
    # An order a caller placed through the order API, not on behalf of a position.
    PLAIN = "plain", "Plain order"
    # Trades made on the exchange outside the service, or an estimate, booked by reconciliation
    # to bring a position in line with what the exchange holds.
    ADJUSTMENT = "adjustment", "Reconciliation adjustment"
    # The exchange closed the position by force (liquidation or auto-deleverage).
    LIQUIDATION = "liquidation", "Liquidation"

    @property
    def is_protective(self) -> bool:
        return self in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class TimeInForce(DomainChoices):
    GTC = "GTC", "Good till cancelled"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"


class MarginMode(DomainChoices):
    CROSS = "cross", "Cross"
    ISOLATED = "isolated", "Isolated"


class PositionMode(DomainChoices):
    HEDGE = "hedge", "Hedge (long and short at once)"
    ONE_WAY = "one_way", "One-way"


class Liquidity(DomainChoices):
    MAKER = "maker", "Maker"
    TAKER = "taker", "Taker"


class ReviewStatus(DomainChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    APPROVED = "approved", "Approved"
    FLAGGED = "flagged", "Flagged"
