"""SPEC intro lists what the public implementation of the seeds got wrong. Each is shown here not to
happen (some in more depth elsewhere, named in the docstrings)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from positions.models import Position
from positions.services import PositionManager
from tests.managers import BTC, USER, btc, mark
from tradingcore.redis import keys

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def test_the_order_manager_imports_and_places_orders() -> None:
    from orders.services import OrderManager

    mark("100")
    order = OrderManager().create_order(**btc(side="buy", order_type="market", quantity="0.1"))

    assert order.is_filled


def test_position_lookups_work_without_a_symbol() -> None:
    mark("100")
    position = PositionManager().open_position(**btc(side="long", size="0.1"))

    assert [p.id for p in PositionManager().get_positions(user_id=USER, exchange="okx")] == [position.id]


def test_a_full_close_records_its_realized_pnl() -> None:
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="short", size="1"))
    mark("90")

    closed = manager.close_position(position.id)

    assert closed.status == "closed"
    assert closed.pnl_info.realized_pnl == D("10")


def test_pnl_is_never_multiplied_by_leverage() -> None:
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="long", size="1", leverage=50))

    assert manager.calculate_pnl(position, D("101")).unrealized_pnl == D("1")


def test_order_placement_is_never_retried_blindly() -> None:
    """Shown against the real ccxt client: tests/positions/services/test_real_exchange_path.py and
    tests/tradingcore/exchange/test_ccxt_gateway.py (one place request on the server after a timeout).
    Here: a retry of the same request with its client order id places nothing new."""
    from orders.services import OrderManager
    from tradingcore.exchange.paper.models_access import paper_orders_with_client_id

    mark("100")
    request = btc(side="buy", order_type="market", quantity="0.1", client_order_id="sameidtwice")
    OrderManager().create_order(**request)
    OrderManager().create_order(**request)

    assert paper_orders_with_client_id("okx", "sameidtwice") == 1


def test_state_is_persisted_to_postgresql_and_dual_written_to_redis(redis_client) -> None:  # type: ignore[no-untyped-def]
    """Atomicity of the Redis writes: tests/tradingcore/redis/test_atomicity.py."""
    mark("100")
    position = PositionManager().open_position(**btc(side="long", size="0.1", grid_level=3))

    assert Position.objects.filter(pk=position.id).exists()
    assert Order.objects.filter(position_id=position.id).exists()
    assert redis_client.hget(keys.position(USER, "okx", BTC, "long", 3), "size") == "0.1"
    assert redis_client.hget(keys.grid_level("okx", USER, BTC, 3), "position_size") == "10.0"  # contracts
    assert str(position.id) in redis_client.smembers(keys.positions_active())
