"""Placing orders: validate, save ``pending`` (committed), send outside any transaction, apply.

``place`` is the one way an order reaches an exchange; ``create_order`` (the order API) and the
position services (entries, adds, closes, protective orders) both use it with a market resolved
once. The quantity is converted to contracts once, here, from the market (``MarketInfo``) and
sent as such (``OrderRequest.contracts``); the row keeps the base quantity that the contracts are
worth. A timeout or network error leaves the order ``pending`` with its client order id: it is
looked up by that id later (``orders.sync``) and never placed twice.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from orders import events, execution, projection, requests
from orders.models import Order
from tradingcore.changeset import ChangeSet
from tradingcore.enums import MarginMode, OrderSide, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import Conflict, ExchangeUnavailable, OrderOutcomeUnknown, OrderRejected
from tradingcore.exchange import ExchangeGateway, MarketInfo, OrderRequest, get_gateway
from tradingcore.redis import outbox

SYSTEM_ACTOR = "system:order_manager"


def create_order(*, actor: str = SYSTEM_ACTOR, **raw: Any) -> Order:
    """Validate the ``create_order`` keywords, then ``place`` the order.

    A caller-supplied ``client_order_id`` makes the call idempotent: a retry returns the order
    saved the first time and never places a second one. Raises ``InvalidInput`` /
    ``InvalidOrder`` before anything is saved or sent; ``Conflict`` for another user's client order
    id; and what ``place`` raises.
    """
    spec = requests.order_spec(**raw)
    existing = existing_for_client_id(spec.client_order_id, spec.user_id)
    if existing is not None:
        return existing
    gateway = get_gateway(spec.user_id, spec.exchange)
    return place(spec, market=gateway.market(spec.symbol), gateway=gateway, actor=actor)


def place(spec: requests.OrderSpec, *, market: MarketInfo, gateway: ExchangeGateway, actor: str) -> Order:
    """Save ``spec`` as ``pending`` (committed), send it, apply the answer; returns the order.

    The Redis projections of both commits go out together at the end (one MULTI/EXEC). Raises
    ``OrderRejected`` and its kinds (the order is kept ``rejected``); ``OrderOutcomeUnknown`` /
    ``ExchangeUnavailable`` (the order stays ``pending``, resolved later by client order id).
    """
    with outbox.deferred():
        try:
            order = save_pending_order(spec, market=market, actor=actor)
        except IntegrityError:
            # A concurrent retry with the same client order id won the insert.
            existing = existing_for_client_id(spec.client_order_id, spec.user_id)
            if existing is None:
                raise
            return existing
        return submit_order(order, gateway=gateway, actor=actor)


def new_order(spec: requests.OrderSpec, *, market: MarketInfo) -> Order:
    """The unsaved, validated row for ``spec`` on ``market``: the quantity rounded down to whole
    lots (``InvalidOrder`` below the minimum), the order's facts in their columns."""
    quantity = market.to_base(market.to_contracts(spec.quantity))
    order = Order(
        user_id=spec.user_id, exchange=spec.exchange, symbol=market.symbol, side=spec.side,
        order_type=spec.order_type, quantity=quantity, price=spec.price, trigger_price=spec.trigger_price,
        reduce_only=spec.reduce_only, post_only=spec.post_only, time_in_force=spec.time_in_force,
        grid_level=spec.grid_level, metadata=spec.metadata, role=spec.role,
        position_side=spec.effective_position_side, margin_mode=spec.margin_mode,
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
