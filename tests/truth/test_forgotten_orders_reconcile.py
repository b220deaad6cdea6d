"""Kind 2 of issue 9, the reconcile side: an order we hold that filled and then the exchange forgot
(OKX 51603 "Order does not exist") never becomes a second position.

The trades of an order we hold (matched by exchange order id or client order id) are not foreign:
reconcile leaves them to that order's settlement (``orders.sync``) and reports the difference as
explained by it; while the order's outcome is in doubt (forgotten with its trades) nothing is
estimated either. OKX BTC-USDT-SWAP, 0.01 BTC a contract.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order
from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tests.tradingcore.exchange.okx_loopback import OkxLoopback
from tests.truth.conftest import OKX_USER
from tradingcore.enums import OrderRole, PositionStatus
from tradingcore.exchange.paper import outside

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def manager() -> PositionManager:
    return PositionManager(actor="system:test")


def reconcile(*args: str) -> str:
    out = StringIO()
    try:
        call_command("reconcile", *args, stdout=out)
    except CommandError as error:
        out.write(f"CommandError: {error}\n")
    return out.getvalue()


def nothing_adopted_or_estimated() -> None:
    assert not Order.objects.filter(role__in=[OrderRole.ADJUSTMENT, OrderRole.LIQUIDATION]).exists()
    assert not Order.objects.filter(metadata__adopted=True).exists()
    assert not Position.objects.filter(metadata__adopted=True).exists()


def filled_then_forgotten_add(manager: PositionManager, *, keep_trades: bool = True) -> tuple[Position, Order]:
    """Long 0.1 at 45000 and a limit add of 0.1 at 44000 that fills at 43900 (paper); then the
    exchange forgets the add, before the watcher saw its fill."""
    mark("45000")
    opened = manager.open_position(**btc(side="long", size=D("0.1")))
    manager.open_position(**btc(side="long", size=D("0.1"), entry_price=D("44000")))
    add = Order.objects.get(role=OrderRole.ADD)
    mark("43900")
    outside.forget("okx", add.exchange_order_id or "", keep_trades=keep_trades)
    return Position.objects.get(pk=opened.id), add


def test_forgotten_filled_add_is_never_adopted_as_a_second_position(manager: PositionManager) -> None:
    position, add = filled_then_forgotten_add(manager)

    output = reconcile("--apply")

    assert Position.objects.filter(user_id=USER, status=PositionStatus.OPEN).count() == 1
    position.refresh_from_db()
    assert position.size in (D("0.1"), D("0.2"))  # 0.2 once the add is settled with its own fill (orders.sync)
    nothing_adopted_or_estimated()
    assert (
        "[size_mismatch] user123 okx BTC-USDT-SWAP: long: 0.1 here, 0.2 there -> reported: explained by trades of "
        f"our order(s) {add.pk} not booked yet" in output
    )
    assert "resolved" not in output
    # a second run books nothing either
    reconcile("--apply")
    nothing_adopted_or_estimated()


def test_forgotten_filled_entry_is_not_adopted_as_an_unknown_position(manager: PositionManager) -> None:
    mark("45000")
    manager.open_position(**btc(side="short", size=D("0.05"), entry_price=D("46000")))
    entry = Order.objects.get(role=OrderRole.ENTRY)
    mark("46100")
    outside.forget("okx", entry.exchange_order_id or "")

    output = reconcile("--apply")

    nothing_adopted_or_estimated()
    assert Position.objects.filter(status=PositionStatus.OPEN).count() <= 1  # the entry's own, once settled
    assert "[unknown_position] user123 okx BTC-USDT-SWAP: short 0.05 on the exchange only -> reported: " in output


def test_forgotten_add_without_listed_trades_is_not_estimated_while_the_order_is_in_doubt(
    manager: PositionManager,
) -> None:
    position, add = filled_then_forgotten_add(manager, keep_trades=False)

    output = reconcile("--apply")

    nothing_adopted_or_estimated()
    position.refresh_from_db()
    assert position.size == D("0.1")
    assert f"reported: our order(s) {add.pk} are in doubt on the exchange: nothing is estimated meanwhile" in output


def test_filled_order_forgotten_after_we_booked_it_changes_nothing(manager: PositionManager) -> None:
    mark("45000")
    manager.open_position(**btc(side="long", size=D("0.1")))
    entry = Order.objects.get(role=OrderRole.ENTRY)
    outside.forget("okx", entry.exchange_order_id or "")

    output = reconcile("--apply")

    assert output.splitlines()[-1] == "0 difference(s): 0 applied, 0 reported"
    nothing_adopted_or_estimated()


def test_an_outside_trade_is_still_booked_beside_a_forgotten_order_of_ours(manager: PositionManager) -> None:
    position, add = filled_then_forgotten_add(manager)
    outside.sell("okx", USER, BTC, "0.03", position_side="long")  # at 43900

    output = reconcile("--apply")

    position.refresh_from_db()
    [adjustment] = Order.objects.filter(role=OrderRole.ADJUSTMENT)
    assert adjustment.quantity == D("0.03")
    assert position.size in (D("0.07"), D("0.17"))  # 0.17 once the add is settled with its own fill
    assert f"our order(s) {add.pk} book the rest" in output


def test_okx_forgotten_filled_add_is_never_a_second_position(okx: OkxLoopback, manager: PositionManager) -> None:
    opened = manager.open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long", size=D("0.1"))
    manager.open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long", size=D("0.1"),
                          entry_price=D("44000"))  # fmt: skip
    add = Order.objects.get(role=OrderRole.ADD)
    okx.fill(add.exchange_order_id or "", "10")
    okx.forget(add.exchange_order_id or "")

    output = reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    nothing_adopted_or_estimated()
    assert Position.objects.filter(status=PositionStatus.OPEN).count() == 1
    assert Position.objects.get(pk=opened.id).size in (D("0.1"), D("0.2"))
    assert f"explained by trades of our order(s) {add.pk} not booked yet" in output
