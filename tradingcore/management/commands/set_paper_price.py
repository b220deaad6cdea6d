"""``manage.py set_paper_price EXCHANGE SYMBOL PRICE [--volume V]``: set a simulated mark.

Sets the paper exchange's mark for one instrument and matches the book at once: triggers the mark
crossed fire, resting limits it crossed fill as maker. Prints the new mark and every fill it caused.
EXCHANGE is ``paper`` or, in dry-run, the simulated real exchange (``okx``); SYMBOL is the native
id (``BTC-USDT-SWAP``) or the ccxt unified symbol (``BTC/USDT:USDT``). Fails with a clear message
for an unknown exchange or symbol, or a price that is not a positive number.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tradingcore.decimals import plain
from tradingcore.exceptions import TradingError
from tradingcore.exchange.instruments import get_market
from tradingcore.exchange.paper import set_mark


class Command(BaseCommand):
    help = (
        "Set the simulated mark price of one instrument on the paper exchange (or a dry-run exchange) and "
        "match its book: crossed triggers fire, crossed resting limits fill. Prints what filled."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("exchange", help="paper, or a simulated exchange in dry-run (okx, binance, ...)")
        parser.add_argument("symbol", help="native id (BTC-USDT-SWAP) or ccxt unified symbol (BTC/USDT:USDT)")
        parser.add_argument("price", help="the new mark, a positive number")
        parser.add_argument(
            "--volume", default=None, help="base quantity that may trade on this move (default: unlimited)"
        )

    def handle(self, *args: Any, exchange: str, symbol: str, price: str, volume: str | None, **options: Any) -> None:
        try:
            market = get_market(exchange, symbol)
            trades = set_mark(market.exchange, market.symbol, price, volume=volume)
        except TradingError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"{market.exchange.value} {market.symbol} mark set to {price}")
        if not trades:
            self.stdout.write("no orders filled")
        for trade in trades:
            fill, order = trade.fill, trade.order
            self.stdout.write(
                f"filled {order.exchange_order_id} (client {order.client_order_id}, user {trade.user_id}): "
                f"{order.side.value} {plain(fill.quantity)} {market.base} @ {plain(fill.price)} "
                f"{fill.liquidity.value} fee {plain(fill.fee)} {fill.fee_currency}; "
                f"order {order.status.value} {plain(order.filled_qty)}/{plain(order.quantity)}"
            )
