"""Reconciliation: compare our positions and orders with what the exchange holds.

Live orders are refreshed first (that alone recovers an order the exchange accepted before a
crash, by its client order id). Then live orders the exchange has and we do not are reported and,
with ``apply``, adopted with every attribute the exchange reports (post-only, time in force,
position side; fees come with their fills). Then positions are compared symbol by symbol
(``positions.adjustments``): with ``apply`` a difference is booked through fills, from the
exchange's own trades when they explain it, else as an estimate; trades of orders we hold are
never adopted a second time. Instruments the service does not model are reported by name.

Each ``Difference`` says whether it was applied; a difference only reported stays one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from orders import events as order_events
from orders import execution, placement, sync
from orders import projection as order_projection
from orders.models import Order
from orders.requests import OrderSpec
from positions import adjustments
from positions.books import books_of
from positions.models import Position
from tradingcore import validation
from tradingcore.changeset import ChangeSet
from tradingcore.enums import LIVE_ORDER_STATUSES, Exchange, PositionMode, PositionStatus
from tradingcore.exceptions import ExchangeError, ExchangeOrderNotFound, InvalidInput, UnsupportedInstrument
from tradingcore.exchange import ExchangeGateway, ExchangeOrder, get_gateway
from tradingcore.models import ExchangeAccount

logger = logging.getLogger(__name__)
ACTOR = "system:reconcile"


@dataclass
class Difference:
    """One disagreement between us and the exchange, and what was done about it.

    ``kind``: unknown_order | missing_position | unknown_position | size_mismatch | order_error |
    unsupported_instrument. ``applied`` is true when something was booked or adopted for it;
    ``action`` says what, or (``reported: ...``) why nothing was.
    """

    kind: str
    user_id: str
    exchange: str
    symbol: str
    detail: str
    action: str = "reported"
    data: dict[str, Any] = field(default_factory=dict)
    applied: bool = False

    def __str__(self) -> str:
        return f"[{self.kind}] {self.user_id} {self.exchange} {self.symbol}: {self.detail} -> {self.action}"


def reconcile_account(
    *, user_id: str, exchange: Exchange | str, apply: bool = False, actor: str = ACTOR
) -> list[Difference]:
    """Reconcile one user's account on one exchange; returns the differences found (applied ones
    marked). Raises the gateway's ``ExchangeError`` when the exchange cannot be read at all."""
    exchange = Exchange.parse(exchange, field="exchange")
    gateway = get_gateway(user_id, exchange)
    differences, in_doubt = _refresh_live_orders(user_id, exchange, actor)
    differences += _unknown_orders(user_id, exchange, gateway, apply, actor)
    differences += _compare_positions(user_id, exchange, gateway, apply, actor, in_doubt)
    differences += _left_out(user_id, exchange, gateway)
    return differences


def reconcile_all(*, apply: bool = False, user_id: str | None = None, actor: str = ACTOR) -> list[Difference]:
    """Reconcile every (user, exchange) pair that has open positions, live orders or an active
    exchange account; an account whose exchange cannot be read is reported and skipped."""
    pairs: set[tuple[str, str]] = set(
        Position.objects.filter(status=PositionStatus.OPEN).values_list("user_id", "exchange").distinct()
    )
    pairs |= set(
        Order.objects.filter(status__in=list(LIVE_ORDER_STATUSES)).values_list("user_id", "exchange").distinct()
    )
    pairs |= set(ExchangeAccount.objects.filter(is_active=True).values_list("user_id", "exchange").distinct())
    differences: list[Difference] = []
    for pair_user, pair_exchange in sorted(pairs):
        if user_id is not None and pair_user != user_id:
            continue
        try:
            differences += reconcile_account(user_id=pair_user, exchange=pair_exchange, apply=apply, actor=actor)
        except ExchangeError as exc:
            differences.append(Difference("order_error", pair_user, pair_exchange, "*", str(exc), "reported: skipped"))
    return differences


# -- orders --------------------------------------------------------------------------------------


def _refresh_live_orders(user_id: str, exchange: Exchange, actor: str) -> tuple[list[Difference], set[Any]]:
    """Refresh our live orders; the differences (orders that could not be read) and the ids of
    those the exchange did not find."""
    differences, not_found = [], set()
    live = Order.objects.filter(user_id=user_id, exchange=exchange, status__in=list(LIVE_ORDER_STATUSES))
    for order in live:
        try:
            sync.refresh_order(order_id=order.pk, actor=actor)
        except ExchangeError as exc:
            if isinstance(exc, ExchangeOrderNotFound):
                not_found.add(order.pk)
            kind = "unsupported_instrument" if isinstance(exc, UnsupportedInstrument) else "order_error"
            differences.append(Difference(kind, user_id, exchange.value, order.symbol, f"order {order.pk}: {exc}"))
    return differences, not_found


