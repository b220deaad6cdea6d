"""Kind 13 of issue 9: liquidations.

When the exchange closes a position by force (liquidation or auto-deleverage), the fill watcher
notices it on its next pass, not only a manual ``reconcile``: the position ends ``liquidated`` with
the exchange's liquidation fills (an order of role ``liquidation``), or, when the exchange lists
none, at the mark marked as an estimate, with a ``reconciled`` event. OKX BTC-USDT-SWAP (0.01 BTC
a contract), taker fee 5 bp on the paper exchange and the loopback OKX alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from orders import watcher
from orders.models import Order
from positions import liquidations
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tests.tradingcore.exchange.okx_loopback import POSITIONS, OkxLoopback
from tests.truth.conftest import OKX_USER
from tradingcore.enums import OrderRole, OrderStatus, PositionMode, PositionStatus
from tradingcore.exchange.paper import outside
from tradingcore.models import ExchangeAccount

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture(autouse=True)
def _check_on_every_pass(settings: Any) -> Iterator[None]:
    settings.TRADING_LIQUIDATION_CHECK_SECONDS = 0
    liquidations.THROTTLE.reset()
    yield
    liquidations.THROTTLE.reset()


@pytest.fixture
def manager() -> PositionManager:
    return PositionManager(actor="system:test")


def reconciled(position_id: object) -> dict[str, Any]:
    [event] = PositionEvent.objects.filter(position_id=position_id, type="reconciled")
    return event.parameters


def liquidation_orders() -> list[Order]:
    return list(Order.objects.filter(role=OrderRole.LIQUIDATION))


# -- paper -----------------------------------------------------------------------------------------


def test_watcher_books_the_exchanges_liquidation_fill_and_the_position_ends_liquidated(
    manager: PositionManager,
) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1"), stop_loss_price=D("44000")))
    forced = outside.liquidate("okx", USER, BTC, "long", price="43500")

    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=opened.id)
    assert (position.status, position.size, position.exit_price) == (PositionStatus.LIQUIDATED, D("0.1"), D("43500"))
    assert position.realized_pnl == D("-150")  # 0.1 x (43500 - 45000)
    assert position.fees == D("2.25") + D("2.175")  # entry and the exchange's liquidation fee
    assert position.close_reason == "liquidated on the exchange"
    [order] = liquidation_orders()
    assert (order.exchange_order_id, order.side, order.quantity, order.avg_fill_price, order.status) == (
        forced.exchange_order_id,
        "sell",
        D("0.1"),
        D("43500"),
        OrderStatus.FILLED,
    )
    event = reconciled(opened.id)
    assert (event["action"], event["source"], event["estimate"]) == ("liquidated", "exchange_trades", False)
    # the stop the exchange cancelled is cancelled here too, and no new stop was tried
    stop = Order.objects.get(position_id=opened.id, role=OrderRole.STOP_LOSS)
    assert stop.status == OrderStatus.CANCELLED
    assert not PositionEvent.objects.filter(position_id=opened.id, type="protection_refused").exists()


def test_liquidation_the_exchange_does_not_list_is_booked_at_the_mark_as_an_estimate(
    manager: PositionManager,
) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("43800")
    outside.liquidate("okx", USER, BTC, list_trades=False)

    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=opened.id)
    assert (position.status, position.exit_price, position.realized_pnl) == (
        PositionStatus.LIQUIDATED,
        D("43800"),
        D("-120"),
    )
    assert position.fees == D("2.25")  # the liquidation fee is unknown: nothing is made up
    [order] = liquidation_orders()
    assert order.metadata == {"reconciled": "estimate", "estimate": True}
    event = reconciled(opened.id)
    assert (event["source"], event["estimate"], event["price_basis"], D(event["price"])) == (
        "estimate",
        True,
        "mark",
        D("43800"),
    )


def test_liquidated_short_on_paper(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="short", size=D("0.1")))
    outside.liquidate("okx", USER, BTC, "short", price="46500")

    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=opened.id)
    assert (position.status, position.realized_pnl) == (PositionStatus.LIQUIDATED, D("-150"))
    assert liquidation_orders()[0].side == "buy"


def test_liquidation_of_a_one_way_account_position(manager: PositionManager) -> None:
    ExchangeAccount.objects.create(
        user_id=USER, exchange="okx", api_key="k", api_secret="s", passphrase="p", position_mode=PositionMode.ONE_WAY
    )
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    outside.liquidate("okx", USER, BTC, price="44000")

    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=opened.id)
    assert (position.status, position.realized_pnl) == (PositionStatus.LIQUIDATED, D("-100"))
    assert liquidation_orders()[0].position_side == ""  # it nets, as the exchange applied it
    assert not Position.objects.filter(side="short").exists()


def test_the_watcher_checks_an_account_at_most_once_per_interval(manager: PositionManager, settings: Any) -> None:
    settings.TRADING_LIQUIDATION_CHECK_SECONDS = 30
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    watcher.run_pass(interval=0)  # checks the account: nothing to see
    outside.liquidate("okx", USER, BTC, price="44000")

    watcher.run_pass(interval=0)  # within 30 s: not checked again
    assert Position.objects.get(pk=opened.id).status == PositionStatus.OPEN

    settings.TRADING_LIQUIDATION_CHECK_SECONDS = 0
    watcher.run_pass(interval=0)
    assert Position.objects.get(pk=opened.id).status == PositionStatus.LIQUIDATED


def test_a_position_gone_at_a_profit_without_history_is_left_to_reconcile(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("46000")
    outside.liquidate("okx", USER, BTC, list_trades=False)  # gone, at a profit, no trade listed

    watcher.run_pass(interval=0)
    assert Position.objects.get(pk=opened.id).status == PositionStatus.OPEN

    call_command("reconcile", "--apply")
    position = Position.objects.get(pk=opened.id)
    assert (position.status, position.realized_pnl) == (PositionStatus.CLOSED, D("100"))  # estimated at the mark
    assert reconciled(opened.id)["estimate"] is True


def test_a_sale_made_on_the_exchange_is_not_taken_for_a_liquidation(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    mark("44000")
    outside.sell("okx", USER, BTC, "0.1", position_side="long")  # closed by hand, at a loss

    watcher.run_pass(interval=0)

    assert Position.objects.get(pk=opened.id).status == PositionStatus.OPEN  # reconcile books it as a sale
    assert liquidation_orders() == []


def test_reconcile_notices_a_liquidation_too(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    outside.liquidate("okx", USER, BTC, price="43000")

    call_command("reconcile", "--apply")

    position = Position.objects.get(pk=opened.id)
    assert (position.status, position.realized_pnl) == (PositionStatus.LIQUIDATED, D("-200"))


# -- the loopback OKX through real ccxt --------------------------------------------------------------


def okx_position(manager: PositionManager, side: str = "long") -> Position:
    opened = manager.open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side=side, size=D("0.1"))
    return Position.objects.get(pk=opened.id)


def test_okx_liquidation_is_booked_from_its_liquidation_trade(okx: OkxLoopback, manager: PositionManager) -> None:
    position = okx_position(manager)
    ord_id = okx.liquidate(BTC, "long", price="43500")

    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert (position.status, position.realized_pnl, position.fees) == (
        PositionStatus.LIQUIDATED,
        D("-150"),
        D("4.425"),
    )
    [order] = liquidation_orders()
    assert (order.exchange_order_id, order.avg_fill_price) == (ord_id, D("43500"))
    assert reconciled(position.pk)["source"] == "exchange_trades"


def test_okx_liquidation_of_a_short_in_a_net_mode_account(okx_net: OkxLoopback, manager: PositionManager) -> None:
    position = okx_position(manager, side="short")
    okx_net.liquidate(BTC, None, price="46000")

    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert (position.status, position.realized_pnl) == (PositionStatus.LIQUIDATED, D("-100"))


def test_okx_auto_deleverage_is_booked_as_a_forced_close(okx: OkxLoopback, manager: PositionManager) -> None:
    position = okx_position(manager)
    okx.liquidate(BTC, "long", price="44500", kind="adl")

    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert (position.status, position.realized_pnl) == (PositionStatus.LIQUIDATED, D("-50"))


def test_okx_partial_liquidation_reduces_the_position_and_keeps_it_open(
    okx: OkxLoopback, manager: PositionManager
) -> None:
    position = okx_position(manager)
    okx.liquidate(BTC, "long", price="44000", contracts="4")

    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert (position.status, position.size, position.realized_pnl) == (PositionStatus.OPEN, D("0.06"), D("-40"))
    assert liquidation_orders()[0].quantity == D("0.04")


def test_okx_liquidation_without_listed_trades_is_estimated_at_the_mark(
    okx: OkxLoopback, manager: PositionManager
) -> None:
    position = okx_position(manager)
    okx.set_mark(BTC, "43900")
    okx.liquidate(BTC, "long", list_trades=False)

    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert (position.status, position.exit_price, position.realized_pnl) == (
        PositionStatus.LIQUIDATED,
        D("43900"),
        D("-110"),
    )
    assert reconciled(position.pk)["estimate"] is True


def test_okx_watch_reads_positions_once_per_account_and_no_trades_while_they_agree(
    okx: OkxLoopback, manager: PositionManager
) -> None:
    okx_position(manager)
    before = len(okx.requests_to(POSITIONS))

    watcher.run_pass(interval=0)

    assert len(okx.requests_to(POSITIONS)) == before + 1
    account_trades = [r for r in okx.requests_to("/api/v5/trade/fills-history") if "ordId" not in r.query]
    assert account_trades == []  # the account's trades are read only where the sizes differ
