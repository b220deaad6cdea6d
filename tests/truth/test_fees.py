"""Kind 5 of issue 9: fees as exchanges report them.

A maker rebate is a negative fee; a fee in the base coin is converted at the fill price; a fee in
any other currency is kept apart in its own currency, never added to a USDT figure.
Loopback OKX with real ccxt; BTC-USDT-SWAP, 0.01 BTC a contract; taker 5 bp.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order, OrderFill
from orders.services import OrderManager
from positions.models import Position
from tests.truth.conftest import BTC, OKX_USER
from tradingcore.enums import OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def order(**values: object) -> dict[str, object]:
    return {"user_id": OKX_USER, "exchange": "okx", "symbol": BTC, **values}


def test_maker_rebate_is_a_negative_fee_on_the_order_its_fill_and_the_position(okx_rebate) -> None:  # type: ignore[no-untyped-def]
    okx_rebate.set_mark(BTC, "60000")
    manager = OrderManager()
    placed = manager.create_order(**order(side="buy", order_type="limit", quantity="0.1", price="59000"))

    okx_rebate.fill(placed.exchange_order_id, "10")
    filled = manager.refresh_order(placed.id)

    assert filled.status == OrderStatus.FILLED
    assert filled.fee == D("-1.18")
    fill = OrderFill.objects.get(order_id=placed.id)
    assert (fill.fee, fill.fee_currency, fill.liquidity) == (D("-1.18"), "USDT", "maker")
    position = Position.objects.get(user_id=OKX_USER)
    assert position.fees == D("-1.18")
    assert position.entry_price == D("59000")


def test_fee_in_the_base_coin_is_converted_at_the_fill_price(okx) -> None:  # type: ignore[no-untyped-def]
    okx.set_mark(BTC, "60000")
    okx.charge_fees_in("BTC")

    placed = OrderManager().create_order(**order(side="buy", order_type="market", quantity="0.1"))

    # 5 bp of 0.1 BTC = 0.00005 BTC, worth 3 USDT at 60000.
    fill = OrderFill.objects.get(order_id=placed.id)
    assert fill.fee == D("3")
    assert fill.fee_currency == "USDT"
    assert fill.fees == [{"amount": "0.00005", "currency": "BTC"}]
    assert Order.objects.get(pk=placed.id).fee == D("3")
    assert Position.objects.get(user_id=OKX_USER).fees == D("3")


def test_fee_in_a_platform_token_is_kept_apart_and_never_added_to_usdt(okx) -> None:  # type: ignore[no-untyped-def]
    okx.set_mark(BTC, "60000")
    okx.charge_fees_in("OKB", price="50")

    placed = OrderManager().create_order(**order(side="buy", order_type="market", quantity="0.1"))

    # 5 bp of 6000 USDT = 3 USDT, charged as 0.06 OKB.
    stored = Order.objects.get(pk=placed.id)
    assert stored.fee == D("0")
    assert {currency: D(amount) for currency, amount in stored.other_fees.items()} == {"OKB": D("0.06")}
    position = Position.objects.get(user_id=OKX_USER)
    assert position.fees == D("0")
    assert {currency: D(amount) for currency, amount in position.other_fees.items()} == {"OKB": D("0.06")}


def test_a_fill_with_fees_in_two_currencies_keeps_both(okx) -> None:  # type: ignore[no-untyped-def]
    # OKX reports one fee currency per order; other exchanges (a ccxt ``fees`` list) report
    # several. The report is the outside world's data: apply it as the exchange would send it.
    from orders import execution
    from tradingcore.enums import Liquidity, OrderSide, OrderType
    from tradingcore.exchange import ExchangeFill, ExchangeOrder, Fee

    okx.set_mark(BTC, "60000")
    manager = OrderManager()
    placed = manager.create_order(**order(side="buy", order_type="limit", quantity="0.1", price="59000"))
    row = Order.objects.get(pk=placed.id)
    fees = (Fee(D("1.5"), "USDT"), Fee(D("0.01"), "BNB"), Fee(D("0.00001"), "BTC"))
    fill = ExchangeFill(
        "t-1", D("59000"), D("0.1"), fees=fees, liquidity=Liquidity.MAKER, fee=D("1.5"), fee_currency="USDT"
    )
    remote = ExchangeOrder(
        exchange_order_id=row.exchange_order_id, client_order_id=row.client_order_id, symbol=BTC,
        side=OrderSide.BUY, order_type=OrderType.LIMIT, status=OrderStatus.FILLED, quantity=D("0.1"),
        filled_qty=D("0.1"), avg_fill_price=D("59000"), fills=(fill,),
    )  # fmt: skip

    applied = execution.apply_exchange_state(row, remote, actor="test")

    assert applied.fee == D("2.09")  # 1.5 USDT + 0.00001 BTC x 59000
    assert {currency: D(amount) for currency, amount in applied.other_fees.items()} == {"BNB": D("0.01")}
    stored = OrderFill.objects.get(order_id=placed.id)
    assert [(D(item["amount"]), item["currency"]) for item in stored.fees] == [
        (D("1.5"), "USDT"), (D("0.01"), "BNB"), (D("0.00001"), "BTC"),
    ]  # fmt: skip
    position = Position.objects.get(user_id=OKX_USER)
    assert position.fees == D("2.09")
    assert {currency: D(amount) for currency, amount in position.other_fees.items()} == {"BNB": D("0.01")}
