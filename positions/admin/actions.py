"""What an operator may do to positions, each through the managers with ``actor="admin:<username>"``.

Every action shows its plan first (``tradingcore.admin.confirm``): which orders, which sizes, the
PnL estimated at the last mark. Closing, cancelling and changing protection each need their own
permission; refreshing the mark needs only to see positions; reviewing needs ``review_position``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from orders import selectors as order_selectors
from orders.admin.actions import order_line
from orders.services import OrderManager
from positions import lifecycle, protection
from positions.models import Position
from positions.services import PositionManager
from tradingcore import pnl
from tradingcore.admin.confirm import ConfirmedAction, Plan, actor, fingerprint
from tradingcore.admin.display import number, short_id
from tradingcore.decimals import plain
from tradingcore.enums import OrderRole, PositionSide, PositionStatus, ReviewStatus
from tradingcore.exceptions import BadSymbol, ExchangeUnavailable, TradingError
from tradingcore.exchange.instruments import get_market

PROTECTIVE = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
PRICE_LABELS = {"stop_loss_price": "stop-loss", "take_profit_price": "take-profit"}


class ActionIncomplete(TradingError):
    """Part of an action was refused; the message says which part and why."""

    code = "incomplete"


def describe(position: Position) -> str:
    """One line naming a position: short id, user, market, side and size."""
    level = f" L{position.grid_level}" if position.grid_level is not None else ""
    size = plain(position.size) if position.status == PositionStatus.OPEN else f"{plain(position.size)} (closed)"
    return (
        f"position {short_id(position.pk)}: {position.user_id} {position.exchange} {position.symbol}{level} "
        f"{position.side} {size}"
    )


def _blocked_unless_open(position: Position) -> Plan | None:
    if position.status != PositionStatus.OPEN:
        return Plan(blocked=f"the position is {position.status}")
    return None


# -- close at market ---------------------------------------------------------------------------------


class CloseForm(forms.Form):
    size = forms.DecimalField(
        required=False, min_value=Decimal("0.00000001"), max_digits=20, decimal_places=8,
        help_text="in base currency (0.05 = 0.05 BTC); empty closes all that is not already being closed",
    )  # fmt: skip
    reason = forms.CharField(max_length=255, initial="closed from the admin", help_text="stored with the close")

    def __init__(self, data: Any = None, *, single: bool = True) -> None:
        super().__init__(data)
        if not single:
            del self.fields["size"]  # several positions close whole


class ClosePositions(ConfirmedAction):
    name = "close"
    title = "Close at market"
    permission = "positions.close_position"
    confirm_label = "Close at market"
    help = (
        "A reduce-only market order through PositionManager.close_position. PnL is realized on the closed part "
        "at the fill price; the estimate uses the last stored mark, before fees."
    )

    def applies(self, obj: Position) -> bool:
        return obj.status == PositionStatus.OPEN

    def make_form(self, data: Any, objects: Any, request: HttpRequest) -> forms.Form:
        return CloseForm(data, single=len(objects) == 1)

    def describe(self, obj: Position) -> str:
        return describe(obj)

    def fingerprint(self, obj: Position) -> str:
        return fingerprint(obj.status, obj.size, lifecycle.reserved_quantity(obj))

    def plan(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> Plan:
        if (closed := _blocked_unless_open(obj)) is not None:
            return closed
        reserved = lifecycle.reserved_quantity(obj)
        closable = obj.size - reserved
        quantity = params.get("size") or closable
        if closable <= 0:
            return Plan(blocked=f"all {plain(obj.size)} is already being closed by live orders")
        if quantity > closable:
            held = f" ({plain(reserved)} is being closed by live orders)" if reserved else ""
            return Plan(blocked=f"only {plain(closable)} of {plain(obj.size)} can be closed{held}")
        side = PositionSide(obj.side)
        order = f"a reduce-only market {side.exit_order_side} order for {plain(quantity)} {obj.symbol}"
        plan = Plan(steps=[f"send {order}{_contracts(obj, quantity)} on {obj.exchange}, position side {side}"])
        if obj.current_price is None:
            plan.warnings.append("no mark is known yet: no PnL estimate (refresh the mark first)")
        else:
            realized = pnl.realized_on_reduce(side, quantity, obj.current_price, obj.entry_price)
            plan.steps.append(
                f"at the last mark {plain(obj.current_price)}: realizes about {realized:+.2f} USDT before fees "
                f"(entry {plain(obj.entry_price)})"
            )
        plan.steps.append(_after_close(obj, obj.size - quantity))
        others = [o for o in order_selectors.live_orders_of_position(obj.pk) if OrderRole(o.role) not in PROTECTIVE]
        if others:
            plan.warnings.append(f"{len(others)} other live order(s) stay: cancel them with Cancel open orders")
        return plan

    def run(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> str:
        before = obj.size
        after = PositionManager(actor=actor(request)).close_position(
            obj.pk, size=params.get("size"), reason=params["reason"]
        )
        if after.status != PositionStatus.OPEN:
            return f"closed at {number(after.exit_price)}; realized {after.pnl_info.realized_pnl:+.2f} in all"
        if after.size == before:
            return "closing order sent; it has not filled yet (the fill watcher follows it)"
        return f"closed {plain(before - after.size)}; {plain(after.size)} left open"


def _contracts(position: Position, quantity: Decimal) -> str:
    try:
        market = get_market(position.exchange, position.symbol)
    except BadSymbol:
        return ""
    market.lots_for(quantity)  # InvalidOrder naming the nearest valid sizes: the plan shows it
    return f" ({plain(quantity / market.contract_size)} contracts of {plain(market.contract_size)})"


def _after_close(position: Position, remaining: Decimal) -> str:
    protected = [PRICE_LABELS[f] for f in PRICE_LABELS if getattr(position, f) is not None]
    if remaining > 0:
        resized = f"; its {' and '.join(protected)} order(s) are resized to {plain(remaining)}" if protected else ""
        return f"leaves {plain(remaining)} open{resized}"
    cancelled = f"; its {' and '.join(protected)} order(s) are cancelled" if protected else ""
    return f"closes the position{cancelled}"


# -- refresh the mark ----------------------------------------------------------------------------------


class RefreshMarks(ConfirmedAction):
    name = "refresh"
    title = "Refresh mark and PnL"
    permission = "positions.view_position"
    confirm_label = "Refresh"
    help = "Asks the exchange for the mark and stores it with the unrealized PnL (PositionManager.refresh_marks)."

    def applies(self, obj: Position) -> bool:
        return obj.status == PositionStatus.OPEN

    def describe(self, obj: Position) -> str:
        return describe(obj)

    def fingerprint(self, obj: Position) -> str:
        return fingerprint(obj.status)

    def plan(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> Plan:
        if (closed := _blocked_unless_open(obj)) is not None:
            return closed
        return Plan(steps=[
            f"ask {obj.exchange} for the mark of {obj.symbol} (now {number(obj.current_price)})",
            f"store it with the unrealized PnL (now {obj.unrealized_pnl:+.2f}); a mark_refreshed event names you",
        ])  # fmt: skip

    def run(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> str:
        changed = PositionManager(actor=actor(request)).refresh_marks(positions=[obj], record_event=True)
        if not changed:
            raise ExchangeUnavailable(f"{obj.exchange} gave no mark for {obj.symbol}: nothing changed")
        obj.refresh_from_db()
        return f"mark {number(obj.current_price)}, unrealized PnL {obj.unrealized_pnl:+.2f}"


# -- cancel the position's open orders -------------------------------------------------------------------


class CancelOrdersForm(forms.Form):
    remove_protection = forms.BooleanField(
        required=False, label="Also remove the stop-loss and take-profit",
        help_text="without it they stay: the fill watcher keeps a position's protection in place",
    )  # fmt: skip

    def __init__(self, data: Any = None, *, may_remove_protection: bool = False) -> None:
        super().__init__(data)
        if not may_remove_protection:
            del self.fields["remove_protection"]


class CancelOpenOrders(ConfirmedAction):
    name = "cancel_orders"
    title = "Cancel open orders"
    permission = "orders.cancel_order"
    confirm_label = "Cancel the orders"
    help = "Cancels the position's live orders on the exchange, one by one (OrderManager.cancel_order)."

    def applies(self, obj: Position) -> bool:
        return obj.status == PositionStatus.OPEN or bool(order_selectors.live_orders_of_position(obj.pk))

    def make_form(self, data: Any, objects: Any, request: HttpRequest) -> forms.Form:
        return CancelOrdersForm(data, may_remove_protection=request.user.has_perm(ChangeProtection.permission))

    def describe(self, obj: Position) -> str:
        return describe(obj)

    def fingerprint(self, obj: Position) -> str:
        live = order_selectors.live_orders_of_position(obj.pk)
        return fingerprint([(o.pk, o.status, o.filled_qty) for o in live], obj.stop_loss_price, obj.take_profit_price)

    def plan(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> Plan:
        live = order_selectors.live_orders_of_position(obj.pk)
        others = [order for order in live if OrderRole(order.role) not in PROTECTIVE]
        protective = [order for order in live if OrderRole(order.role) in PROTECTIVE]
        plan = Plan(steps=[f"cancel the {order_line(order)}" for order in others])
        if params.get("remove_protection"):
            plan.steps += [f"remove the {PRICE_LABELS[field]} at {plain(price)}: its order is cancelled and the price "
                           "cleared" for field, price in _protection(obj).items()]  # fmt: skip
        else:
            plan.warnings += [f"the {order_line(order)} stays (protection)" for order in protective]
        plan.warnings += [f"order {short_id(o.pk)} is still being placed: the exchange may not show it yet"
                          for o in others if not o.exchange_order_id]  # fmt: skip
        if not plan.steps:
            plan.blocked = "no open order to cancel" + (" (protection stays)" if protective else "")
        return plan

    def run(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> str:
        orders = OrderManager(actor=actor(request))
        done, refused = [], []
        for order in order_selectors.live_orders_of_position(obj.pk):
            if OrderRole(order.role) in PROTECTIVE:
                continue
            try:
                result = orders.cancel_order(order_id=order.pk)
                done.append(f"{short_id(order.pk)} {result.status.value}")
            except TradingError as error:
                refused.append(f"{short_id(order.pk)} refused: {error.message}")
        if params.get("remove_protection") and _protection(obj):
            if not request.user.has_perm(ChangeProtection.permission):
                raise PermissionDenied
            try:
                PositionManager(actor=actor(request)).update_position(obj.pk, **dict.fromkeys(_protection(obj)))
                done.append("protection removed")
            except TradingError as error:
                refused.append(f"protection kept: {error.message}")
        text = "; ".join(done + refused) or "nothing to cancel"
        if refused:
            raise ActionIncomplete(text)
        return text


def _protection(position: Position) -> dict[str, Decimal]:
    prices = {field: getattr(position, field) for field in PRICE_LABELS}
    return {field: price for field, price in prices.items() if price is not None}


# -- stop-loss / take-profit --------------------------------------------------------------------------


class ProtectionForm(forms.Form):
    stop_loss_price = forms.DecimalField(
        required=False, min_value=Decimal("0.00000001"), max_digits=20, decimal_places=8, label="Stop-loss",
        help_text="empty removes it",
    )  # fmt: skip
    take_profit_price = forms.DecimalField(
        required=False, min_value=Decimal("0.00000001"), max_digits=20, decimal_places=8, label="Take-profit",
        help_text="empty removes it",
    )  # fmt: skip

    def __init__(self, data: Any = None, *, position: Position) -> None:
        initial = {field: getattr(position, field) for field in PRICE_LABELS}
        super().__init__(data, initial={k: None if v is None else plain(v) for k, v in initial.items()})
        self.position = position

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        changes = {f: data.get(f) for f in PRICE_LABELS if data.get(f) != getattr(self.position, f)}
        if not changes:
            raise ValidationError("both prices are as they are now: nothing to change")
        data["changes"] = changes
        return data


class ChangeProtection(ConfirmedAction):
    name = "protection"
    title = "Stop-loss / take-profit"
    permission = "positions.change_protection"
    many = False
    confirm_label = "Change protection"
    help = (
        "PositionManager.update_position: a new protective order is placed first and the old one cancelled only "
        "once the new one stands; a price through the mark, or one the exchange refuses, changes nothing."
    )

    def applies(self, obj: Position) -> bool:
        return obj.status == PositionStatus.OPEN

    def make_form(self, data: Any, objects: Any, request: HttpRequest) -> forms.Form:
        return ProtectionForm(data, position=objects[0])

    def describe(self, obj: Position) -> str:
        return describe(obj)

    def fingerprint(self, obj: Position) -> str:
        return fingerprint(obj.status, obj.size, obj.stop_loss_price, obj.take_profit_price)

    def plan(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> Plan:
        if (closed := _blocked_unless_open(obj)) is not None:
            return closed
        changes: dict[str, Decimal | None] = params["changes"]
        side = PositionSide(obj.side)
        if obj.current_price is not None:
            placed: dict[str, Decimal | None] = {field: price for field, price in changes.items() if price is not None}
            protection.check_prices(side, placed, obj.current_price, basis="the last mark")  # InvalidOrder: blocked
        live = order_selectors.live_orders_of_position(obj.pk, roles=PROTECTIVE)
        plan = Plan()
        for field, price in changes.items():
            label = PRICE_LABELS[field]
            old = [order for order in live if OrderRole(order.role) == protection.ROLE_OF_FIELD[field]]
            if price is not None:
                plan.steps.append(
                    f"place a new {label}: reduce-only {side.exit_order_side} for {plain(obj.size)} at trigger "
                    f"{plain(price)} (the mark is {number(obj.current_price)})"
                )
            plan.steps += [f"{'then ' if price is not None else ''}cancel the {order_line(order)}" for order in old]
            if price is None:
                plan.warnings.append(f"the position will have no {label}")
        return plan

    def run(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> str:
        changes: dict[str, Decimal | None] = params["changes"]
        after = PositionManager(actor=actor(request)).update_position(obj.pk, **changes)
        shown = [f"{PRICE_LABELS[field]} {number(getattr(after, field))}" for field in changes]
        return "now " + ", ".join(shown)


# -- review ----------------------------------------------------------------------------------------------


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(ReviewStatus.APPROVED.value, "Approve"), (ReviewStatus.FLAGGED.value, "Flag"),
                 (ReviewStatus.UNREVIEWED.value, "Back to unreviewed")],
        widget=forms.RadioSelect,
    )  # fmt: skip
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == ReviewStatus.FLAGGED and not (data.get("note") or "").strip():
            self.add_error("note", "say why the position is flagged")
        return data


class ReviewPositions(ConfirmedAction):
    name = "review"
    title = "Approve or flag"
    permission = "positions.review_position"
    confirm_label = "Record the review"
    help = "Records your review (PositionManager.review_position): status, note, your name and the time."
    form_class = ReviewForm

    def describe(self, obj: Position) -> str:
        return describe(obj)

    def fingerprint(self, obj: Position) -> str:
        return fingerprint(obj.review_status, obj.reviewed_at)

    def plan(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> Plan:
        decision = ReviewStatus(params["decision"])
        note = (params.get("note") or "").strip()
        now = f"now {obj.review_status}" + (f" by {obj.reviewed_by}" if obj.reviewed_by else "")
        noted = f" with the note “{note}”" if note else " without a note"
        user = request.user.get_username()
        return Plan(steps=[f"mark it {decision.label.lower()}{noted}, reviewed by {user} now ({now})"])

    def run(self, obj: Position, params: dict[str, Any], request: HttpRequest) -> str:
        after = PositionManager(actor=actor(request)).review_position(
            obj.pk, status=params["decision"], note=params.get("note", ""), reviewer=request.user.get_username()
        )
        return f"review recorded ({ReviewStatus(params['decision']).label.lower()}, position {after.status.value})"


POSITION_ACTIONS: list[ConfirmedAction] = [
    ClosePositions(), ChangeProtection(), CancelOpenOrders(), RefreshMarks(), ReviewPositions(),
]  # fmt: skip
