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
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from tradingcore.decimals import plain
from tradingcore.enums import (
    Exchange,
    Liquidity,
    MarginMode,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    TimeInForce,
)
from tradingcore.exceptions import InvalidOrder

ROUNDINGS = {"down": ROUND_DOWN, "up": ROUND_UP, "nearest": ROUND_HALF_UP}


@dataclass(frozen=True)
class MarketInfo:
    """One instrument: how base quantity maps to the exchange's contracts, and its precision.

    Only linear derivatives (USDT-margined swaps and futures) are modelled: a gateway refuses
    any other kind by name (``UnsupportedInstrument``) rather than reading it as one.
    """

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

    @property
    def lot(self) -> Decimal:
        """The smallest size step in base currency (one amount step of contracts)."""
        return self.contract_size * self.amount_step

    def lots_for(self, quantity: Decimal, *, rounding: str | None = None, field: str = "size") -> Decimal:
        """The contracts for ``quantity`` (base currency), which must be a whole number of lots.

        A size off the lot grid is refused with ``InvalidOrder`` naming the nearest valid sizes,
        unless ``rounding`` ("down", "up" or "nearest") asks to round it; a size below the minimum
        is refused either way. Nothing is sent or saved when it raises.
        """
        steps = quantity / self.lot
        if steps != steps.to_integral_value():
            if rounding is None:
                raise self._off_grid(quantity, steps, field)
            steps = steps.to_integral_value(ROUNDINGS[rounding])
        contracts = steps * self.amount_step
        self._check_minimum(quantity, contracts, field)
        return contracts.quantize(Decimal(1)) if contracts == contracts.to_integral_value() else contracts.normalize()

    def _off_grid(self, quantity: Decimal, steps: Decimal, field: str) -> InvalidOrder:
        lower = steps.to_integral_value(ROUND_DOWN) * self.lot
        upper = steps.to_integral_value(ROUND_UP) * self.lot
        minimum = max(self.min_amount, self.amount_step) * self.contract_size
        nearest = [size for size in (lower, upper) if size >= minimum]
        sizes = " or ".join(f"{plain(size)} {self.base}" for size in nearest)
        return InvalidOrder(
            f"{field} {plain(quantity)} {self.base} is not a whole number of lots of {plain(self.lot)} {self.base} "
            f"on {self.exchange} {self.symbol}: send {sizes}, or ask for rounding",
            details={field: [f"a multiple of {plain(self.lot)}; nearest: {', '.join(plain(s) for s in nearest)}"]},
        )

    def _check_minimum(self, quantity: Decimal, contracts: Decimal, field: str) -> None:
        if contracts > 0 and contracts >= self.min_amount:
            return
        minimum = self.to_base(max(self.min_amount, self.amount_step))
        raise InvalidOrder(
            f"{field} {plain(quantity)} {self.base} is below the minimum order size of {plain(minimum)} {self.base} "
            f"({plain(self.min_amount)} contracts of {plain(self.contract_size)}) on {self.exchange} {self.symbol}",
            details={field: [f"minimum is {plain(minimum)}"]},
        )

    def price_on_grid(self, price: Decimal, *, rounding: str | None = None, field: str = "price") -> Decimal:
        """``price`` if it is a whole number of ticks; refused with ``InvalidOrder`` naming the tick
        and the nearest prices, unless ``rounding`` ("down", "up", "nearest") asks to round it."""
        ticks = price / self.price_step
        if ticks == ticks.to_integral_value():
            return price
        if rounding is not None:
            return (ticks.to_integral_value(ROUNDINGS[rounding]) * self.price_step).normalize()
        lower = ticks.to_integral_value(ROUND_DOWN) * self.price_step
        upper = ticks.to_integral_value(ROUND_UP) * self.price_step
        raise InvalidOrder(
            f"{field} {plain(price)} is off the tick of {plain(self.price_step)} on {self.exchange} {self.symbol}: "
            f"send {plain(lower)} or {plain(upper)}, or ask for rounding",
            details={field: [f"a multiple of {plain(self.price_step)}; nearest: {plain(lower)}, {plain(upper)}"]},
        )


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
class Fee:
    """One fee in the currency the exchange charged it; a rebate is negative."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ExchangeFill:
    """One trade as the exchange reports it. ``quantity`` is in base currency.

    ``fee`` / ``fee_currency`` are the first fee; ``fees`` lists every fee of the trade (empty
    means just the first). For a trade of the account read without its order
    (``ExchangeGateway.fetch_trades``), ``exchange_order_id``, ``side`` and ``position_side``
    say whose trade it is, and ``liquidation`` marks a forced close (liquidation or ADL).
    """

    trade_id: str
    price: Decimal
    quantity: Decimal
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    liquidity: Liquidity = Liquidity.TAKER
    timestamp: datetime | None = None
    fees: tuple[Fee, ...] = ()
    exchange_order_id: str | None = None
    client_order_id: str | None = None
    side: OrderSide | None = None
    position_side: PositionSide | None = None
    liquidation: bool = False

    @property
    def all_fees(self) -> tuple[Fee, ...]:
        """Every fee of the trade (``fees``, or the first one alone)."""
        if self.fees:
            return self.fees
        return (Fee(self.fee, self.fee_currency),) if self.fee or self.fee_currency else ()


@dataclass(frozen=True)
class ExchangeOrder:
    """An order's state on the exchange. Quantities are in base currency.

    ``fills`` lists the trades the gateway could see; it may be empty while ``filled_qty`` is
    positive (some exchanges report only running totals): callers then fetch the order's trades
    (``fetch_order_trades``) and never book a fill from the totals.
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
    post_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    position_side: PositionSide | None = None  # hedge mode: the side it opens or reduces; None in one-way
    fees: tuple[Fee, ...] = ()  # every fee of the order by currency (``fee`` is the first)


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
    # How the account holds positions: hedge (long and short apart, OKX long_short_mode) or
    # one-way (one net position per symbol, OKX net_mode). It decides how every fill is applied.
    position_mode: PositionMode = PositionMode.HEDGE

    @abc.abstractmethod
    def market(self, symbol: str) -> MarketInfo:
        """The instrument for a native id or a ccxt unified symbol; ``BadSymbol`` if unlisted,
        ``UnsupportedInstrument`` for a kind the service does not model (inverse, option, spot)."""

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

    def left_out(self) -> dict[str, str]:
        """Instruments that the latest listings of every symbol (``fetch_open_orders()``,
        ``fetch_positions()``) left out because the service does not model them: native id -> why
        (the ``UnsupportedInstrument`` message). Empty for a gateway that lists only what it models."""
        return {}

    @abc.abstractmethod
    def fetch_order_trades(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> list[ExchangeFill]:
        """Every trade of one order (empty when it has none), each with its own price and fees.
        ``ExchangeOrderNotFound`` when the exchange knows no such order."""

    @abc.abstractmethod
    def fetch_trades(self, symbol: str, *, since: datetime) -> list[ExchangeFill]:
        """The account's trades on ``symbol`` since ``since``, oldest first, each naming its order
        (``exchange_order_id``, ``client_order_id``), ``side``, ``position_side`` and whether it was
        a liquidation."""
