"""``PaperGateway``: the gateway interface served by the paper exchange (SPEC section 5)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from tradingcore.enums import Exchange, MarginMode, PositionSide
from tradingcore.exceptions import ExchangeOrderNotFound, InvalidInput, InvalidOrder
from tradingcore.exchange.base import (
    ExchangeGateway,
    ExchangeOrder,
    ExchangePosition,
    MarketInfo,
    OrderRequest,
)
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.paper import placement
from tradingcore.exchange.paper.book import get_mark
from tradingcore.exchange.paper.describe import describe_order, describe_position
from tradingcore.exchange.paper.engine import LIVE_STATUSES
from tradingcore.exchange.paper.leverage import store_leverage
from tradingcore.models import PaperLeverage, PaperMark, PaperOrder, PaperPosition
from tradingcore.models.paper import PAPER_ORDER_ID_PREFIX


class PaperGateway(ExchangeGateway):
    """One user's account on a simulated exchange.

    ``exchange`` is ``paper`` or, in dry-run, the real exchange's name: orders are then sized with
    that exchange's contract sizes from the built-in instrument table and kept apart from the other
    exchanges. All state lives in PostgreSQL, so a new instance (or a new process) sees the same
    orders, fills, positions and marks. Marks move only through ``set_mark`` (command, admin, API,
    the watcher's random walk).
    """

    def __init__(self, exchange: Exchange | str, user_id: str) -> None:
        self.exchange = Exchange.parse(exchange, field="exchange")
        self.user_id = user_id

    def __repr__(self) -> str:
        return f"<PaperGateway {self.exchange.value} user={self.user_id!r}>"

    def market(self, symbol: str) -> MarketInfo:
        """The instrument from the built-in table; ``BadSymbol`` if unlisted."""
        return get_market(self.exchange, symbol)

    def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """Place the order and return its state after what executed at once.

        Market orders fill at the mark (plus slippage) as taker; a marketable limit fills at once as
        taker, otherwise it rests; trigger-style orders rest until the mark crosses the trigger.
        Idempotent per client order id: placing the same client id again for the same order returns
        the existing order and creates nothing. Raises ``BadSymbol``, ``InvalidOrder`` (quantity
        below the minimum, post-only that would cross, reduce-only that would increase, client id
        used by another order, trigger on the wrong side of the mark) and ``PaperMarkMissing``.
        """
        placed = placement.place(self.user_id, self.market(request.symbol), request)
        return describe_order(placed.order, placed.fills)

    def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """Cancel a live order; ``OrderNotCancellable`` if it already ended, ``ExchangeOrderNotFound``
        if the user has no such order."""
        market = self.market(symbol)
        with transaction.atomic():
            order = self._find(market, exchange_order_id, client_order_id, lock=True)
            placement.cancel(order)
        return describe_order(order)

    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """The order's current state with its fills; ``ExchangeOrderNotFound`` if the user has none."""
        return describe_order(self._find(self.market(symbol), exchange_order_id, client_order_id, lock=False))

    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """The user's live orders (waiting trigger orders included), oldest first."""
        orders = PaperOrder.objects.filter(user_id=self.user_id, exchange=self.exchange.value, status__in=LIVE_STATUSES)
        if symbol is not None:
            orders = orders.filter(symbol=self.market(symbol).symbol)
        return [describe_order(order) for order in orders.order_by("id")]

    def fetch_positions(self, symbols: list[str] | None = None) -> list[ExchangePosition]:
        """The user's non-empty paper positions, sizes in base currency, valued at the current mark."""
        positions = PaperPosition.objects.filter(user_id=self.user_id, exchange=self.exchange.value, size__gt=0)
        if symbols is not None:
            positions = positions.filter(symbol__in=[self.market(symbol).symbol for symbol in symbols])
        marks = dict(PaperMark.objects.filter(exchange=self.exchange.value).values_list("symbol", "price"))
        leverage = {
            (row.symbol, row.side): row
            for row in PaperLeverage.objects.filter(user_id=self.user_id, exchange=self.exchange.value)
        }
        return [
            describe_position(
                position,
                self.market(position.symbol),
                marks.get(position.symbol),
                leverage.get((position.symbol, position.side)) or leverage.get((position.symbol, "")),
            )
            for position in positions.order_by("symbol", "side")
        ]

    def fetch_mark_price(self, symbol: str) -> Decimal:
        """The simulated mark; ``PaperMarkMissing`` if none was set for this exchange and symbol."""
        return get_mark(self.exchange, symbol)

    def set_leverage(
        self,
        symbol: str,
        leverage: int,
        *,
        margin_mode: MarginMode = MarginMode.CROSS,
        side: PositionSide | None = None,
    ) -> None:
        """Record the leverage (1 to 125) for ``symbol``, per side when ``side`` is given.

        One statement; a call that repeats the stored leverage and margin mode changes nothing.
        Raises ``InvalidOrder`` for a leverage out of range, ``BadSymbol`` for an unlisted symbol.
        """
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= 125:
            raise InvalidOrder(f"leverage must be an integer from 1 to 125, not {leverage!r}")
        store_leverage(
            user_id=self.user_id,
            exchange=self.exchange,
            symbol=self.market(symbol).symbol,
            side=PositionSide.parse(side) if side is not None else None,
            leverage=leverage,
            margin_mode=MarginMode.parse(margin_mode),
        )

    def _find(
        self, market: MarketInfo, exchange_order_id: str | None, client_order_id: str | None, *, lock: bool
    ) -> PaperOrder:
        if exchange_order_id is None and client_order_id is None:
            raise InvalidInput("exchange_order_id or client_order_id is required")
        orders = PaperOrder.objects.filter(user_id=self.user_id, exchange=self.exchange.value, symbol=market.symbol)
        if lock:
            orders = orders.select_for_update()
        if exchange_order_id is not None:
            number = exchange_order_id.removeprefix(PAPER_ORDER_ID_PREFIX)
            orders = (
                orders.filter(pk=int(number)) if number.isdigit() and number != exchange_order_id else orders.none()
            )
        if client_order_id is not None:
            orders = orders.filter(client_order_id=client_order_id)
        order = orders.first()
        if order is None:
            raise ExchangeOrderNotFound(
                f"no paper order {exchange_order_id or client_order_id!r} for user {self.user_id!r} "
                f"on {self.exchange.value} {market.symbol}",
                details={"exchange_order_id": exchange_order_id, "client_order_id": client_order_id},
            )
        return order
