"""Kind 3 of issue 9: our size and the exchange's disagree.

Part of a position is traded directly on the exchange, outside the service. ``reconcile --apply``
brings the position to the exchange's size from the exchange's own trades when its history has
them (an order of role ``adjustment`` at their real prices and fees), else with one fill at the
mark marked as an estimate; a full close sends what the exchange holds. OKX BTC-USDT-SWAP (0.01
BTC a contract), taker fee 5 bp on the paper exchange and the loopback OKX alike.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order, OrderFill
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tests.tradingcore.exchange.okx_loopback import OkxLoopback
from tests.truth.conftest import OKX_USER
from tradingcore.enums import OrderRole, OrderStatus, PositionMode, PositionSide, PositionStatus
from tradingcore.exchange.paper import outside
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def manager() -> PositionManager:
    return PositionManager(actor="system:test")


def long_after_an_outside_sale(manager: PositionManager, **outside_side: Any) -> Position:
    """Long 0.1 at 45000; at 46000, 0.04 is sold directly on the exchange (paper, exchange "okx")."""
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("46000")
    outside.sell("okx", USER, BTC, "0.04", **outside_side)
    return Position.objects.get(pk=opened.id)


def adjustments() -> list[Order]:
    return list(Order.objects.filter(role=OrderRole.ADJUSTMENT).order_by("created_at"))


def reconciled_events(position_id: object) -> list[dict[str, Any]]:
    return [e.parameters for e in PositionEvent.objects.filter(position_id=position_id, type="reconciled")]


def reconcile(*args: str) -> str:
    """Run ``manage.py reconcile`` and return its output (a non-zero exit is part of the output)."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("reconcile", *args, stdout=out)
    except CommandError as error:
        out.write(f"CommandError: {error}\n")
    return out.getvalue()


# -- the example ---------------------------------------------------------------------------


def test_full_close_after_an_outside_sale_closes_the_0_06_the_exchange_holds(manager: PositionManager) -> None:
    position = long_after_an_outside_sale(manager, position_side=PositionSide.LONG)
    mark("47000")

    closed = manager.close_position(position.pk)

    assert closed.status == PositionStatus.CLOSED
    close_order = Order.objects.get(position_id=position.pk, role=OrderRole.CLOSE)
    assert (close_order.quantity, close_order.status, close_order.avg_fill_price) == (
        D("0.06"),
        OrderStatus.FILLED,
        D("47000"),
    )
    # the outside sale was booked first, at its own price, then the rest was closed
    assert closed.pnl_info.realized_pnl == D("0.04") * 1000 + D("0.06") * 2000  # 160
    assert closed.pnl_info.fees == D("2.25") + D("0.92") + D("1.41")  # entry, outside sale, close: 4.58
    assert closed.exit_price == D("46600")
    assert closed.size == D("0.06")  # a closed position keeps its last size
    [adjustment] = adjustments()
    assert (adjustment.side, adjustment.quantity, adjustment.avg_fill_price) == ("sell", D("0.04"), D("46000"))
    assert reconciled_events(position.pk)[0]["source"] == "exchange_trades"


def test_reconcile_apply_books_the_outside_sale_at_its_real_price(manager: PositionManager) -> None:
    position = long_after_an_outside_sale(manager, position_side=PositionSide.LONG)
    mark("46500")  # the mark has moved on: the trade's own price counts, not the mark

    output = reconcile("--apply")

    position.refresh_from_db()
    assert (position.status, position.size, position.entry_price) == (PositionStatus.OPEN, D("0.06"), D("45000"))
    assert position.realized_pnl == D("40")  # exact: 0.04 x (46000 - 45000)
    assert position.fees == D("3.17")  # 2.25 entry + 0.92 for the outside sale, as the exchange charged it
    [adjustment] = adjustments()
    sale = outside_sale_id(adjustment)
    assert (adjustment.status, adjustment.quantity, adjustment.avg_fill_price, adjustment.fee) == (
        OrderStatus.FILLED,
        D("0.04"),
        D("46000"),
        D("0.92"),
    )
    assert adjustment.metadata == {"reconciled": "exchange_trades", "estimate": False}
    assert OrderFill.objects.filter(order=adjustment).count() == 1
    [event] = reconciled_events(position.pk)
    assert (event["action"], event["source"], event["estimate"]) == ("adjusted", "exchange_trades", False)
    assert decimals(event, "quantity", "price", "ours", "theirs") == (D("0.04"), D("46000"), D("0.1"), D("0.06"))
    assert sale in output
    assert "[size_mismatch] user123 okx BTC-USDT-SWAP: long: 0.1 here, 0.06 there -> booked adjustment" in output
    assert output.splitlines()[-1] == "1 difference(s): 1 applied, 0 reported"
    assert "resolved" not in output
    # and a second run finds nothing left
    assert reconcile().splitlines()[-1] == "0 difference(s): 0 applied, 0 reported"


