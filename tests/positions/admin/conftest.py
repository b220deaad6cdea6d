"""A small book of positions, made through the managers on the paper exchange, for the admin tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from positions.models import Position
from positions.services import PositionManager
from tests.managers import ETH, btc, mark

D = Decimal


@dataclass
class Book:
    alice: Position  # open long 0.1 BTC, stop-loss 44000, marked 45500 (a gain)
    bob: Position  # open short 0.2 BTC, no stop-loss (a loss at 45500), flagged in review
    grid: Position  # open long 0.03 BTC on grid level 4, no stop-loss
    carol: Position  # closed long 0.5 ETH

    def refreshed(self) -> Book:
        return Book(*(Position.objects.get(pk=p.pk) for p in (self.alice, self.bob, self.grid, self.carol)))


@pytest.fixture
def book(transactional_db: None) -> Book:
    manager = PositionManager(actor="system:bot")
    mark("45000")
    mark("2500", symbol=ETH)
    alice = manager.open_position(**btc(user_id="alice", side="long", size=D("0.1"), leverage=10,
                                        stop_loss_price=D("44000")))  # fmt: skip
    bob = manager.open_position(**btc(user_id="bob", side="short", size=D("0.2"), leverage=5))
    grid = manager.open_position(**btc(user_id="grid-bot", side="long", size=D("0.03"), grid_level=4))
    carol = manager.open_position(user_id="carol", exchange="okx", symbol=ETH, side="long", size=D("0.5"))
    mark("2600", symbol=ETH)
    manager.close_position(carol.id, reason="done")
    mark("45500")
    manager.refresh_marks()
    manager.review_position(bob.id, status="flagged", note="too big", reviewer="lead")
    return Book(*(Position.objects.get(pk=p.id) for p in (alice, bob, grid, carol)))
