"""Kind 14 of issue 9, the service side: reconcile adopts what the exchange holds with every fact
the gateway reports, and reports instruments the service does not model by name.

A live order placed on the exchange outside the service is adopted with its post-only flag, time
in force and position side (its fees come with its fills); an inverse contract (OKX
``BTC-USD-SWAP``, 100 USD a contract) is named in the report, never read as a linear one, and
the rest of the run goes on. OKX BTC-USDT-SWAP: 0.01 BTC a contract, maker fee 2 bp.
"""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders import watcher
from orders.models import Order
from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, mark
from tests.tradingcore.exchange.okx_loopback import OkxLoopback
from tests.truth.conftest import OKX_USER
from tradingcore.enums import OrderSide, OrderStatus, OrderType, PositionSide, PositionStatus
from tradingcore.exchange import OrderRequest, get_gateway
from tradingcore.exchange.paper import outside

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
INVERSE = "BTC-USD-SWAP"


def reconcile(*args: str) -> tuple[str, bool]:
    """``manage.py reconcile`` output, and whether it exited with status 1."""
    out = StringIO()
    try:
        call_command("reconcile", *args, stdout=out)
    except CommandError:
        return out.getvalue(), True
    return out.getvalue(), False


def place_behind_our_back(user_id: str, **fields: object) -> None:
    """Someone places an order on the exchange's website with the account's own keys."""
    values: dict[str, object] = {"symbol": BTC, "order_type": OrderType.LIMIT}
    values.update(fields)
    get_gateway(user_id, "okx").place_order(OrderRequest(**values))  # type: ignore[arg-type]


def adopted(client_order_id: str) -> tuple[object, ...]:
    order = Order.objects.get(client_order_id=client_order_id)
    return (order.status, order.side, order.quantity, order.price, order.post_only, order.time_in_force,
            order.position_side, order.metadata)  # fmt: skip


# -- live orders keep every attribute ------------------------------------------------------------------


def test_live_post_only_order_is_adopted_as_post_only_with_its_position_side_on_paper() -> None:
    mark("45000")
    place_behind_our_back(USER, side=OrderSide.SELL, quantity=D("0.05"), price=D("46000"), post_only=True,
                          position_side=PositionSide.SHORT, client_order_id="manualpost1")  # fmt: skip

    output, failed = reconcile("--apply", "--user-id", USER, "--exchange", "okx")

    assert adopted("manualpost1") == (
        OrderStatus.OPEN, "sell", D("0.05"), D("46000"), True, "GTC", "short", {"adopted": True},
    )  # fmt: skip
    assert "[unknown_order]" in output
    assert output.splitlines()[-1] == "1 difference(s): 1 applied, 0 reported"
    assert not failed
    # when it fills as a maker, the short opens with the exchange's maker fee
    mark("46100")
    watcher.run_pass(interval=0)
    short = Position.objects.get(user_id=USER, side="short", status=PositionStatus.OPEN)
    assert (short.size, short.entry_price, short.fees) == (D("0.05"), D("46000"), D("0.46"))


def test_okx_live_post_only_order_is_adopted_as_post_only(okx: OkxLoopback) -> None:
    place_behind_our_back(OKX_USER, side=OrderSide.BUY, quantity=D("0.05"), price=D("44000"), post_only=True,
                          position_side=PositionSide.LONG, client_order_id="manualpost2")  # fmt: skip

    reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    assert adopted("manualpost2") == (
        OrderStatus.OPEN, "buy", D("0.05"), D("44000"), True, "GTC", "long", {"adopted": True},
    )  # fmt: skip
    okx.fill(Order.objects.get(client_order_id="manualpost2").exchange_order_id or "", "5")
    watcher.run_pass(interval=0)
    long = Position.objects.get(user_id=OKX_USER, side="long", status=PositionStatus.OPEN)
    assert (long.size, long.entry_price, long.fees) == (D("0.05"), D("44000"), D("0.44"))