def _unknown_orders(
    user_id: str, exchange: Exchange, gateway: ExchangeGateway, apply: bool, actor: str
) -> list[Difference]:
    differences = []
    for remote in gateway.fetch_open_orders():
        if _is_ours(exchange, remote):
            continue
        detail = f"exchange order {remote.exchange_order_id} ({remote.side} {remote.quantity}) is unknown to us"
        difference = Difference("unknown_order", user_id, exchange.value, remote.symbol, detail)
        if apply:
            try:
                order = _adopt_order(user_id, exchange, gateway, remote, actor)
            except UnsupportedInstrument as exc:
                difference.kind, difference.action = "unsupported_instrument", f"reported: {exc}"
            except (ExchangeError, InvalidInput) as exc:
                difference.action = f"reported: not adopted: {exc}"
            else:
                difference.action, difference.applied = f"adopted as order {order.pk}", True
        differences.append(difference)
    return differences


def _is_ours(exchange: Exchange, remote: ExchangeOrder) -> bool:
    if Order.objects.filter(exchange=exchange, exchange_order_id=remote.exchange_order_id).exists():
        return True
    return bool(remote.client_order_id) and Order.objects.filter(client_order_id=remote.client_order_id).exists()


def _adopt_order(
    user_id: str, exchange: Exchange, gateway: ExchangeGateway, remote: ExchangeOrder, actor: str
) -> Order:
    """Save a live exchange order we never placed, with every attribute the exchange reports, then
    apply its state (fills, fees) through the normal path."""
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
        post_only=remote.post_only,
        time_in_force=remote.time_in_force,
        position_side=remote.position_side,
        client_order_id=_usable_client_id(remote.client_order_id),
        metadata={"adopted": True},
    )
    order = placement.new_order(spec, market=gateway.market(remote.symbol))
    if remote.position_side is None and gateway.position_mode is PositionMode.ONE_WAY:
        order.position_side = ""  # it nets, as the exchange applies it
    with transaction.atomic():
        changeset = ChangeSet()
        reconciled = order_events.order_reconciled(
            order, actor, action="adopted", exchange_order_id=remote.exchange_order_id
        )
        changeset.insert(order, order_events.order_created(order, actor), reconciled)
        changeset.project(order_projection.change(order, "order.created"))
        changeset.save()
    return execution.apply_exchange_state(order, remote, actor=actor)


def _usable_client_id(value: str | None) -> str | None:
    """The exchange's client id when it is one we can store, else None (we generate our own)."""
    try:
        return validation.client_order_id(value)
    except InvalidInput:
        return None


# -- positions -----------------------------------------------------------------------------------


def _compare_positions(
    user_id: str, exchange: Exchange, gateway: ExchangeGateway, apply: bool, actor: str, in_doubt: set[Any]
) -> list[Difference]:
    """Align every symbol where our open positions and the exchange's differ."""
    remote = gateway.fetch_positions()
    ours = list(Position.objects.filter(user_id=user_id, exchange=exchange, status=PositionStatus.OPEN))
    differences = []
    for symbol in sorted({p.symbol for p in ours} | {p.symbol for p in remote}):
        if all(book.difference == 0 for book in books_of(symbol, ours, remote, gateway.position_mode)):
            continue
        try:
            found = adjustments.align_symbol(
                user_id=user_id, exchange=exchange, gateway=gateway, symbol=symbol, apply=apply, actor=actor,
                in_doubt=in_doubt,
            )  # fmt: skip
        except UnsupportedInstrument as exc:
            differences.append(Difference("unsupported_instrument", user_id, exchange.value, symbol, str(exc)))
            continue
        except ExchangeError as exc:
            differences.append(Difference("order_error", user_id, exchange.value, symbol, f"not compared: {exc}"))
            continue
        differences += [_difference(user_id, exchange, found_one) for found_one in found]
    return differences


def _difference(user_id: str, exchange: Exchange, adjustment: adjustments.Adjustment) -> Difference:
    book = adjustment.book
    action = adjustment.note if adjustment.applied else f"reported: {adjustment.note}".rstrip(": ")
    return Difference(
        adjustment.kind, user_id, exchange.value, book.symbol, book.describe(), action,
        data={"ours": book.ours, "theirs": book.theirs, "source": adjustment.source,
              "orders": [str(order_id) for order_id in adjustment.order_ids]},
        applied=adjustment.applied,
    )  # fmt: skip


def _left_out(user_id: str, exchange: Exchange, gateway: ExchangeGateway) -> list[Difference]:
    """Instruments the exchange listed that the service does not model: reported by name."""
    return [
        Difference("unsupported_instrument", user_id, exchange.value, name, why, "reported: not reconciled")
        for name, why in sorted(gateway.left_out().items())
    ]