def decimals(parameters: dict[str, Any], *names: str) -> tuple[Decimal, ...]:
    return tuple(D(parameters[name]) for name in names)


def outside_sale_id(adjustment: Order) -> str:
    assert adjustment.exchange_order_id is not None
    assert adjustment.exchange_order_id.startswith("paper-")
    return adjustment.exchange_order_id


def test_reconcile_without_apply_reports_the_mismatch_and_changes_nothing(manager: PositionManager) -> None:
    position = long_after_an_outside_sale(manager, position_side=PositionSide.LONG)

    output = reconcile()

    assert "[size_mismatch] user123 okx BTC-USDT-SWAP: long: 0.1 here, 0.06 there -> reported: would book" in output
    assert "1 difference(s): 0 applied, 1 reported" in output
    assert "CommandError: 1 difference(s) reported; run with --apply to apply them" in output
    assert "resolved" not in output
    position.refresh_from_db()
    assert position.size == D("0.1")
    assert adjustments() == []


def test_without_trade_history_reconcile_books_an_estimate_at_the_mark(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("46000")
    sale = outside.sell("okx", USER, BTC, "0.04", position_side=PositionSide.LONG)
    outside.forget("okx", sale.exchange_order_id, keep_trades=False)  # the exchange lists no trade of it
    mark("46500")

    output = reconcile("--apply")

    position = Position.objects.get(pk=opened.id)
    assert (position.size, position.realized_pnl, position.fees) == (D("0.06"), D("60"), D("2.25"))  # at 46500
    [adjustment] = adjustments()
    assert (adjustment.quantity, adjustment.avg_fill_price, adjustment.fee) == (D("0.04"), D("46500"), D("0"))
    assert adjustment.exchange_order_id is None
    assert adjustment.metadata == {"reconciled": "estimate", "estimate": True}
    [event] = reconciled_events(position.pk)
    assert (event["source"], event["estimate"], event["price_basis"]) == ("estimate", True, "mark")
    assert decimals(event, "price", "quantity") == (D("46500"), D("0.04"))
    assert "booked estimate: sell 0.04 at 46500 (mark)" in output
    assert output.splitlines()[-1] == "1 difference(s): 1 applied, 0 reported"


def test_full_close_without_trade_history_closes_what_the_exchange_holds(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    sale = outside.sell("okx", USER, BTC, "0.04", position_side=PositionSide.LONG)
    outside.forget("okx", sale.exchange_order_id, keep_trades=False)
    mark("44000")

    closed = manager.close_position(opened.id)

    assert closed.status == PositionStatus.CLOSED
    assert closed.pnl_info.realized_pnl == D("-100")  # 0.04 estimated at the mark and 0.06 sold, both at 44000
    assert Order.objects.get(position_id=opened.id, role=OrderRole.CLOSE).quantity == D("0.06")
    assert reconciled_events(opened.id)[0]["estimate"] is True


# -- more of the same kind ---------------------------------------------------------------------------


def test_outside_buy_on_a_short_is_booked_at_its_price(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="short", size=D("0.1")))
    mark("44000")
    outside.buy("okx", USER, BTC, "0.03", position_side=PositionSide.SHORT)

    reconcile("--apply")

    position = Position.objects.get(pk=opened.id)
    assert (position.side, position.size, position.realized_pnl) == ("short", D("0.07"), D("30"))
    assert position.fees == D("2.25") + D("0.66")
    [adjustment] = adjustments()
    assert (adjustment.side, adjustment.position_side, adjustment.reduce_only) == ("buy", "short", True)


def test_outside_buy_adds_to_the_long_at_its_real_price(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("46200")
    outside.buy("okx", USER, BTC, "0.02", position_side=PositionSide.LONG)

    reconcile("--apply")

    position = Position.objects.get(pk=opened.id)
    assert position.size == D("0.12")
    assert position.entry_price == D("45200")  # (0.1 x 45000 + 0.02 x 46200) / 0.12
    assert position.fees == D("2.25") + D("0.462")


def test_an_outside_buy_without_history_is_estimated_at_the_price_the_exchange_entry_implies(
    manager: PositionManager,
) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("46200")
    buy = outside.buy("okx", USER, BTC, "0.02", position_side=PositionSide.LONG)
    outside.forget("okx", buy.exchange_order_id, keep_trades=False)
    mark("47000")

    reconcile("--apply")

    position = Position.objects.get(pk=opened.id)
    assert (position.size, position.entry_price) == (D("0.12"), D("45200"))  # what the exchange holds
    [event] = reconciled_events(opened.id)
    assert (event["estimate"], event["price_basis"], D(event["price"])) == (True, "exchange_entry", D("46200"))


def test_position_only_the_exchange_holds_is_adopted_from_its_trades(manager: PositionManager) -> None:
    mark("45000")
    outside.sell("okx", USER, BTC, "0.05", position_side=PositionSide.SHORT)

    output = reconcile("--apply", "--user-id", USER, "--exchange", "okx")  # a user we hold nothing for

    adopted = Position.objects.get(user_id=USER, symbol=BTC, status=PositionStatus.OPEN)
    assert (adopted.side, adopted.size, adopted.entry_price) == ("short", D("0.05"), D("45000"))
    assert adopted.fees == D("1.125")  # the exchange's fee of the trade
    assert adopted.metadata["adopted"] is True
    assert "[unknown_position] user123 okx BTC-USDT-SWAP: short 0.05 on the exchange only -> booked" in output
    assert reconciled_events(adopted.pk)[0]["action"] == "adopted"


def test_one_way_account_sale_past_zero_closes_the_long_and_opens_the_short(manager: PositionManager) -> None:
    ExchangeAccount.objects.create(
        user_id=USER, exchange="okx", api_key="k", api_secret="s", passphrase="p", position_mode=PositionMode.ONE_WAY
    )
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("46000")
    outside.sell("okx", USER, BTC, "0.14")  # the exchange nets: short 0.04 at 46000

    output = reconcile("--apply")

    closed = Position.objects.get(pk=opened.id)
    assert (closed.status, closed.realized_pnl, closed.exit_price) == (PositionStatus.CLOSED, D("100"), D("46000"))
    short = Position.objects.get(user_id=USER, side="short", status=PositionStatus.OPEN)
    assert (short.size, short.entry_price) == (D("0.04"), D("46000"))
    [adjustment] = adjustments()
    assert (adjustment.position_side, adjustment.quantity) == ("", D("0.14"))  # it nets, as on the exchange
    assert "[size_mismatch] user123 okx BTC-USDT-SWAP: net: 0.1 here, short 0.04 there -> booked" in output


# -- the loopback OKX through real ccxt --------------------------------------------------------------


def okx_long(okx: OkxLoopback, manager: PositionManager) -> Position:
    opened = manager.open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long", size=D("0.1"))
    okx.set_mark(BTC, "46000")
    okx.trade_directly(BTC, "sell", "4", "long")  # 4 contracts = 0.04 BTC, at 46000
    return Position.objects.get(pk=opened.id)


def test_okx_reconcile_books_the_trade_made_on_the_website(okx: OkxLoopback, manager: PositionManager) -> None:
    position = okx_long(okx, manager)
    okx.set_mark(BTC, "46500")

    output = reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    position.refresh_from_db()
    assert (position.size, position.realized_pnl, position.fees) == (D("0.06"), D("40"), D("3.17"))
    [adjustment] = adjustments()
    assert adjustment.exchange_order_id == okx.trades[-1].data["ordId"]
    assert output.splitlines()[-1] == "1 difference(s): 1 applied, 0 reported"


def test_okx_full_close_after_a_trade_on_the_website_sends_the_0_06_it_holds(
    okx: OkxLoopback, manager: PositionManager
) -> None:
    position = okx_long(okx, manager)
    okx.set_mark(BTC, "47000")

    closed = manager.close_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long")

    assert closed.id == position.pk
    assert closed.status == PositionStatus.CLOSED
    assert closed.pnl_info.realized_pnl == D("160")
    sent = [r.body for r in okx.requests_to("/api/v5/trade/order", "POST")]
    assert [(body["side"], body["sz"], body["posSide"]) for body in sent] == [
        ("buy", "10", "long"),
        ("sell", "6", "long"),  # what the exchange holds, not our 0.1
    ]
