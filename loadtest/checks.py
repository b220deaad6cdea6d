"""The checks after a run, each independent of the code it checks: the bots' record against the
database, the database against the paper exchange's own tables, positions against a fold of their
fills with the pure PnL arithmetic, and Redis against PostgreSQL through ``verify_redis``.

Every check returns a ``Check`` (PASS or FAIL, a one-line summary, the first problems found).
They read the database with the ORM of this process; nothing here writes.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loadtest.journal import PLACING_KINDS, Journal
from orders.models import Order, OrderEvent, OrderFill
from positions.models import Position
from tradingcore import pnl
from tradingcore.decimals import ZERO, quantize
from tradingcore.enums import OrderStatus, PositionSide
from tradingcore.exceptions import TradingError
from tradingcore.models import ApiKey, OutboxEntry, PaperFill, PaperOrder, PaperPosition

SHOWN = 12  # problems printed per check
PAPER_TRADE_ID = re.compile(r"^paper-fill-(\d+)$")


@dataclass
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    summary: str
    problems: list[str] = field(default_factory=list)


def check(name: str, problems: list[str], summary: str) -> Check:
    return Check(name, not problems, summary, problems)


# -- the bots' record ----------------------------------------------------------------------------


def no_undocumented_5xx(journal: Journal) -> Check:
    """Every 5xx answer is a 503 with ``Retry-After`` and a documented error code."""
    bad = journal.undocumented_5xx()
    documented = sum(1 for _, a in journal.attempts() if a.status == 503) - sum(1 for _, a in bad if a.status == 503)
    problems = [f"{call.kind} {call.method} {call.path}: {a.status} {a.code or ''}".strip() for call, a in bad]
    return check("no 5xx beyond documented 503s", problems, f"{len(bad)} undocumented 5xx, {documented} documented 503")


def every_call_answered(journal: Journal) -> Check:
    """Every request of a bot ended with a final answer (the bot retried until it had one)."""
    open_calls = [call for call in journal.calls if call.status is None]
    problems = [f"{call.kind} {call.path} key={call.key}: {len(call.attempts)} attempts, no final answer"
                for call in open_calls]  # fmt: skip
    return check("every request answered", problems, f"{len(journal.calls)} requests, {len(open_calls)} unanswered")


def derived_client_order_id(owner: str, key: str) -> str:
    """The client order id the API gives a request keyed by ``Idempotency-Key`` (README: "a keyed
    order gets a client order id derived from the key"): the first 32 hex digits of
    sha256("<owner>:<key>"), owner ``key:<api key pk>``."""
    return hashlib.sha256(f"{owner}:{key}".encode()).hexdigest()[:32]


def no_lost_order(journal: Journal, owners: dict[str, str]) -> Check:
    """Every acknowledged request has its rows: an acknowledged order, open or close has its order
    (found by the client order id derived from its key) on the exchange; an acknowledged position
    exists; an acknowledged cancel left the order as the answer said. And a refused request never
    acted: no order with its client order id reached the exchange."""
    placing = [call for call in journal.calls if call.kind in PLACING_KINDS and call.key and call.status is not None]
    ids = {call.key: derived_client_order_id(owners[call.user_id], call.key) for call in placing if call.key}
    orders = {order.client_order_id: order for order in Order.objects.filter(client_order_id__in=list(ids.values()))}
    problems: list[str] = []
    acknowledged = refused = 0
    for call in placing:
        assert call.key is not None
        order = orders.get(ids[call.key])
        if call.acknowledged:
            acknowledged += 1
            problems += _acknowledged_problems(call.kind, call.key, call.response, order)
        elif call.refused and order is not None:
            refused += 1
            if order.exchange_order_id or order.filled_qty > 0:
                problems.append(
                    f"{call.kind} key={call.key} was refused ({call.status} {call.error_code}) but its order "
                    f"{order.pk} reached the exchange ({order.status}, filled {order.filled_qty})"
                )
    cancels = [call for call in journal.calls if call.kind == "cancel" and call.acknowledged]
    problems += _cancel_problems(cancels)
    summary = f"{acknowledged} acknowledged orders/opens/closes and {len(cancels)} cancels checked"
    return check("no lost order", problems, summary)


def _acknowledged_problems(kind: str, key: str, response: Any, order: Order | None) -> list[str]:
    if order is None:
        return [f"{kind} key={key} acknowledged, no order with its client order id"]
    problems = []
    if not order.exchange_order_id:
        problems.append(f"{kind} key={key} acknowledged, order {order.pk} never reached the exchange ({order.status})")
    if kind == "order" and isinstance(response, dict) and response.get("id") != str(order.pk):
        problems.append(f"order key={key} acknowledged as {response.get('id')}, its client order id is on {order.pk}")
    if kind in ("open", "add", "close_part", "close_all") and isinstance(response, dict):
        position_id = _uuid(response.get("id"))
        if position_id is None or not Position.objects.filter(pk=position_id).exists():
            problems.append(f"{kind} key={key} acknowledged position {response.get('id')}, no such row")
    return problems


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _cancel_problems(cancels: Iterable[Any]) -> list[str]:
    problems = []
    for call in cancels:
        answer = call.response if isinstance(call.response, dict) else {}
        order_id = _uuid(answer.get("id"))
        row = Order.objects.filter(pk=order_id).first() if order_id is not None else None
        if row is None:
            problems.append(f"cancel of {call.path} acknowledged, order {answer.get('id')} not found")
        elif not OrderStatus(row.status).is_terminal:
            problems.append(f"cancel of {row.pk} acknowledged ({answer.get('status')}), the order is {row.status}")
    return problems


# -- duplicates ----------------------------------------------------------------------------------


def no_duplicate_order(users: list[str]) -> Check:
    """One exchange order per client order id, one order of ours per exchange order, and no
    exchange order we do not know."""
    paper = PaperOrder.objects.filter(user_id__in=users)
    per_client_id = Counter(paper.values_list("client_order_id", flat=True))
    problems = [f"client order id {cid}: {n} exchange orders" for cid, n in per_client_id.items() if n > 1]
    ours = Counter(Order.objects.filter(user_id__in=users).values_list("client_order_id", flat=True))
    problems += [f"client order id {cid}: {n} orders of ours" for cid, n in ours.items() if n > 1]
    problems += [f"exchange order {cid} ({n}) unknown to us" for cid, n in per_client_id.items() if cid not in ours]
    summary = f"{sum(per_client_id.values())} exchange orders, {len(per_client_id)} client order ids"
    return check("no duplicated order", problems, summary)


def no_order_processed_twice(users: list[str]) -> Check:
    """Two watchers and two API servers never book the same thing twice: each exchange trade is one
    fill and one fill event, an order is acknowledged once and ends once."""
    events = OrderEvent.objects.filter(order__user_id__in=users)
    fill_events = Counter(
        event["parameters"].get("trade_id")
        for event in events.filter(type__in=[OrderEvent.Type.FILLED, OrderEvent.Type.PARTIALLY_FILLED]).values(
            "parameters"
        )
    )
    problems = [f"trade {trade}: {n} fill events" for trade, n in fill_events.items() if n > 1]
    trades = Counter(OrderFill.objects.filter(order__user_id__in=users).values_list("exchange", "trade_id"))
    problems += [f"trade {trade}: {n} fills" for trade, n in trades.items() if n > 1]
    ends = Counter(events.filter(type__in=[OrderEvent.Type.CANCELLED, OrderEvent.Type.EXPIRED]).values_list("order_id"))
    problems += [f"order {order_id}: ended {n} times" for (order_id,), n in ends.items() if n > 1]
    # An acknowledged event without an exchange id is a status change without a type of its own.
    acks = Counter(
        order_id
        for order_id, parameters in events.filter(type=OrderEvent.Type.ACKNOWLEDGED).values_list(
            "order_id", "parameters"
        )
        if parameters.get("exchange_order_id")
    )
    problems += [f"order {order_id}: acknowledged {n} times" for order_id, n in acks.items() if n > 1]
    summary = f"{sum(trades.values())} fills, {sum(fill_events.values())} fill events, {len(acks)} acknowledgements"
    return check("no order processed twice", problems, summary)


# -- positions against their fills ----------------------------------------------------------------

Row = tuple[str, str, Decimal, Decimal, Decimal, Decimal]  # side, status, size, entry, realized, fees


def positions_replay_their_fills(users: list[str]) -> Check:
    """Every position's size, entry, realized PnL and fees equal a fold of its fills.

    Fills are folded per (user, exchange, symbol, side, grid level) in booking order with the pure
    ``pnl.apply_fill`` (hedge accounts: the order's position side says which position); a position
    ends when its size reaches zero and the next entry fill opens another. The positions stored for
    the slot must be exactly the positions folded (compared as multisets)."""
    folded: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    problems: list[str] = []
    fills = OrderFill.objects.filter(order__user_id__in=users).select_related("order").order_by("id")
    by_slot: dict[tuple[Any, ...], list[OrderFill]] = defaultdict(list)
    for fill in fills:
        order = fill.order
        if not order.position_side:
            problems.append(f"fill {fill.trade_id}: order {order.pk} has no position side (one-way is not run here)")
            continue
        by_slot[(order.user_id, order.exchange, order.symbol, order.position_side, order.grid_level)].append(fill)
    for slot, slot_fills in by_slot.items():
        folded[slot], fold_problems = _fold(PositionSide(slot[3]), slot_fills)
        problems += [f"{'/'.join(str(part) for part in slot)}: {text}" for text in fold_problems]
    stored: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for p in Position.objects.filter(user_id__in=users):
        slot = (p.user_id, p.exchange, p.symbol, p.side, p.grid_level)
        stored[slot].append((p.side, p.status, p.size, p.entry_price, p.realized_pnl, p.fees))
    for slot in sorted(set(folded) | set(stored), key=str):
        want, have = Counter(folded.get(slot, [])), Counter(stored.get(slot, []))
        if want != have:
            name = "/".join(str(part) for part in slot)
            problems.append(f"{name}: stored {_rows(have - want)} but the fills give {_rows(want - have)}")
    count = sum(len(rows) for rows in stored.values())
    return check("positions equal a replay of their fills", problems, f"{count} positions, {fills.count()} fills")


def _fold(side: PositionSide, fills: list[OrderFill]) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    problems: list[str] = []
    state: pnl.PositionState | None = None
    for fill in fills:
        before = state or pnl.PositionState(side=side)
        try:
            effect = pnl.apply_fill(before, side=fill.order.side, qty=fill.quantity, price=fill.price, fee=fill.fee)
        except TradingError as exc:
            problems.append(f"fill {fill.trade_id} ({fill.order.side} {fill.quantity}) cannot apply: {exc}")
            continue
        if effect.state.size > 0:
            state = effect.state
            continue
        final = effect.state  # closed: keeps the size it had before the closing fill
        rows.append((side.value, "closed", before.size, pnl.quantize_entry(final.entry_price), final.realized_pnl,
                     quantize(final.fees)))  # fmt: skip
        state = None
    if state is not None:
        rows.append((side.value, "open", state.size, pnl.quantize_entry(state.entry_price), state.realized_pnl,
                     quantize(state.fees)))  # fmt: skip
    return rows, problems


def _rows(rows: Counter[Row]) -> str:
    if not rows:
        return "nothing"
    return "; ".join(f"{status} size {size} entry {entry} realized {realized} fees {fees}"
                     for _, status, size, entry, realized, fees in sorted(rows.elements(), key=str))  # fmt: skip


# -- the paper exchange against the database ---------------------------------------------------------


def paper_agrees(users: list[str]) -> Check:
    """The paper exchange's orders, fills and positions are ours: every order of ours that reached
    it has its paper order with the same status and filled quantity; every paper fill is one fill of
    ours with the same quantity, price and fee; every side's paper size is our open size."""
    problems: list[str] = []
    paper_orders = {(o.exchange, o.client_order_id): o for o in PaperOrder.objects.filter(user_id__in=users)}
    ours = list(Order.objects.filter(user_id__in=users))
    for order in ours:
        remote = paper_orders.get((order.exchange, order.client_order_id))
        problems += _order_problems(order, remote)
    problems += _fill_problems(users)
    problems += _size_problems(users)
    summary = f"{len(ours)} orders, {len(paper_orders)} paper orders, fills and sizes per side compared"
    return check("paper exchange and database agree", problems, summary)


def _order_problems(order: Order, remote: PaperOrder | None) -> list[str]:
    if remote is None:
        if order.exchange_order_id or order.status != OrderStatus.REJECTED:
            return [f"order {order.pk} ({order.status}, {order.exchange_order_id}) has no paper order"]
        return []
    problems = []
    if order.exchange_order_id != remote.exchange_order_id:
        problems.append(f"order {order.pk}: exchange id {order.exchange_order_id}, paper {remote.exchange_order_id}")
    if (order.status, order.filled_qty) != (remote.status, remote.filled_qty):
        problems.append(f"order {order.pk} ({order.role}): {order.status} filled {order.filled_qty}, "
                        f"paper {remote.status} filled {remote.filled_qty}")  # fmt: skip
    if (order.side, order.quantity, order.symbol, order.user_id) != (remote.side, remote.quantity, remote.symbol,
                                                                     remote.user_id):  # fmt: skip
        problems.append(f"order {order.pk}: {order.side} {order.quantity} {order.symbol} for {order.user_id}, "
                        f"paper {remote.side} {remote.quantity} {remote.symbol} for {remote.user_id}")  # fmt: skip
    return problems


def _fill_problems(users: list[str]) -> list[str]:
    paper = {fill.pk: fill for fill in PaperFill.objects.filter(order__user_id__in=users).select_related("order")}
    problems = []
    booked: set[int] = set()
    for fill in OrderFill.objects.filter(order__user_id__in=users).select_related("order"):
        match = PAPER_TRADE_ID.match(fill.trade_id)
        remote = paper.get(int(match.group(1))) if match else None
        if remote is None:
            problems.append(f"fill {fill.trade_id} of order {fill.order_id} is not a paper fill")
            continue
        booked.add(remote.pk)
        if (fill.quantity, fill.price, fill.fee) != (remote.quantity, remote.price, remote.fee):
            problems.append(f"fill {fill.trade_id}: {fill.quantity} @ {fill.price} fee {fill.fee}, "
                            f"paper {remote.quantity} @ {remote.price} fee {remote.fee}")  # fmt: skip
        if fill.order.client_order_id != remote.order.client_order_id:
            problems.append(f"fill {fill.trade_id} booked on order {fill.order.client_order_id}, "
                            f"paper order {remote.order.client_order_id}")  # fmt: skip
    problems += [f"paper fill {pk} ({paper[pk].quantity} of {paper[pk].order.client_order_id}) never booked"
                 for pk in sorted(set(paper) - booked)]  # fmt: skip
    return problems


def _size_problems(users: list[str]) -> list[str]:
    ours: dict[tuple[str, str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for p in Position.objects.filter(user_id__in=users, status="open"):
        ours[(p.user_id, p.exchange, p.symbol, p.side)] += p.size
    theirs = {
        (p.user_id, p.exchange, p.symbol, p.side): p.size for p in PaperPosition.objects.filter(user_id__in=users)
    }
    problems = []
    for slot in sorted(set(ours) | set(theirs)):
        if ours.get(slot, ZERO) != theirs.get(slot, ZERO):
            problems.append(f"{'/'.join(slot)}: ours {ours.get(slot, ZERO)}, paper {theirs.get(slot, ZERO)}")
    return problems


# -- Redis and the outbox --------------------------------------------------------------------------


def verify_redis(run: Callable[[list[str]], subprocess.CompletedProcess[str]]) -> Check:
    """``manage.py verify_redis`` exits 0 (no drift) against the run's Redis."""
    result = run(["verify_redis"])
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    last = lines[-1] if lines else "(no output)"
    problems = [] if result.returncode == 0 else lines[:SHOWN] or [f"exit status {result.returncode}"]
    return check("verify_redis reports no drift", problems, f"exit {result.returncode}: {last}")


def outbox_empty() -> Check:
    left = OutboxEntry.objects.count()
    problems = [] if left == 0 else [f"{left} outbox rows left, oldest {OutboxEntry.objects.order_by('id').first()}"]
    return check("the outbox is empty", problems, f"{left} rows")


def no_live_order_unresolved(users: list[str]) -> Check:
    """No order left ``pending`` (outcome unknown) after the drain, and every order's fills add up
    to its filled quantity."""
    pending = list(Order.objects.filter(user_id__in=users, status=OrderStatus.PENDING).values_list("pk", flat=True))
    problems = [f"order {pk} still pending" for pk in pending]
    totals: dict[Any, Decimal] = defaultdict(lambda: ZERO)
    for order_id, quantity in OrderFill.objects.filter(order__user_id__in=users).values_list("order_id", "quantity"):
        totals[order_id] += quantity
    for order in Order.objects.filter(user_id__in=users, filled_qty__gt=0):
        if totals[order.pk] != order.filled_qty:
            problems.append(f"order {order.pk}: filled {order.filled_qty}, its fills add up to {totals[order.pk]}")
    return check("no order left pending; fills add up", problems, f"{len(pending)} pending")


def owners_of(users: list[str]) -> dict[str, str]:
    """Each bot user's idempotency owner (its API key), as the API scopes keys."""
    owners = {}
    for key in ApiKey.objects.filter(revoked_at=None):
        for user in key.user_ids:
            if user in users:
                owners[user] = f"key:{key.pk}"
    return owners
