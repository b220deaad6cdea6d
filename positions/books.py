"""Our size and the exchange's on one symbol, side by side, and the account's trades sorted by whose they are.

A ``Book`` is what one exchange position covers: one side of a symbol in a hedge account (our
grid levels of that side summed, since the exchange nets them), or the one net position of a
one-way account (sizes signed, long positive). ``sort_trades`` splits the account's trades on a
symbol into those of orders we hold (matched by exchange order id or client order id, or a fill we
already booked) and the outside ones (trades made on the exchange itself, liquidations); for
orders we hold it also says how much the exchange lists beyond what we booked (an order the
exchange forgot after it filled). Pure reads: nothing here writes or calls the exchange.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from orders.models import Order, OrderFill
from positions.models import Position
from tradingcore import pnl
from tradingcore.decimals import ZERO, plain
from tradingcore.enums import OrderSide, PositionMode, PositionSide
from tradingcore.exchange import ExchangeFill, ExchangePosition


@dataclass
class Book:
    """One exchange position and our open positions it covers. Sizes in base currency; for the
    net position of a one-way account (``side`` None) signed, long positive."""

    symbol: str
    side: PositionSide | None  # None: the net position of a one-way account
    positions: list[Position]
    remote: ExchangePosition | None

    @property
    def ours(self) -> Decimal:
        if self.side is not None:
            return sum((p.size for p in self.positions), ZERO)
        return sum((PositionSide(p.side).direction * p.size for p in self.positions), ZERO)

    @property
    def theirs(self) -> Decimal:
        if self.remote is None:
            return ZERO
        return self.remote.size if self.side is not None else self.remote.side.direction * self.remote.size

    @property
    def difference(self) -> Decimal:
        """What the exchange holds beyond our size (negative: less)."""
        return self.theirs - self.ours

    @property
    def label(self) -> str:
        return self.side.value if self.side is not None else "net"

    def describe(self) -> str:
        """One line for a report: ``long: 0.1 here, 0.06 there`` (plain numbers)."""
        if self.ours == 0:
            return f"{self.label} {_sized(self.theirs)} on the exchange only"
        if self.theirs == 0:
            return f"{self.label} {_sized(self.ours)} open here, none on the exchange"
        return f"{self.label}: {_sized(self.ours)} here, {_sized(self.theirs)} there"

    def effect(self, side: OrderSide | None, position_side: PositionSide | None, quantity: Decimal) -> Decimal:
        """How a trade of ``quantity`` changes this book's size (0 when it belongs to the other side)."""
        if side is None:
            return ZERO
        if self.side is None:
            return quantity if side == OrderSide.BUY else -quantity
        if position_side != self.side:
            return ZERO
        return quantity if side == self.side.entry_order_side else -quantity

    def unrealized_at(self, mark: Decimal) -> Decimal:
        """Our positions' unrealized PnL at ``mark`` (negative: they would close at a loss)."""
        return sum((pnl.unrealized(p.side, p.size, p.entry_precise, mark) for p in self.positions), ZERO)


def _sized(size: Decimal) -> str:
    if size < 0:
        return f"short {plain(-size)}"
    return plain(size)


def books_of(symbol: str, ours: list[Position], theirs: list[ExchangePosition], mode: PositionMode) -> list[Book]:
    """The books of ``symbol``: long and short in a hedge account, the net one in a one-way account
    (only those where we or the exchange hold something)."""
    ours = [p for p in ours if p.symbol == symbol]
    theirs = [p for p in theirs if p.symbol == symbol and p.size > 0]
    if mode is PositionMode.ONE_WAY:
        return [Book(symbol, None, ours, theirs[0] if theirs else None)] if ours or theirs else []
    books = []
    for side in PositionSide:
        positions = [p for p in ours if p.side == side]
        remote = next((p for p in theirs if p.side == side), None)
        if positions or remote is not None:
            books.append(Book(symbol, side, positions, remote))
    return books


@dataclass(frozen=True)
class Unbooked:
    """What the exchange lists for an order we hold beyond what the order has booked."""

    order: Order
    quantity: Decimal

    def effect_on(self, book: Book) -> Decimal:
        position_side = PositionSide(self.order.position_side) if self.order.position_side else None
        return book.effect(OrderSide(self.order.side), position_side, self.quantity)


@dataclass
class SortedTrades:
    """The account's trades on one symbol by whose they are."""

    outside: list[ExchangeFill] = field(default_factory=list)  # no order of ours explains them
    unbooked: list[Unbooked] = field(default_factory=list)  # ours, listed beyond what we booked


def sort_trades(exchange: str, trades: list[ExchangeFill]) -> SortedTrades:
    """Split ``trades`` (the account's, on one symbol, oldest first) into outside trades and what
    orders we hold have not booked yet. Two queries."""
    exchange_ids = {t.exchange_order_id for t in trades if t.exchange_order_id}
    client_ids = {t.client_order_id for t in trades if t.client_order_id}
    ours = Order.objects.filter(exchange=exchange).filter(
        Q(exchange_order_id__in=exchange_ids) | Q(client_order_id__in=client_ids)
    )
    by_exchange_id = {o.exchange_order_id: o for o in ours if o.exchange_order_id}
    by_client_id = {o.client_order_id: o for o in ours}
    booked = set(
        OrderFill.objects.filter(exchange=exchange, trade_id__in=[t.trade_id for t in trades]).values_list(
            "trade_id", flat=True
        )
    )
    result = SortedTrades()
    listed: dict[Order, Decimal] = defaultdict(Decimal)
    for trade in trades:
        order = by_exchange_id.get(trade.exchange_order_id or "") or by_client_id.get(trade.client_order_id or "")
        if order is not None:
            listed[order] += trade.quantity
        elif trade.trade_id not in booked:  # a booked trade of an order we know by another id (an OKX algo's child)
            result.outside.append(trade)
    result.unbooked = [Unbooked(o, qty - o.filled_qty) for o, qty in listed.items() if qty > o.filled_qty]
    return result
