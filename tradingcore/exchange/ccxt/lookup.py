"""Finding an order again on the exchange: by exchange id or client id (regular orders first, then
OKX algo orders), right after its placement was accepted, and after a placement with no clear answer.

Nothing here places an order. When ccxt cannot tell whether a placement landed, the order is looked
up by its client id, and only that: found, it is returned; not found, the caller learns that the
outcome is unknown and may retry with the same client id only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tradingcore.enums import OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from tradingcore.exceptions import ExchangeError, ExchangeOrderNotFound, InvalidOrder, OrderOutcomeUnknown
from tradingcore.exchange.base import ExchangeOrder, MarketInfo
from tradingcore.exchange.ccxt import algo, parsing
from tradingcore.exchange.ccxt.client import AccountClient
from tradingcore.exchange.ccxt.errors import is_explicit_unavailability, translate_ccxt_error
from tradingcore.exchange.ccxt.params import Placement
from tradingcore.exchange.ccxt.values import tidy

logger = logging.getLogger(__name__)


def read_order(
    client: AccountClient,
    raw: Mapping[str, Any],
    market: MarketInfo,
    *,
    order_type: OrderType | None = None,
    reduce_only: bool | None = None,
) -> ExchangeOrder:
    """Our DTO for a ccxt order (``parsing.exchange_order``); a fired OKX algo order is read with the
    order it placed, which costs one more request."""
    outcome = algo.triggered_outcome(client, raw, market)
    return parsing.exchange_order(
        raw, market, outcome=outcome, is_okx=client.is_okx, order_type=order_type, reduce_only=reduce_only
    )


def locate(
    client: AccountClient, market: MarketInfo, exchange_order_id: str | None, client_order_id: str | None
) -> tuple[dict[str, Any], bool]:
    """(ccxt order, whether it is an OKX algo order) for the exchange id (preferred) or client id.

    Raises ``InvalidOrder`` when neither id is given, ``ExchangeOrderNotFound`` if the exchange
    (on OKX: neither the orders nor the algo orders) knows it.
    """
    if not exchange_order_id and not client_order_id:
        raise InvalidOrder("an exchange order id or a client order id is required", details={"id": ["required"]})
    params: dict[str, Any] = {} if exchange_order_id else {"clientOrderId": client_order_id}
    try:
        return client.fetch_order(exchange_order_id, market.unified_symbol, params), False
    except ExchangeOrderNotFound:
        if not client.is_okx:
            raise
    return client.fetch_order(exchange_order_id, market.unified_symbol, {**params, **algo.algo_params(True)}), True


def find_placed(client: AccountClient, placement: Placement, *, scan_pending: bool = False) -> ExchangeOrder | None:
    """The placed order, found by its client id, or None.

    ``scan_pending`` also searches the pending algo orders of its kind (OKX's lookup by client id
    can miss an algo order it has just taken). Lookup errors other than not-found raise.
    """
    market, order_type = placement.market, placement.order_type
    is_algo = algo.is_algo(client, order_type)
    params = {"clientOrderId": placement.client_order_id, **algo.algo_params(is_algo)}
    raw: dict[str, Any] | None
    try:
        raw = client.fetch_order(None, market.unified_symbol, params)
    except ExchangeOrderNotFound:
        scan = is_algo and scan_pending
        raw = algo.find_pending(client, market, placement.client_order_id, order_type) if scan else None
    if raw is None:
        return None
    return read_order(client, raw, market, order_type=order_type, reduce_only=placement.request.reduce_only)


def state_after_acceptance(client: AccountClient, placement: Placement, ack: Mapping[str, Any]) -> ExchangeOrder:
    """The order's state right after the exchange accepted it (``ack``: ccxt's answer).

    One fetch by the acknowledged id (by client id when the answer carried none). If that fails,
    the order is returned as ``open`` from the request: it is on the exchange, and the next fetch
    tells the rest. Raises nothing of its own.
    """
    order_id = ack.get("id")
    try:
        found = _fetch_accepted(client, placement, order_id)
    except ExchangeError as error:
        logger.warning("%s: order %s accepted, state fetch failed: %s", client, placement.client_order_id, error)
        found = None
    return found if found is not None else _as_accepted(placement, order_id)


def _fetch_accepted(client: AccountClient, placement: Placement, order_id: Any) -> ExchangeOrder | None:
    if not order_id:
        return find_placed(client, placement, scan_pending=True)
    params = algo.algo_params(algo.is_algo(client, placement.order_type))
    raw = client.fetch_order(order_id, placement.market.unified_symbol, params)
    return read_order(
        client, raw, placement.market, order_type=placement.order_type, reduce_only=placement.request.reduce_only
    )


def _as_accepted(placement: Placement, order_id: Any) -> ExchangeOrder:
    """The accepted order as we asked for it: open, nothing filled, the contracts sent in base currency,
    the request's flags and position side."""
    request, market = placement.request, placement.market
    return ExchangeOrder(
        exchange_order_id=str(order_id or ""),
        client_order_id=request.client_order_id,
        symbol=market.symbol,
        side=OrderSide.parse(request.side),
        order_type=placement.order_type,
        status=OrderStatus.OPEN,
        quantity=tidy(market.to_base(placement.contracts)),
        price=request.price,
        trigger_price=request.trigger_price,
        reduce_only=request.reduce_only,
        post_only=request.post_only,
        time_in_force=TimeInForce.parse(request.time_in_force),
        position_side=PositionSide.parse_optional(request.position_side),
    )


def resolve_unclear_placement(client: AccountClient, placement: Placement, error: Exception) -> ExchangeOrder:
    """After a placement whose outcome is unknown (``error``): the order if the exchange holds it.

    Not found: ``ExchangeUnavailable`` after an explicit 5xx / "busy" answer (taken as refused),
    else ``OrderOutcomeUnknown``; a failed lookup is ``OrderOutcomeUnknown`` too. Both say: retry
    with the same client id only.
    """
    cid = placement.client_order_id
    logger.warning(
        "%s: placement of %s had no clear answer (%s); looking it up by client id", client, cid, type(error).__name__
    )
    try:
        found = find_placed(client, placement, scan_pending=True)
    except ExchangeError as lookup_error:
        failed_too = f"the lookup by client id failed too ({lookup_error.message})"
        raise _outcome_unknown(client, placement, f"timed out or failed in transit, and {failed_too}") from error
    if found is not None:
        logger.warning("%s: order %s was placed after all", client, cid)
        return found
    if is_explicit_unavailability(error):
        raise translate_ccxt_error(error, action="place order", exchange=client.exchange) from error
    not_seen = "no order with that client id is visible yet"
    raise _outcome_unknown(client, placement, f"got no answer ({error}) and {not_seen}") from error


def _outcome_unknown(client: AccountClient, placement: Placement, what: str) -> OrderOutcomeUnknown:
    return OrderOutcomeUnknown(
        f"{client.exchange.value} placement of {placement.client_order_id} {what}; retry with the same client id",
        details={"client_order_id": placement.client_order_id, "exchange": client.exchange.value},
    )
