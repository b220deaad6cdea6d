"""`manage.py set_paper_price EXCHANGE SYMBOL PRICE [--volume V]`."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tradingcore.enums import OrderSide, OrderStatus, OrderType
from tradingcore.exchange.base import OrderRequest
from tradingcore.exchange.paper import PaperGateway

pytestmark = pytest.mark.django_db
D = Decimal
BTC = "BTC-USDT-SWAP"


def run(*args: str) -> str:
    out = StringIO()
    call_command("set_paper_price", *args, stdout=out)
    return out.getvalue()


def test_sets_the_mark_from_a_unified_symbol_and_says_nothing_filled() -> None:
    output = run("paper", "btc/usdt:usdt", "50000")

    assert "paper BTC-USDT-SWAP mark set to 50000" in output
    assert "no orders filled" in output
    assert PaperGateway(exchange="paper", user_id="u").fetch_mark_price(BTC) == D("50000")


def test_prints_each_fill_the_mark_move_caused_and_honours_volume() -> None:
    run("okx", BTC, "50000")
    gateway = PaperGateway(exchange="okx", user_id="cmd-user")
    placed = gateway.place_order(
        OrderRequest(BTC, OrderSide.BUY, OrderType.LIMIT, D("0.03"), "commandlimit01", price=D("49000"))
    )

    output = run("okx", BTC, "48900", "--volume", "0.01")

    assert f"filled {placed.exchange_order_id} (client commandlimit01, user cmd-user)" in output
    assert "buy 0.01 BTC @ 49000 maker" in output
    assert "order partially_filled 0.01/0.03" in output
    assert gateway.fetch_order(BTC, exchange_order_id=placed.exchange_order_id).status == OrderStatus.PARTIALLY_FILLED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("kraken", BTC, "100"), "exchange"),
        (("okx", "NOPE-USDT-SWAP", "100"), "does not list"),
        (("okx", BTC, "abc"), "not a number"),
        (("okx", BTC, "0"), "greater than zero"),
        (("okx", BTC, "-5"), "greater than zero"),
        (("okx", BTC, "NaN"), "finite"),
        (("okx", BTC, "100", "--volume", "-1"), "volume"),
    ],
)
def test_bad_input_is_a_clear_command_error(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
