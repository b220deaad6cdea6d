"""Kind 1 of issue 9: protective orders that no longer protect.

A position is never left silently unprotected, and a caller is never told of a stop-loss or
take-profit the exchange does not hold. Paper exchange, OKX BTC-USDT-SWAP (0.01 BTC a contract).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders import watcher
from orders.models import Order
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import btc, mark
from tradingcore.enums import OrderStatus, PositionStatus
from tradingcore.exceptions import InvalidOrder, ProtectionRefused

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def manager() -> PositionManager:
    return PositionManager(actor="system:test")


def live_protection(position_id: object) -> list[tuple[str, Decimal, Decimal]]:
    live = Order.objects.filter(position_id=position_id, status__in=["open", "partially_filled", "pending"])
    return sorted((o.role, o.trigger_price, o.quantity - o.filled_qty) for o in live if o.trigger_price is not None)


def open_long(manager: PositionManager, **protection: Decimal):  # type: ignore[no-untyped-def]
    mark("45000")
    return manager.open_position(**btc(side="long", size=D("0.1"), **protection))


# -- a partly filled stop keeps protecting ----------------------------------------------------------


def test_partly_filled_stop_keeps_protecting_and_closes_the_rest_at_43800(manager: PositionManager) -> None:
    opened = open_long(manager, stop_loss_price=D("44000"))

    mark("43900", volume="0.04")
    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=opened.id)
    assert position.status == PositionStatus.OPEN
    assert position.size == D("0.06")
    assert position.stop_loss_price == D("44000")
    assert live_protection(opened.id) == [("stop_loss", D("44000"), D("0.06"))]
    assert Order.objects.filter(position_id=opened.id, role="stop_loss").count() == 1  # never replaced

    mark("43800")
    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert position.status == PositionStatus.CLOSED
    assert position.realized_pnl == D("-116")
    assert position.close_reason == "stop loss"


def test_partly_filled_take_profit_keeps_protecting_the_rest(manager: PositionManager) -> None:
    opened = open_long(manager, take_profit_price=D("46000"))

    mark("46100", volume="0.03")
    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=opened.id)
    assert position.size == D("0.07")
    assert live_protection(opened.id) == [("take_profit", D("46000"), D("0.07"))]

    mark("46200")
    watcher.run_pass(interval=0)

    position.refresh_from_db()
    assert position.status == PositionStatus.CLOSED
    assert position.realized_pnl == D("0.03") * 1100 + D("0.07") * 1200


def test_an_add_resizes_a_stop_by_placing_the_new_one_before_cancelling_the_old(manager: PositionManager) -> None:
    opened = open_long(manager, stop_loss_price=D("44000"))

    manager.open_position(**btc(side="long", size=D("0.1")))

    assert live_protection(opened.id) == [("stop_loss", D("44000"), D("0.2"))]
    first, second = Order.objects.filter(position_id=opened.id, role="stop_loss").order_by("created_at")
    assert first.status == OrderStatus.CANCELLED
    assert second.created_at < first.updated_at


# -- moving a stop through the market ---------------------------------------------------------------


def test_stop_moved_through_the_mark_is_refused_before_anything_is_sent_and_the_old_stop_stays(
    manager: PositionManager,
) -> None:
    opened = open_long(manager, stop_loss_price=D("44000"))
    mark("44100")
    orders_before = Order.objects.count()

    with pytest.raises(InvalidOrder) as caught:
        manager.update_position(opened.id, stop_loss_price=D("44500"))

    assert caught.value.details == {"stop_loss_price": ["a long's stop-loss must be below the mark 44100"]}
    assert Order.objects.count() == orders_before
    assert Position.objects.get(pk=opened.id).stop_loss_price == D("44000")
    assert live_protection(opened.id) == [("stop_loss", D("44000"), D("0.1"))]


def test_stop_through_the_mark_with_exit_if_triggered_exits_at_market(manager: PositionManager) -> None:
    opened = open_long(manager, stop_loss_price=D("44000"))
    mark("44100")

    closed = manager.update_position(opened.id, stop_loss_price=D("44500"), exit_if_triggered=True)

    assert closed.status == PositionStatus.CLOSED
    assert closed.close_reason == "stop loss"
    assert closed.pnl_info.realized_pnl == D("-90")
    assert live_protection(opened.id) == []


def test_take_profit_moved_through_the_mark_is_refused_for_a_short_too(manager: PositionManager) -> None:
    mark("45000")
    opened = manager.open_position(**btc(side="short", size=D("0.1"), take_profit_price=D("44000")))

    with pytest.raises(InvalidOrder) as caught:
        manager.update_position(opened.id, take_profit_price=D("45100"))

    assert caught.value.details == {"take_profit_price": ["a short's take-profit must be below the mark 45000"]}
    assert live_protection(opened.id) == [("take_profit", D("44000"), D("0.1"))]


def test_moving_a_stop_places_the_new_one_before_cancelling_the_old(manager: PositionManager) -> None:
    opened = open_long(manager, stop_loss_price=D("44000"))

    updated = manager.update_position(opened.id, stop_loss_price=D("44200"))

    assert updated.stop_loss_price == D("44200")
    assert live_protection(opened.id) == [("stop_loss", D("44200"), D("0.1"))]
    old, new = Order.objects.filter(position_id=opened.id, role="stop_loss").order_by("created_at")
    assert old.status == OrderStatus.CANCELLED
    assert new.status == OrderStatus.OPEN
    changed = PositionEvent.objects.filter(position_id=opened.id, type="protection_changed").last()
    assert changed is not None
    assert {name: D(value) for name, value in changed.parameters.items()} == {"stop_loss_price": D("44200")}


def test_removing_a_take_profit_cancels_it_and_clears_the_price(manager: PositionManager) -> None:
    opened = open_long(manager, stop_loss_price=D("44000"), take_profit_price=D("46000"))

    updated = manager.update_position(opened.id, take_profit_price=None)

    assert updated.take_profit_price is None
    assert updated.stop_loss_price == D("44000")
    assert live_protection(opened.id) == [("stop_loss", D("44000"), D("0.1"))]


# -- opening with a stop through the market -----------------------------------------------------------


def test_opening_with_a_stop_above_the_mark_is_refused_before_anything_is_sent(manager: PositionManager) -> None:
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        manager.open_position(**btc(side="long", size=D("0.1"), stop_loss_price=D("45200")))

    assert caught.value.details == {"stop_loss_price": ["a long's stop-loss must be below the mark 45000"]}
    assert not Order.objects.exists()
    assert not Position.objects.exists()


def test_limit_entry_protection_is_checked_against_the_entry_price(manager: PositionManager) -> None:
    mark("45000")

    with pytest.raises(InvalidOrder) as caught:
        manager.open_position(**btc(side="long", size=D("0.1"), entry_price=D("44000"), take_profit_price=D("43900")))

    assert caught.value.details == {"take_profit_price": ["a long's take-profit must be above the entry price 44000"]}
    assert not Order.objects.exists()


def test_stop_refused_after_the_entry_fills_is_an_error_and_the_position_shows_no_stop(
    manager: PositionManager,
) -> None:
    # A limit entry at 45000 with its stop at 44000: by the time it fills the market has fallen
    # through 44000, so the exchange refuses the stop. The watcher books the fill; the position
    # must not claim a stop, and the event says why.
    mark("46000")
    pending = manager.open_position(
        **btc(side="long", size=D("0.1"), entry_price=D("45000"), stop_loss_price=D("44000"))
    )
    mark("43900")
    watcher.run_pass(interval=0)

    position = Position.objects.get(pk=pending.id)
    assert position.status == PositionStatus.OPEN
    assert position.stop_loss_price is None
    assert live_protection(position.pk) == []
    refused = PositionEvent.objects.get(position=position, type="protection_refused")
    assert refused.parameters["field"] == "stop_loss_price"
    assert refused.parameters["price"] == "44000"
    assert refused.parameters["kept_price"] is None
    assert "would fire at once" in refused.parameters["reason"]


# -- the exchange refuses the new order (loopback OKX, real ccxt) -------------------------------------


def test_refused_new_stop_keeps_the_old_one_and_says_so(okx) -> None:  # type: ignore[no-untyped-def]
    from tests.tradingcore.exchange.okx_loopback import PLACE_ALGO
    from tests.truth.conftest import OKX_USER

    manager = PositionManager()
    opened = manager.open_position(
        user_id=OKX_USER, exchange="okx", symbol="BTC-USDT-SWAP", side="long", size="0.1",
        stop_loss_price="44000",
    )  # fmt: skip
    okx.fail("POST", PLACE_ALGO, okx_code="51000", message="Parameter slTriggerPx error")

    with pytest.raises(ProtectionRefused) as caught:
        manager.update_position(opened.id, stop_loss_price=D("44500"))

    assert caught.value.details["kept_price"] == "44000"
    assert caught.value.details["price"] == "44500"
    assert Position.objects.get(pk=opened.id).stop_loss_price == D("44000")
    assert live_protection(opened.id) == [("stop_loss", D("44000"), D("0.1"))]
    assert [algo["slTriggerPx"] for algo in okx.algo_orders.values() if algo["state"] == "live"] == ["44000"]
    refused = PositionEvent.objects.get(position_id=opened.id, type="protection_refused")
    assert refused.parameters["kept_price"] == "44000"


def test_open_whose_stop_the_exchange_refuses_raises_with_the_open_position(okx) -> None:  # type: ignore[no-untyped-def]
    from tests.tradingcore.exchange.okx_loopback import PLACE_ALGO
    from tests.truth.conftest import OKX_USER

    okx.fail("POST", PLACE_ALGO, okx_code="51000", message="Parameter slTriggerPx error")

    with pytest.raises(ProtectionRefused) as caught:
        PositionManager().open_position(
            user_id=OKX_USER, exchange="okx", symbol="BTC-USDT-SWAP", side="long", size="0.1",
            stop_loss_price="44000", take_profit_price="46000",
        )  # fmt: skip

    position = caught.value.position
    assert position.size == D("0.1")
    assert position.status == PositionStatus.OPEN
    assert position.stop_loss_price is None
    assert position.take_profit_price == D("46000")
    assert caught.value.details["fields"] == ["stop_loss_price"]
    assert Position.objects.get(pk=position.id).stop_loss_price is None
    assert live_protection(position.id) == [("take_profit", D("46000"), D("0.1"))]


def test_a_stop_the_exchange_cancelled_is_replaced_by_the_watcher(manager: PositionManager) -> None:
    from tradingcore.exchange import get_gateway

    opened = open_long(manager, stop_loss_price=D("44000"))
    stop = Order.objects.get(position_id=opened.id, role="stop_loss")
    get_gateway(stop.user_id, stop.exchange).cancel_order(stop.symbol, exchange_order_id=stop.exchange_order_id)

    watcher.run_pass(interval=0)

    stop.refresh_from_db()
    assert stop.status == OrderStatus.CANCELLED
    assert live_protection(opened.id) == [("stop_loss", D("44000"), D("0.1"))]
    assert Position.objects.get(pk=opened.id).stop_loss_price == D("44000")
