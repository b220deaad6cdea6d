"""Reconciliation: compare our positions and orders with what the exchange holds.

Live orders are refreshed first (that alone recovers an order the exchange accepted before a
crash, by its client order id). Then orders the exchange has and we do not are reported (and
adopted with ``apply``), and positions are compared per (symbol, side), our grid levels summed
since the exchange nets them: a position the exchange no longer has is closed at the mark with
``apply``; one only the exchange has is adopted with ``apply``; a size mismatch is reported.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from orders import events as order_events
from orders import execution, placement, sync
from orders.models import Order
from orders.requests import OrderSpec
from positions import events, lifecycle, projection
from positions.models import Position
from tradingcore import pnl, validation
from tradingcore.changeset import ChangeSet
from tradingcore.db import insert_rows
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import LIVE_ORDER_STATUSES, Exchange, PositionSide, PositionStatus
from tradingcore.exceptions import ExchangeError, InvalidInput
from tradingcore.exchange import ExchangeGateway, ExchangeOrder, ExchangePosition, get_gateway

logger = logging.getLogger(__name__)
ACTOR = "system:reconcile"


@dataclass
class Difference:
    """One disagreement between us and the exchange, and what was done about it."""

    kind: str  # unknown_order | missing_position | unknown_position | size_mismatch | order_error
    user_id: str
    exchange: str
    symbol: str
    detail: str
    action: str = "reported"
    data: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.kind}] {self.user_id} {self.exchange} {self.symbol}: {self.detail} -> {self.action}"


def reconcile_account(
    *, user_id: str, exchange: Exchange | str, apply: bool = False, actor: str = ACTOR
) -> list[Difference]:
    """Reconcile one user's account on one exchange; returns the differences found."""
    exchange = Exchange.parse(exchange, field="exchange")
    gateway = get_gateway(user_id, exchange)
    differences = _refresh_live_orders(user_id, exchange, actor)
    remote_orders = gateway.fetch_open_orders()
    differences += _unknown_orders(user_id, exchange, gateway, remote_orders, apply, actor)
    differences += _compare_positions(user_id, exchange, gateway.fetch_positions(), apply, actor)
    return differences


def reconcile_all(*, apply: bool = False, user_id: str | None = None, actor: str = ACTOR) -> list[Difference]:
    """Reconcile every (user, exchange) pair that has open positions or live orders."""
    pairs: set[tuple[str, str]] = set(
        Position.objects.filter(status=PositionStatus.OPEN).values_list("user_id", "exchange").distinct()
    )
    pairs |= set(
        Order.objects.filter(status__in=list(LIVE_ORDER_STATUSES)).values_list("user_id", "exchange").distinct()
    )
    differences: list[Difference] = []
    for pair_user, pair_exchange in sorted(pairs):
        if user_id is not None and pair_user != user_id:
            continue
        try:
            differences += reconcile_account(user_id=pair_user, exchange=pair_exchange, apply=apply, actor=actor)
        except ExchangeError as exc:
            differences.append(Difference("order_error", pair_user, pair_exchange, "*", str(exc), "skipped"))
    return differences


def _refresh_live_orders(user_id: str, exchange: Exchange, actor: str) -> list[Difference]:
    differences = []
    live = Order.objects.filter(user_id=user_id, exchange=exchange, status__in=list(LIVE_ORDER_STATUSES))
    for order in live:
        try:
            sync.refresh_order(order_id=order.pk, actor=actor)
        except ExchangeError as exc:
            differences.append(
                Difference("order_error", user_id, exchange.value, order.symbol, f"order {order.pk}: {exc}")
            )
    return differences


def _unknown_orders(
    user_id: str,
    exchange: Exchange,
    gateway: ExchangeGateway,
    remote_orders: list[ExchangeOrder],
    apply: bool,
    actor: str,
) -> list[Difference]:
    differences = []
    for remote in remote_orders:
        known = Order.objects.filter(exchange=exchange, exchange_order_id=remote.exchange_order_id).exists() or (
            remote.client_order_id and Order.objects.filter(client_order_id=remote.client_order_id).exists()
        )
        if known:
            continue
        detail = f"exchange order {remote.exchange_order_id} ({remote.side} {remote.quantity}) is unknown to us"
        difference = Difference("unknown_order", user_id, exchange.value, remote.symbol, detail)
        if apply:
            order = _adopt_order(user_id, exchange, gateway, remote, actor)
            difference.action = f"adopted as order {order.pk}"
        differences.append(difference)
    return differences


