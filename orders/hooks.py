"""How an order's fills reach the position ledger, without the orders app importing positions.

Positions sit above orders: a position is opened and closed by placing orders, and changes only
by the fills of its orders. The positions app registers its handlers here from
``PositionsConfig.ready()``:

- ``fill_applier(order, fill, changeset, actor)``: called inside the transaction that records a
  fill, under the order's row lock; applies the fill to the position (``positions.ledger``) and
  adds the position's rows and projection change to the ``tradingcore.changeset.ChangeSet``;
  returns the position, or None when a reducing fill finds no open position;
- ``after_fills(order, actor)``: called after that transaction commits (protective orders are
  kept in line by ``positions.protection``);
- ``periodic(actor)``: work the fill watcher runs on every pass (``positions.marks``).

Without a registered applier a fill is recorded on the order only (and logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orders.models import Order, OrderFill
    from tradingcore.changeset import ChangeSet

logger = logging.getLogger(__name__)

FillApplier = Callable[["Order", "OrderFill", "ChangeSet", str], Any]
AfterFills = Callable[["Order", str], None]
Periodic = Callable[[str], int]

_fill_applier: FillApplier | None = None
_after_fills: list[AfterFills] = []
_periodic: list[Periodic] = []


def register_fill_applier(applier: FillApplier) -> None:
    """Set the one function that applies a recorded fill to its position."""
    global _fill_applier
    _fill_applier = applier


def register_after_fills(handler: AfterFills) -> None:
    """Add a handler run after the commit of fills that changed a position."""
    if handler not in _after_fills:
        _after_fills.append(handler)


def register_periodic(task: Periodic) -> None:
    """Add a task the fill watcher runs on every pass; it returns how many things it changed."""
    if task not in _periodic:
        _periodic.append(task)


def apply_fill(order: Order, fill: OrderFill, changeset: ChangeSet, actor: str) -> Any:
    """Apply a recorded fill to its position (inside the fill's transaction); the position or None."""
    if _fill_applier is None:
        logger.warning("order %s: no fill applier registered; fill %s not applied", order.pk, fill.trade_id)
        return None
    return _fill_applier(order, fill, changeset, actor)


def after_fills(order: Order, actor: str) -> None:
    """Run the after-fill handlers (outside any transaction)."""
    for handler in _after_fills:
        handler(order, actor)


def run_periodic(actor: str) -> int:
    """Run the periodic tasks; the total they report."""
    return sum(task(actor) for task in _periodic)
