"""The SPEC's hand-checked PnL vector, run through real orders on the paper exchange."""

from __future__ import annotations

from decimal import Decimal

import pytest

from positions.models import Position
from positions.services import PositionManager
from tests.managers import btc, mark

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def one_bp_fees(settings):  # type: ignore[no-untyped-def]
    settings.TRADING_PAPER_TAKER_FEE = "0.0001"
    settings.TRADING_PAPER_MAKER_FEE = "0.0001"
    settings.TRADING_PAPER_SLIPPAGE_BPS = "0"


def test_hand_checked_vector_through_paper_orders(one_bp_fees) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager()
    mark("100")
    position = manager.open_position(**btc(side="long", size="12"))
    mark("99")
    manager.open_position(**btc(side="long", size="17"))
    mark("101")
    manager.close_position(position.id, size="9")
    mark("105")
    manager.close_position(position.id, size="4")
    mark("103")
    manager.open_position(**btc(side="long", size="3"))

    row = Position.objects.get(pk=position.id)
    assert row.size == D("19")
    assert row.entry_price == D("99.98003630")
    assert row.realized_pnl == D("36.62068966")
    assert row.fees == D("0.4521")
    assert row.realized_pnl - row.fees == D("36.16858966")