def _adopt_order(
    user_id: str, exchange: Exchange, gateway: ExchangeGateway, remote: ExchangeOrder, actor: str
) -> Order:
    """Save an exchange order we never placed through the normal pending path, then apply its state."""
    spec = OrderSpec(
        user_id=user_id,
        exchange=exchange,
        symbol=remote.symbol,
        side=remote.side,
        order_type=remote.order_type,
        quantity=remote.quantity,
        price=remote.price,
        trigger_price=remote.trigger_price,
        reduce_only=remote.reduce_only,
        client_order_id=_usable_client_id(remote.client_order_id),
        metadata={"adopted": True},
    )
    with transaction.atomic():
        order = placement.save_pending_order(spec, market=gateway.market(remote.symbol), actor=actor)
        insert_rows(
            [order_events.order_reconciled(order, actor, action="adopted", exchange_order_id=remote.exchange_order_id)]
        )
    return execution.apply_exchange_state(order, remote, actor=actor)


def _usable_client_id(value: str | None) -> str | None:
    """The exchange's client id when it is one we can store, else None (we generate our own)."""
    try:
        return validation.client_order_id(value)
    except InvalidInput:
        return None


def _compare_positions(
    user_id: str, exchange: Exchange, remote: list[ExchangePosition], apply: bool, actor: str
) -> list[Difference]:
    theirs = {(p.symbol, PositionSide(p.side)): p for p in remote if p.size > 0}
    ours: dict[tuple[str, PositionSide], list[Position]] = defaultdict(list)
    for position in Position.objects.filter(user_id=user_id, exchange=exchange, status=PositionStatus.OPEN):
        ours[(position.symbol, PositionSide(position.side))].append(position)
    differences = []
    for key in sorted(set(theirs) | set(ours), key=lambda k: (k[0], k[1].value)):
        symbol, side = key
        our_size = sum((p.size for p in ours.get(key, [])), ZERO)
        their = theirs.get(key)
        if their is None:
            difference = Difference(
                "missing_position",
                user_id,
                exchange.value,
                symbol,
                f"{side.value} {our_size} open here, none on the exchange",
            )
            if apply:
                for position in ours[key]:
                    _close_missing(position, actor)
                difference.action = "closed here"
            differences.append(difference)
        elif not ours.get(key):
            difference = Difference(
                "unknown_position", user_id, exchange.value, symbol, f"{side.value} {their.size} on the exchange only"
            )
            if apply:
                position = _adopt_position(user_id, exchange, their, actor)
                difference.action = f"adopted as position {position.pk}"
            differences.append(difference)
        elif our_size != their.size:
            differences.append(
                Difference(
                    "size_mismatch",
                    user_id,
                    exchange.value,
                    symbol,
                    f"{side.value}: {our_size} here, {their.size} there",
                    data={"ours": our_size, "theirs": their.size},
                )  # fmt: skip
            )
    return differences


def _close_missing(position: Position, actor: str) -> None:
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position.pk)
        if position.status != PositionStatus.OPEN:
            return
        mark = position.current_price or position.entry_price
        realized = pnl.realized_on_reduce(position.side, position.size, mark, position.entry_precise)
        position.realized_pnl += realized
        position.unrealized_pnl = ZERO
        position.exit_price = quantize(mark)
        position.status = PositionStatus.CLOSED
        position.closed_at = timezone.now()
        position.close_reason = "closed on the exchange (reconciled)"
        event = events.position_reconciled(
            position, actor, action="closed", estimated_exit_price=mark, estimated_realized_pnl=realized
        )
        lifecycle.save_with_events(position, [event], "position.closed")


def _adopt_position(user_id: str, exchange: Exchange, remote: ExchangePosition, actor: str) -> Position:
    with transaction.atomic():
        position = Position(
            user_id=user_id,
            exchange=exchange,
            symbol=remote.symbol,
            side=remote.side,
            size=remote.size,
            entry_price=quantize(remote.entry_price),
            entry_price_precise=remote.entry_price,
            current_price=remote.mark_price,
            leverage=remote.leverage or 1,
            margin_mode=remote.margin_mode,
            unrealized_pnl=quantize(remote.unrealized_pnl or Decimal(0)),
            liquidation_price=remote.liquidation_price,
            contract_size=(remote.size / remote.contracts) if remote.contracts else None,
            metadata={"adopted": True},
        )
        event = events.position_reconciled(
            position, actor, action="adopted", size=remote.size, entry_price=remote.entry_price
        )
        changeset = ChangeSet()
        changeset.insert(position, event)
        changeset.project(projection.change(position, "position.opened"))
        changeset.save()
    return position
