"""Paper positions of one user on one market: read under lock once, changed in memory, written once.

Quantities are Decimals in base currency, prices in the quote currency. The caller holds the
market's lock (``engine.lock_book``) inside one ``transaction.atomic()`` block, so nobody else
changes these rows between the read and the write. A position that never existed is created by
the first fill that opens it; a flat position keeps its row with size 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone

from tradingcore import db
from tradingcore.decimals import ZERO, quantize, quantize_precise
from tradingcore.enums import OrderSide, PositionSide
from tradingcore.models import PaperOrder, PaperPosition

_UNIQUE_FIELDS = ["user_id", "exchange", "symbol", "side"]
_STATE_FIELDS = ["size", "entry_price", "realized_pnl", "updated_at"]


def is_reducing(order: PaperOrder) -> bool:
    """``reduce_only``, or a hedge-mode order on the exit side of its ``position_side``."""
    if order.reduce_only:
        return True
    return bool(order.position_side) and order.side == PositionSide(order.position_side).exit_order_side


def reduced_side(order: PaperOrder) -> PositionSide:
    """The position side this order reduces (hedge: its ``position_side``; one-way: the opposite side)."""
    if order.position_side:
        return PositionSide(order.position_side)
    return PositionSide.SHORT if order.side == OrderSide.BUY else PositionSide.LONG


def _opened_side(order: PaperOrder) -> PositionSide:
    return PositionSide.LONG if order.side == OrderSide.BUY else PositionSide.SHORT


def touched_sides(order: PaperOrder) -> tuple[PositionSide, ...]:
    """The position sides a fill of ``order`` may change: the reduced side, the opened side, or both
    (a one-way order first nets against the opposite side)."""
    if is_reducing(order):
        return (reduced_side(order),)
    if order.position_side:
        return (_opened_side(order),)
    return reduced_side(order), _opened_side(order)


class Positions:
    """The locked positions of one user on one market, keyed by side; see ``lock``."""

    def __init__(self, order: PaperOrder, rows: Iterable[PaperPosition]) -> None:
        self._order = order
        self._rows = {PositionSide(row.side): row for row in rows}
        self._changed: dict[PositionSide, PaperPosition] = {}

    @classmethod
    def lock(cls, order: PaperOrder) -> Positions:
        """Read, locked (``select_for_update``), the rows ``order`` may change: one statement."""
        key = {"user_id": order.user_id, "exchange": order.exchange, "symbol": order.symbol,
               "side__in": [side.value for side in touched_sides(order)]}  # fmt: skip
        return cls(order, db.select(PaperPosition, where=key, lock=True))

    def size(self, side: PositionSide) -> Decimal:
        """The current size of one side in base currency (0 when there is no row)."""
        row = self._rows.get(side)
        return row.size if row is not None else ZERO

    def _row(self, side: PositionSide) -> PaperPosition:
        row = self._rows.get(side)
        if row is None:
            order = self._order
            row = PaperPosition(user_id=order.user_id, exchange=order.exchange, symbol=order.symbol, side=side.value)
            self._rows[side] = row
        return row

    def _increase(self, side: PositionSide, quantity: Decimal, price: Decimal) -> None:
        row = self._row(side)
        new_size = row.size + quantity
        row.entry_price = quantize_precise((row.entry_price * row.size + price * quantity) / new_size)
        row.size = new_size
        row.updated_at = timezone.now()
        self._changed[side] = row

    def _reduce(self, side: PositionSide, quantity: Decimal, price: Decimal) -> Decimal:
        """Reduce one side by up to ``quantity``; return how much it reduced."""
        row = self._rows.get(side)
        taken = min(quantity, row.size) if row is not None else ZERO
        if row is None or taken <= 0:
            return ZERO
        row.realized_pnl += quantize(side.direction * taken * (price - row.entry_price))
        row.size -= taken
        row.updated_at = timezone.now()
        self._changed[side] = row
        return taken

    def apply(self, quantity: Decimal, price: Decimal) -> None:
        """Apply a fill of the order (``quantity`` base at ``price``) in memory; ``save`` writes it.

        A reducing order reduces its side; a hedge-mode order opens its side; a one-way order first
        reduces the opposite side and opens its own side with the rest.
        """
        order = self._order
        if is_reducing(order):
            self._reduce(reduced_side(order), quantity, price)
            return
        if order.position_side:
            self._increase(_opened_side(order), quantity, price)
            return
        rest = quantity - self._reduce(reduced_side(order), quantity, price)
        if rest > 0:
            self._increase(_opened_side(order), rest, price)

    def save(self) -> None:
        """Write the changed rows in one upsert statement (two when a new row and an existing one changed,
        as Django inserts rows with and without a primary key apart); nothing when no row changed."""
        if not self._changed:
            return
        db.upsert_rows(list(self._changed.values()), unique_fields=_UNIQUE_FIELDS, update_fields=_STATE_FIELDS)
        self._changed.clear()
