"""The exchange gateway interface and the DTOs that cross it (SPEC section 5).

Everything above this line sees base-currency quantities, native upper-case symbols, our enums and
our exceptions (``tradingcore.exceptions``). Implementations convert to and from the exchange's
units (contracts) and vocabulary. Gateways are synchronous and never run inside a database
transaction of ours: the exchange is slow and unreliable and sits outside every transaction.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

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
from tradingcore.exceptions import InvalidOrder


@dataclass(frozen=True)
class MarketInfo:
    """One instrument: how base quantity maps to the exchange's contracts, and its precision."""

    exchange: Exchange
    symbol: str  # native id, upper case: BTC-USDT-SWAP
    unified_symbol: str  # ccxt form: BTC/USDT:USDT
    base: str
    quote: str
    settle: str
    contract_size: Decimal  # base units per contract (1 for spot-like instruments)
    amount_step: Decimal  # smallest contract increment
    price_step: Decimal
    min_amount: Decimal  # minimum order size, in contracts
    contract: bool = True
    linear: bool = True

    def to_contracts(self, quantity: Decimal) -> Decimal:
        """Base quantity to contracts, rounded down to the amount step; refuses what rounds below
        the minimum (or to zero) with ``InvalidOrder``."""
        contracts = (quantity / self.contract_size / self.amount_step).to_integral_value(ROUND_DOWN) * self.amount_step
        if contracts <= 0 or contracts < self.min_amount:
            minimum = self.to_base(max(self.min_amount, self.amount_step))
            raise InvalidOrder(
                f"{quantity} {self.base} is below the minimum order size of {minimum} {self.base} "
                f"({self.min_amount} contracts of {self.contract_size}) on {self.exchange} {self.symbol}",
                details={"quantity": [f"minimum is {minimum}"]},
            )
        if contracts == contracts.to_integral_value():
            return contracts.quantize(Decimal(1))  # 300, never 3E+2
        return contracts

    def to_base(self, contracts: Decimal) -> Decimal:
        return contracts * self.contract_size

    def round_price(self, price: Decimal) -> Decimal:
        return (price / self.price_step).to_integral_value() * self.price_step


@dataclass(frozen=True)
class OrderRequest:
    """What the managers ask a gateway to place. ``quantity`` is in base currency.

    ``contracts``, when set, is the exchange-side size already computed once from the market
    (``MarketInfo.to_contracts``) by the caller: the gateway sends exactly that many contracts and
    does not convert ``quantity`` again. When None the gateway converts ``quantity`` itself.
    """

    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    client_order_id: str
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    position_side: PositionSide | None = None  # hedge mode: which side the order opens or closes
    margin_mode: MarginMode = MarginMode.CROSS
    contracts: Decimal | None = None

    def contracts_on(self, market: MarketInfo) -> Decimal:
        """The size in contracts: ``contracts`` when the caller computed it, else converted once here."""
        return self.contracts if self.contracts is not None else market.to_contracts(self.quantity)


@dataclass(frozen=True)
class ExchangeFill:
    """One trade of an order as the exchange reports it. ``quantity`` is in base currency."""

    trade_id: str
    price: Decimal
    quantity: Decimal
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    liquidity: Liquidity = Liquidity.TAKER
    timestamp: datetime | None = None


@dataclass(frozen=True)
class ExchangeOrder:
    """An order's state on the exchange. Quantities are in base currency.

    ``fills`` lists the trades the gateway could see; it may be empty while ``filled_qty`` is
    positive (some exchanges report only aggregates), and callers then derive the fill from the
    change in ``filled_qty`` and ``avg_fill_price``.
    """

    exchange_order_id: str
    client_order_id: str | None
    symbol: str
    side: OrderSide
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_qty: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    reduce_only: bool = False
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    fills: tuple[ExchangeFill, ...] = field(default_factory=tuple)
    timestamp: datetime | None = None
    reject_reason: str = ""


@dataclass(frozen=True)
class ExchangePosition:
    """A position as the exchange holds it. ``size`` is in base currency."""

    symbol: str
    side: PositionSide
    size: Decimal
    contracts: Decimal
    entry_price: Decimal
    mark_price: Decimal | None = None
    leverage: int | None = None
    unrealized_pnl: Decimal | None = None
    liquidation_price: Decimal | None = None
    margin_mode: MarginMode = MarginMode.CROSS


class ExchangeGateway(abc.ABC):
    """One exchange account seen through our types. Every method may raise a subclass of
    ``tradingcore.exceptions.ExchangeError``: ``ExchangeUnavailable`` / ``RateLimited``
    (retryable), ``OrderOutcomeUnknown``, ``OrderRejected`` and its kinds, ``ExchangeOrderNotFound``.
    """

    exchange: Exchange

    @abc.abstractmethod
    def market(self, symbol: str) -> MarketInfo:
        """The instrument for a native id or a ccxt unified symbol; ``BadSymbol`` if unlisted."""

    def normalize_symbol(self, symbol: str) -> str:
        """The native upper-case id for a native or unified symbol."""
        return self.market(symbol).symbol

    @abc.abstractmethod
    def place_order(self, request: OrderRequest) -> ExchangeOrder:
        """Place an order carrying ``request.client_order_id``.

        Never places twice: when the outcome of a placement is unknown (a timeout), the gateway
        looks the order up by client id; found, it returns it; not found, it raises
        ``OrderOutcomeUnknown`` and the caller retries only with the same client id.
        """

    @abc.abstractmethod
    def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """Cancel a live order and return its final state (fills that raced the cancel included)."""

    @abc.abstractmethod
    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> ExchangeOrder:
        """The order's current state, by exchange id or client id; ``ExchangeOrderNotFound`` if none."""

    @abc.abstractmethod
    def fetch_open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        """Live orders (trigger orders included), of one symbol or all."""

    @abc.abstractmethod
    def fetch_positions(self, symbols: list[str] | None = None) -> list[ExchangePosition]:
        """Non-empty positions, of the given symbols or all."""

    @abc.abstractmethod
    def fetch_mark_price(self, symbol: str) -> Decimal:
        """The current mark price."""

    @abc.abstractmethod
    def set_leverage(
        self,
        symbol: str,
        leverage: int,
        *,
        margin_mode: MarginMode = MarginMode.CROSS,
        side: PositionSide | None = None,
    ) -> None:
        """Set the leverage used for new orders on ``symbol`` (per side in hedge mode on OKX)."""