def test_okx_net_mode_order_is_adopted_without_a_position_side(okx_net: OkxLoopback) -> None:
    place_behind_our_back(OKX_USER, side=OrderSide.SELL, quantity=D("0.03"), price=D("47000"), post_only=True,
                          client_order_id="manualpost3")  # fmt: skip

    reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    assert adopted("manualpost3") == (
        OrderStatus.OPEN, "sell", D("0.03"), D("47000"), True, "GTC", "", {"adopted": True},
    )  # fmt: skip


def test_okx_partly_filled_order_is_adopted_with_its_fill_and_fee(okx: OkxLoopback) -> None:
    place_behind_our_back(OKX_USER, side=OrderSide.BUY, quantity=D("0.1"), price=D("44000"),
                          position_side=PositionSide.LONG, client_order_id="manuallimit4")  # fmt: skip
    okx.fill(okx.order_by_client_id("manuallimit4")["ordId"], "4")  # type: ignore[index]

    output, failed = reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    order = Order.objects.get(client_order_id="manuallimit4")
    assert (order.status, order.filled_qty, order.avg_fill_price, order.fee) == (
        OrderStatus.PARTIALLY_FILLED, D("0.04"), D("44000"), D("0.352"),
    )  # fmt: skip
    position = Position.objects.get(user_id=OKX_USER, status=PositionStatus.OPEN)
    assert (position.side, position.size, position.fees) == ("long", D("0.04"), D("0.352"))
    assert output.splitlines()[-1] == "1 difference(s): 1 applied, 0 reported"  # no second position for its fill
    assert not failed


# -- instruments the service does not model ----------------------------------------------------------


def test_okx_inverse_position_is_reported_by_name_and_the_run_goes_on(okx: OkxLoopback) -> None:
    PositionManager().open_position(user_id=OKX_USER, exchange="okx", symbol=BTC, side="long", size=D("0.1"))
    okx.set_position(INVERSE, "long", "1", "60000")  # one contract of 100 USD, not 100 BTC
    okx.trade_directly(BTC, "sell", "4", "long")

    output, failed = reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    assert (
        "[unsupported_instrument] okx-user-1 okx BTC-USD-SWAP: okx BTC-USD-SWAP is an inverse contract "
        "(100 USD per contract, settled in BTC)" in output
    )
    assert "-> reported: not reconciled" in output
    assert Position.objects.get(user_id=OKX_USER, status=PositionStatus.OPEN).size == D("0.06")  # the rest applied
    assert not Position.objects.filter(symbol=INVERSE).exists()
    assert output.splitlines()[-1] == "2 difference(s): 1 applied, 1 reported"
    assert failed


def test_a_position_of_ours_on_an_unmodelled_instrument_is_reported_by_name(okx: OkxLoopback) -> None:
    # given a position recorded on the inverse contract (say, imported from a legacy bot's keys)
    Position.objects.create(user_id=OKX_USER, exchange="okx", symbol=INVERSE, side="long", size=D("1"),
                            entry_price=D("60000"))  # fmt: skip

    output, failed = reconcile("--apply", "--user-id", OKX_USER, "--exchange", "okx")

    assert "[unsupported_instrument] okx-user-1 okx BTC-USD-SWAP: okx BTC-USD-SWAP is an inverse contract" in output
    assert Position.objects.get(symbol=INVERSE).status == PositionStatus.OPEN  # never closed at a wrong size
    assert failed


def test_paper_outside_trade_and_live_order_in_one_run() -> None:
    mark("45000")
    manager = PositionManager()
    opened = manager.open_position(user_id=USER, exchange="okx", symbol=BTC, side="long", size=D("0.1"))
    outside.sell("okx", USER, BTC, "0.02", position_side=PositionSide.LONG)
    place_behind_our_back(USER, side=OrderSide.BUY, quantity=D("0.02"), price=D("44000"),
                          position_side=PositionSide.LONG, client_order_id="manuallimit5")  # fmt: skip

    output, failed = reconcile("--apply")

    assert Position.objects.get(pk=opened.id).size == D("0.08")
    assert Order.objects.get(client_order_id="manuallimit5").status == OrderStatus.OPEN
    assert output.splitlines()[-1] == "2 difference(s): 2 applied, 0 reported"
    assert not failed
