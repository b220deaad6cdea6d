"""Placing orders: validate, save ``pending`` (committed), send outside any transaction, apply.

``place`` is the one way an order reaches an exchange; ``create_order`` (the order API) and the
position services (entries, adds, closes, protective orders) both use it with a market resolved
once. The quantity is converted to contracts once, here, from the market (``MarketInfo``) and
sent as such (``OrderRequest.contracts``); the row keeps the base quantity that the contracts are
worth. A timeout or network error leaves the order ``pending`` with its client order id: it is
looked up by that id later (``orders.sync``) and never placed twice.

What the caller asked is what is placed, or a clear error (issue 9, kinds 9 and 10): a size that
is not a whole number of lots, or a price off the tick, is refused before anything is saved,
naming the nearest valid values, unless the caller asks to round (``rounding`` /
``price_rounding``); then the row holds what was sent and its metadata what was asked. What the
exchange refuses is kept: the order stays ``rejected`` with the reason and its events.

On a one-way (net) account the order carries no position side and its fills net against the
opposite position (``positions.ledger``); the gateway sends no ``posSide``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from orders import events, execution, projection, requests, sync
from orders.models import Order
from tradingcore.changeset import ChangeSet
from tradingcore.decimals import plain
from tradingcore.enums import MarginMode, OrderSide, OrderStatus, OrderType, PositionMode, PositionSide, TimeInForce
from tradingcore.exceptions import (
    AuthenticationFailed,
    BadSymbol,
    Conflict,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderOutcomeUnknown,
    OrderRejected,
    UnsupportedInstrument,
)
from tradingcore.exchange import ExchangeGateway, MarketInfo, OrderRequest, get_gateway
from tradingcore.redis import outbox

SYSTEM_ACTOR = "system:order_manager"


def create_order(*, actor: str = SYSTEM_ACTOR, **raw: Any) -> Order:
    """Validate the ``create_order`` keywords, then ``place`` the order.

    ``quantity`` is in base currency and must be a whole number of the market's lots, and
    ``price`` / ``trigger_price`` whole ticks, unless ``rounding`` / ``price_rounding`` ("down",
    "up", "nearest") asks to round. A caller-supplied ``client_order_id`` makes the call
    idempotent: a retry returns the order saved the first time (sent now when the first attempt
    died before sending it, see ``resume``) and never places a second one. Raises, with nothing
    saved or sent: ``InvalidInput`` (a bad field), ``InvalidOrder`` (off the lot or tick grid,
    below the minimum), ``Conflict`` (another user's client order id). Then what ``place``
    raises: the exchange's refusals keep the order ``rejected``.
    """
    spec = requests.order_spec(**raw)
    existing = existing_for_client_id(spec.client_order_id, spec.user_id)
    gateway = get_gateway(spec.user_id, spec.exchange)
    if existing is not None:
        return resume(existing, gateway=gateway, actor=actor)
    return place(spec, market=gateway.market(spec.symbol), gateway=gateway, actor=actor)


def place(spec: requests.OrderSpec, *, market: MarketInfo, gateway: ExchangeGateway, actor: str) -> Order:
    """Save ``spec`` as ``pending`` (committed), send it, apply the answer; returns the order.

    The Redis projections of both commits go out together at the end (one MULTI/EXEC). Raises
    ``InvalidOrder`` for a size or price off the market's grid (nothing saved); ``OrderRejected``
    and its kinds when the exchange refuses (the order is kept ``rejected`` with the reason and
    its events); ``OrderOutcomeUnknown`` / ``ExchangeUnavailable`` (the order stays ``pending``,
    resolved later by client order id).
    """
    if gateway.position_mode == PositionMode.ONE_WAY and not spec.net:
        spec = replace(spec, net=True)
    with outbox.deferred():
        try:
            order = save_pending_order(spec, market=market, actor=actor)
        except IntegrityError:
            # A concurrent retry with the same client order id won the insert.
            existing = existing_for_client_id(spec.client_order_id, spec.user_id)
            if existing is None:
                raise
            return resume(existing, gateway=gateway, actor=actor)
        return submit_order(order, gateway=gateway, actor=actor)


# A pending order not found on the exchange is sent again only this soon after it was saved: later,
# a fill watcher may be settling it as never placed (``sync.UNKNOWN_OUTCOME_GRACE``) meanwhile.
RESEND_WITHIN = sync.UNKNOWN_OUTCOME_GRACE / 2


def resume(order: Order, *, gateway: ExchangeGateway, actor: str) -> Order:
    """A retry of ``order``, saved earlier under the same client order id by an attempt whose
    answer was lost (a killed worker, a timeout, an unclear answer). An order the exchange
    acknowledged, or that ended, is returned as it is. One still ``pending`` is looked up on the
    exchange by its client order id (``sync.resolve_by_client_id``) and applied when found; when
    the exchange does not know it, it never got there and is sent now, under the same client order
    id (the exchange refuses a second order with it: the gateway then returns the first). Raises
    ``OrderOutcomeUnknown`` when it is too old to send again (``RESEND_WITHIN``) and not yet
    settled: the retry after the grace gets it ``rejected``, never placed. A rejected order raises
    its refusal again (``rejection``), the answer its first attempt gave or would have given."""
    if order.status == OrderStatus.REJECTED:
        raise rejection(order)
    if order.status != OrderStatus.PENDING or order.exchange_order_id:
        return order
    found = sync.resolve_by_client_id(order, gateway=gateway, actor=actor)
    if found.status == OrderStatus.REJECTED:
        raise rejection(found)
    if found.status != OrderStatus.PENDING or found.exchange_order_id:
        return found
    if timezone.now() - found.created_at >= RESEND_WITHIN:
        raise OrderOutcomeUnknown(
            f"the order {found.pk} is not on the exchange yet and is being settled; retry shortly"
        )
    return submit_order(found, gateway=gateway, actor=actor)


# The refusals a rejected order's ``last_error`` ("code: message") is raised again as.
_REFUSALS: dict[str, type[OrderRejected]] = {
    kind.code: kind
    for kind in (OrderRejected, InsufficientFunds, InvalidOrder, BadSymbol, UnsupportedInstrument, AuthenticationFailed)
}


def rejection(order: Order) -> OrderRejected:
    """The refusal of a ``rejected`` order as the exception its placement raised, from the stored
    ``last_error`` (``"invalid_order: reduce-only buy of 0.02 would increase the position: ..."``):
    a retry whose first attempt's answer was lost gets the same error, never the order as if placed."""
    code, _, message = (order.last_error or "").partition(": ")
    kind = _REFUSALS.get(code)
    if kind is None or not message:
        return OrderRejected(order.last_error or f"the order {order.pk} was rejected")
    return kind(message)


def new_order(spec: requests.OrderSpec, *, market: MarketInfo) -> Order:
    """The unsaved, validated row for ``spec`` on ``market``, holding exactly what will be sent.

    The quantity must be whole lots and the prices whole ticks (``InvalidOrder`` naming the
    nearest valid values, and below the minimum size) unless the spec asks to round; a rounded
    value is stored as sent, the asked one in ``metadata`` (``requested_quantity``,
    ``requested_price``, ``requested_trigger_price``).
    """
    contracts = market.lots_for(spec.quantity, rounding=spec.rounding, field=spec.size_field)
    quantity = market.to_base(contracts)
    price = _on_grid(market, spec.price, spec.price_rounding, "price")
    trigger_price = _on_grid(market, spec.trigger_price, spec.price_rounding, "trigger_price")
    asked = {"requested_quantity": (spec.quantity, quantity), "requested_price": (spec.price, price),
             "requested_trigger_price": (spec.trigger_price, trigger_price)}  # fmt: skip
    rounded = {name: plain(before) for name, (before, after) in asked.items() if before is not None and before != after}
    order = Order(
        user_id=spec.user_id, exchange=spec.exchange, symbol=market.symbol, side=spec.side,
        order_type=spec.order_type, quantity=quantity, price=price, trigger_price=trigger_price,
        reduce_only=spec.reduce_only, post_only=spec.post_only, time_in_force=spec.time_in_force,
        grid_level=spec.grid_level, metadata={**spec.metadata, **rounded} if rounded else spec.metadata,
        role=spec.role, position_side="" if spec.net else spec.effective_position_side, margin_mode=spec.margin_mode,
        contract_size=market.contract_size, leverage=spec.leverage, reason=spec.reason,
        attached_stop_loss_price=spec.attached_stop_loss_price,
        attached_take_profit_price=spec.attached_take_profit_price,
        position_id=spec.position_id, opens_position_id=spec.opens_position_id,
    )  # fmt: skip
    if spec.client_order_id:
        order.client_order_id = spec.client_order_id
    # The database checks the foreign key, the uniques and the constraints; this checks the values.
    order.full_clean(exclude=["position"], validate_unique=False, validate_constraints=False)
    return order


def _on_grid(market: MarketInfo, price: Decimal | None, rounding: str | None, field: str) -> Decimal | None:
    return None if price is None else market.price_on_grid(price, rounding=rounding, field=field)


def save_pending_order(spec: requests.OrderSpec, *, market: MarketInfo, actor: str) -> Order:
    """Insert the order as ``pending`` with its event and outbox row (one statement; joins an open
    transaction). Redis follows after commit."""
    order = new_order(spec, market=market)
    changeset = ChangeSet()
    changeset.insert(order, events.order_created(order, actor))
    changeset.project(projection.change(order, "order.created"))
    changeset.save()
    return order


def submit_order(order: Order, *, gateway: ExchangeGateway | None = None, actor: str = SYSTEM_ACTOR) -> Order:
    """Place a saved ``pending`` order on the exchange (outside any transaction) and apply the answer."""
    gateway = gateway or get_gateway(order.user_id, order.exchange)
    try:
        result = gateway.place_order(request_for(order))
    except OrderRejected as exc:
        execution.mark_rejected(order.pk, exc, actor)
        raise
    except (OrderOutcomeUnknown, ExchangeUnavailable) as exc:
        execution.mark_outcome_unknown(order.pk, exc, actor)
        raise
    return execution.apply_exchange_state(order, result, actor=actor, gateway=gateway)


def request_for(order: Order) -> OrderRequest:
    """What the gateway is asked to place for a saved order (its contracts computed at save time)."""
    contracts = order.quantity / order.contract_size if order.contract_size else None
    return OrderRequest(
        symbol=order.symbol,
        side=OrderSide(order.side),
        order_type=OrderType(order.order_type),
        quantity=order.quantity,
        client_order_id=order.client_order_id,
        price=order.price,
        trigger_price=order.trigger_price,
        reduce_only=order.reduce_only,
        post_only=order.post_only,
        time_in_force=TimeInForce(order.time_in_force),
        position_side=PositionSide(order.position_side) if order.position_side else None,
        margin_mode=MarginMode(order.margin_mode),
        contracts=contracts,
    )


def existing_for_client_id(client_order_id: str | None, user_id: str) -> Order | None:
    """The order already saved with ``client_order_id`` (an idempotent retry), or None.

    Raises ``Conflict`` when another user's order holds that client order id.
    """
    if not client_order_id:
        return None
    order = Order.objects.filter(client_order_id=client_order_id).first()
    if order is not None and order.user_id != user_id:
        raise Conflict("client_order_id is already used", details={"client_order_id": ["already used"]})
    return order
