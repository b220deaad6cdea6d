"""Reconciliation with the exchange: report, then adopt or close with --apply."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order
from positions.models import Position, PositionEvent
from positions.services import PositionManager
from tests.managers import BTC, ETH, USER, mark
from tradingcore.enums import OrderSide, OrderType, PositionSide
from tradingcore.exchange import OrderRequest, get_gateway

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def behind_our_back(request: OrderRequest) -> None:
    """Something (a person on the exchange's website) trades the account directly."""
    get_gateway(USER, "okx").place_order(request)


def request(**fields: object) -> OrderRequest:
    values: dict[str, object] = {"symbol": BTC, "client_order_id": "manual" + str(len(fields)) + "x"}
    values.update(fields)
    return OrderRequest(**values)  # type: ignore[arg-type]


def test_reconcile_reports_then_applies_every_kind_of_difference(capsys) -> None:  # type: ignore[no-untyped-def]
    mark("100")
    mark("2000", symbol=ETH)
    ours = PositionManager().open_position(user_id=USER, exchange="okx", symbol=BTC, side="long", size="0.5")
    # closed on the exchange behind our back
    behind_our_back(request(side=OrderSide.SELL, order_type=OrderType.MARKET, quantity=D("0.5"), reduce_only=True,
                            position_side=PositionSide.LONG, client_order_id="manualclose1"))  # fmt: skip
    # opened on the exchange behind our back
    behind_our_back(request(symbol=ETH, side=OrderSide.SELL, order_type=OrderType.MARKET, quantity=D("1"),
                            position_side=PositionSide.SHORT, client_order_id="manualopen1"))  # fmt: skip
    # a resting order we never placed
    behind_our_back(request(side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=D("0.1"), price=D("90"),
                            position_side=PositionSide.LONG, client_order_id="manuallimit1"))  # fmt: skip

    with pytest.raises(CommandError):
        call_command("reconcile")
    report = capsys.readouterr().out
    assert "[missing_position]" in report
    assert "[unknown_position]" in report
    assert "[unknown_order]" in report
    assert Position.objects.get(pk=ours.id).status == "open"

    call_command("reconcile", "--apply")

    closed = Position.objects.get(pk=ours.id)
    assert closed.status == "closed"
    assert PositionEvent.objects.filter(position=closed, type="reconciled", actor="system:reconcile").exists()
    adopted = Position.objects.get(user_id=USER, symbol=ETH, status="open")
    assert (adopted.side, adopted.size, adopted.entry_price) == ("short", D("1"), D("2000"))
    assert Order.objects.filter(client_order_id="manuallimit1", status="open").exists()
    call_command("reconcile")  # nothing left: no CommandError


def test_summary_counts_applied_and_reported_apart_and_json_says_which(capsys) -> None:  # type: ignore[no-untyped-def]
    mark("100")
    PositionManager().open_position(user_id=USER, exchange="okx", symbol=BTC, side="long", size="0.5")
    behind_our_back(request(side=OrderSide.SELL, order_type=OrderType.MARKET, quantity=D("0.2"), reduce_only=True,
                            position_side=PositionSide.LONG, client_order_id="manualsale1"))  # fmt: skip

    with pytest.raises(CommandError, match="1 difference"):
        call_command("reconcile", "--json")
    [reported] = json.loads(capsys.readouterr().out)
    assert (reported["kind"], reported["applied"], reported["action"][:9]) == ("size_mismatch", False, "reported:")

    call_command("reconcile", "--apply")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 difference(s): 1 applied, 0 reported"
    assert not any("resolved" in line for line in lines)
