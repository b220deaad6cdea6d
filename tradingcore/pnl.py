"""PnL math for linear (USDT-margined) contracts, as pure Decimal functions (SPEC section 4).

``d`` is +1 for long and -1 for short. Leverage never multiplies PnL: it only sizes the margin that
ROE divides by. Realized PnL is gross (price difference only); fees accumulate separately and the
net figure is realized + unrealized - fees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from tradingcore.decimals import ZERO, quantize, quantize_precise
from tradingcore.enums import OrderSide, PositionSide
from tradingcore.exceptions import InsufficientPosition, InvalidInput

HUNDRED = Decimal(100)


def direction(side: PositionSide | str) -> int:
    return PositionSide.parse(side).direction


def weighted_entry(size: Decimal, entry: Decimal, add_qty: Decimal, add_price: Decimal) -> Decimal:
    """Quantity-weighted mean entry after adding ``add_qty`` at ``add_price`` (full precision)."""
    total = size + add_qty
    if total <= 0:
        raise InvalidInput("the position size after the fill must be positive")
    return quantize_precise((size * entry + add_qty * add_price) / total)


def realized_on_reduce(side: PositionSide | str, qty: Decimal, exit_price: Decimal, entry: Decimal) -> Decimal:
    """Gross PnL realized by a reducing fill: d x qty x (exit - entry), rounded to 8 places."""
    return quantize(direction(side) * qty * (exit_price - entry))


def unrealized(side: PositionSide | str, size: Decimal, entry: Decimal, mark: Decimal) -> Decimal:
    """d x size x (mark - entry), rounded to 8 places."""
    return quantize(direction(side) * size * (mark - entry))


def pnl_percentage(side: PositionSide | str, entry: Decimal, mark: Decimal) -> Decimal:
    """Price change from entry to mark in percent, signed by side (the seed's meaning)."""
    if entry == 0:
        return ZERO
    return quantize(direction(side) * (mark - entry) / entry * HUNDRED)


def roe_percentage(unrealized_pnl: Decimal, entry: Decimal, size: Decimal, leverage: int) -> Decimal:
    """Return on the margin: unrealized / (entry x size / leverage) x 100."""
    with localcontext() as context:
        context.prec = 60  # a dust position's ROE can be huge; it must still quantise
        margin = entry * size / Decimal(leverage)
        if margin == 0:
            return ZERO
        return quantize(unrealized_pnl / margin * HUNDRED)


def notional(size: Decimal, price: Decimal) -> Decimal:
    return quantize(size * price)


@dataclass(frozen=True)
class PositionState:
    """The running totals of one position, advanced fill by fill."""

    side: PositionSide
    size: Decimal = ZERO
    entry_price: Decimal = ZERO  # full precision (20 places); store the 8-place rounding for display
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_notional: Decimal = ZERO

    @property
    def exit_price(self) -> Decimal | None:
        """Quantity-weighted mean of the exit fills, or None before the first one."""
        if self.exit_qty == 0:
            return None
        return quantize(self.exit_notional / self.exit_qty)


@dataclass(frozen=True)
class FillEffect:
    state: PositionState
    realized_delta: Decimal
    increased: bool


def apply_fill(
    state: PositionState, *, side: OrderSide | str, qty: Decimal, price: Decimal, fee: Decimal
) -> FillEffect:
    """Advance ``state`` by one fill: an entry-side fill increases, an exit-side fill reduces.

    The fee is accumulated whatever the side (a rebate is a negative fee). A reducing fill larger
    than the open size raises ``InsufficientPosition``: a position never flips through a fill.
    """
    if qty <= 0 or price <= 0:
        raise InvalidInput("a fill needs a positive quantity and price")
    fees = state.fees + fee
    if OrderSide.parse(side) is state.side.entry_order_side:
        entry = weighted_entry(state.size, state.entry_price, qty, price)
        new_state = replace(state, size=state.size + qty, entry_price=entry, fees=fees)
        return FillEffect(new_state, ZERO, increased=True)
    if qty > state.size:
        raise InsufficientPosition(f"a fill of {qty} exceeds the open size {state.size}")
    realized = realized_on_reduce(state.side, qty, price, state.entry_price)
    new_state = replace(
        state,
        size=state.size - qty,
        realized_pnl=state.realized_pnl + realized,
        fees=fees,
        exit_qty=state.exit_qty + qty,
        exit_notional=state.exit_notional + qty * price,
    )
    return FillEffect(new_state, realized, increased=False)


def quantize_entry(entry_precise: Decimal) -> Decimal:
    """The stored (8-place) entry price for a full-precision weighted entry."""
    return quantize(entry_precise)


@dataclass(frozen=True)
class FeeSplit:
    """A trade's fees for a position: the settlement-currency total, and what stays apart."""

    settled: Decimal  # in the settlement currency (USDT for linear swaps); a rebate is negative
    other: dict[str, Decimal]  # currency -> amount, for currencies that cannot be converted


def split_fees(fees: list[tuple[Decimal, str]], *, base: str, settle: str, price: Decimal) -> FeeSplit:
    """Sort a trade's fees (amount, currency): settlement currency (or none named) counts as is,
    the base coin is converted at the trade ``price``, any other currency (a platform token) is
    kept apart and never added to the settlement figure (SPEC 4, "Fees")."""
    settled = ZERO
    other: dict[str, Decimal] = {}
    for amount, currency in fees:
        if not currency or currency == settle:
            settled += amount
        elif currency == base:
            settled += quantize(amount * price)
        else:
            other[currency] = other.get(currency, ZERO) + amount
    return FeeSplit(settled, other)


def merge_fees(total: dict[str, Decimal], more: dict[str, Decimal]) -> dict[str, Decimal]:
    """Add ``more`` to ``total`` currency by currency (a new dict)."""
    merged = dict(total)
    for currency, amount in more.items():
        merged[currency] = merged.get(currency, ZERO) + amount
    return merged
