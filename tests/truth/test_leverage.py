"""Kind 11 of issue 9: leverage is part of the position.

Leverage is set only when it changes; a new leverage applies to the whole position on the
exchange, so it is recorded at once with an event and a notice in the answer, and restored when
the order that needed it is refused. Loopback OKX with real ccxt, hedge mode.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.tradingcore.exchange.okx_loopback import PLACE_ORDER, SET_LEVERAGE
from tests.truth.conftest import BTC, OKX_USER
from tradingcore.exceptions import ExchangeError, InsufficientFunds

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
LONG = {"user_id": OKX_USER, "exchange": "okx", "symbol": BTC, "side": "long"}


def exchange_leverage(okx) -> str:  # type: ignore[no-untyped-def]
    return okx.leverage[(BTC, "cross", "long")]


def test_an_add_at_10x_that_the_exchange_refuses_leaves_both_sides_at_5x(okx) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager()
    opened = manager.open_position(**LONG, size="0.1", leverage=5)
    okx.fail("POST", PLACE_ORDER, okx_code="51008")

    with pytest.raises(InsufficientFunds):
        manager.open_position(**LONG, size="0.1", leverage=10)

    assert exchange_leverage(okx) == "5"
    position = Position.objects.get(pk=opened.id)
    assert (position.size, position.leverage) == (D("0.1"), 5)
    changes = PositionEvent.objects.filter(position=position, type="leverage_changed").order_by("id")
    assert [(e.parameters["previous"], e.parameters["leverage"], e.parameters["reason"]) for e in changes] == [
        (5, 10, "add"),
        (10, 5, "restored after a refused add"),
    ]


def test_an_add_at_the_unchanged_leverage_never_calls_set_leverage_even_with_a_live_stop(okx) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager()
    opened = manager.open_position(**LONG, size="0.1", leverage=5, stop_loss_price="44000")
    calls = len(okx.requests_to(SET_LEVERAGE, "POST"))

    added = manager.open_position(**LONG, size="0.1", leverage=5)
    added_again = manager.open_position(**LONG, size="0.1")  # no leverage named: the position's

    assert len(okx.requests_to(SET_LEVERAGE, "POST")) == calls
    assert (added_again.id, added_again.size, added_again.leverage) == (opened.id, D("0.3"), 5)
    assert "notice" not in added.metadata


def test_an_add_that_changes_the_leverage_says_so_in_the_answer_and_the_event(okx) -> None:  # type: ignore[no-untyped-def]
    manager = PositionManager()
    opened = manager.open_position(**LONG, size="0.1", leverage=5)

    added = manager.open_position(**LONG, size="0.1", leverage=10)

    assert exchange_leverage(okx) == "10"
    assert (added.size, added.leverage) == (D("0.2"), 10)
    assert added.metadata["notice"] == "the whole position's leverage changed from 5x to 10x"
    assert "notice" not in Position.objects.get(pk=opened.id).metadata
    event = PositionEvent.objects.get(position_id=opened.id, type="leverage_changed")
    assert (event.parameters["previous"], event.parameters["leverage"]) == (5, 10)


def test_a_leverage_change_the_exchange_refuses_changes_nothing(okx) -> None:  # type: ignore[no-untyped-def]
    # With a live stop, OKX refuses any set-leverage call (59000): the add is not sent at all.
    manager = PositionManager()
    opened = manager.open_position(**LONG, size="0.1", leverage=5, stop_loss_price="44000")
    orders_before = len(okx.requests_to(PLACE_ORDER, "POST"))

    with pytest.raises(ExchangeError) as caught:
        manager.open_position(**LONG, size="0.1", leverage=10)

    assert "59000" in str(caught.value)
    assert len(okx.requests_to(PLACE_ORDER, "POST")) == orders_before
    assert Position.objects.get(pk=opened.id).leverage == 5
    assert exchange_leverage(okx) == "5"
