"""Exchange errors during admin actions are messages on the page, never server errors.

Dry-run is off: the real ccxt client talks to the loopback OKX (the simulated outside world), which
is told to fail; the paper exchange stays simulated.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from positions.models import Position
from positions.services import PositionManager
from tests.admin_clients import act_url, confirm, messages_of, staff_client
from tests.managers import BTC, mark
from tests.tradingcore.exchange.okx_loopback import MARK_PRICE, PLACE_ALGO, PLACE_ORDER, OkxLoopback, loopback_account

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
USER = "okx-admin-user"


@pytest.fixture
def okx(settings: Any) -> Iterator[OkxLoopback]:
    yield from loopback_account(settings, USER)


@pytest.fixture
def on_okx(okx: OkxLoopback) -> Position:
    opened = PositionManager(actor="system:bot").open_position(
        user_id=USER, exchange="okx", symbol=BTC, side="long", size=D("0.1"), stop_loss_price=D("44000")
    )
    return Position.objects.get(pk=opened.id)


def root() -> Any:
    return staff_client("root", superuser=True)


def test_an_unreachable_exchange_during_a_close_is_a_message(okx: OkxLoopback, on_okx: Position) -> None:
    okx.fail("POST", PLACE_ORDER, http_status=503)

    done = confirm(root(), act_url("positions", "position", "close"), [on_okx.pk], size="0.05", reason="x")

    assert done.status_code == 200
    [message] = [m for m in messages_of(done) if "failed" in m]
    assert "close at market failed:" in message
    assert "(exchange_unavailable)" in message or "(order_outcome_unknown)" in message
    assert Position.objects.get(pk=on_okx.pk).size == D("0.1")


def test_a_stop_the_exchange_refuses_is_a_message_and_the_old_stop_stays(okx: OkxLoopback, on_okx: Position) -> None:
    okx.fail("POST", PLACE_ALGO, okx_code="51000", message="Parameter slTriggerPx error")

    done = confirm(
        root(), act_url("positions", "position", "protection"), [on_okx.pk], stop_loss_price="44500",
        take_profit_price="",
    )  # fmt: skip

    [message] = [m for m in messages_of(done) if "failed" in m]
    assert "refused by the exchange" in message
    assert "(protection_refused)" in message
    assert Position.objects.get(pk=on_okx.pk).stop_loss_price == D("44000")


def test_a_mark_the_exchange_does_not_give_is_a_message(okx: OkxLoopback, on_okx: Position) -> None:
    okx.fail("GET", MARK_PRICE, http_status=503, times=5)

    done = confirm(root(), act_url("positions", "position", "refresh"), [on_okx.pk])

    assert any(f"okx gave no mark for {BTC}: nothing changed (exchange_unavailable)" in m for m in messages_of(done))


def test_a_bulk_close_reports_the_failure_beside_the_success(okx: OkxLoopback, on_okx: Position) -> None:
    mark("45000", exchange="paper")
    on_paper = PositionManager(actor="system:bot").open_position(
        user_id="paper-user", exchange="paper", symbol=BTC, side="long", size=D("0.1")
    )
    okx.fail("POST", PLACE_ORDER, okx_code="51008")  # insufficient margin: a permanent refusal

    done = confirm(root(), act_url("positions", "position", "close"), [on_okx.pk, on_paper.id], reason="x")

    messages = messages_of(done)
    assert any(str(on_okx.pk)[:8] in m and "(insufficient_funds)" in m for m in messages)
    assert any(str(on_paper.id)[:8] in m and "closed at 45000" in m for m in messages)
    assert "Close at market on 2 positions: 1 done, 1 failed, 0 skipped." in messages
    assert Position.objects.get(pk=on_okx.pk).status == "open"
    assert Position.objects.get(pk=on_paper.id).status == "closed"
