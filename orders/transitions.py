"""The order status transition table (SPEC section 4).

pending -> open / partially_filled / filled / cancelled / rejected / expired;
open -> partially_filled / filled / cancelled / expired;
partially_filled -> partially_filled / filled / cancelled / expired;
terminal states accept only a late fill that raises filled_qty (the status stays, or becomes
filled when the late fill completes the quantity). ``filled_qty`` never decreases.
"""

from __future__ import annotations

from decimal import Decimal

from tradingcore.enums import OrderStatus
from tradingcore.exceptions import InvalidTransition

S = OrderStatus
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED}),
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target == current or target in TRANSITIONS[current]


def next_status(current: OrderStatus, reported: OrderStatus, *, filled_qty: Decimal, quantity: Decimal) -> OrderStatus:
    """The status an order moves to when the exchange reports ``reported``.

    An exchange may report ``open`` for an order we already saw partially filled (stale read); the
    fill decides. A terminal order keeps its status unless a late fill completes it.
    """
    if current.is_terminal:
        if current != S.FILLED and quantity > 0 and filled_qty >= quantity:
            return S.FILLED
        return current
    if reported == S.OPEN and filled_qty > 0:
        reported = S.PARTIALLY_FILLED
    if reported == S.PARTIALLY_FILLED and filled_qty >= quantity:
        reported = S.FILLED
    if reported == S.PENDING:
        return current
    if current == S.PARTIALLY_FILLED and reported == S.OPEN:
        return current
    if not can_transition(current, reported):
        raise InvalidTransition(f"an order cannot move from {current.value} to {reported.value}")
    return reported


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise ``InvalidTransition`` unless ``current`` may move to ``target``."""
    if not can_transition(current, target):
        raise InvalidTransition(
            f"an order cannot move from {current.value} to {target.value}",
            details={"status": current.value, "requested": target.value},
        )
