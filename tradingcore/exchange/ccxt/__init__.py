"""The ccxt gateway: real exchanges through ccxt's synchronous clients (SPEC section 5).

This package is the only place in the service that imports ccxt. Everything it hands out is in
our terms: base-currency quantities as ``Decimal`` (converted from contracts with the market's
contract size), native upper-case symbols, our enums, and our exceptions (every ccxt exception is
translated at this boundary). ``gateway_for_account`` gives the account's cached ``CcxtGateway``.

Modules, one job each:

- ``gateway``: ``CcxtGateway``, the gateway interface; it delegates to the modules below.
- ``cache``: one gateway per account (``gateway_for_account``, ``clear_gateway_cache``).
- ``client``: building the ccxt client for an account (credentials, rate limit, sandbox, REST base
  URL, a logger that masks the credentials) and calling it with our exceptions.
- ``errors``: ccxt exceptions (and OKX codes) as ours; what a failed placement means.
- ``markets``: markets loaded once, refreshed on a timer, read as ``MarketInfo``; instrument kinds the
  service does not model (inverse, option, spot on a derivatives venue) refused by name.
- ``params``: what is sent: contracts, order type, price and params (OKX ``tdMode``, ``posSide``,
  client ids, trigger prices), leverage params.
- ``lookup``: finding an order again by exchange id or client id, after acceptance, and after a
  placement with no clear answer (placement is never repeated).
- ``algo``: OKX algo orders (trigger, stop-loss, take-profit): reaching, listing, following a fired one.
- ``trades``: the account's trades (OKX fills history): of one order, or since a time, page by page.
- ``parsing``: ccxt's answers as ``ExchangeOrder``, ``ExchangeFill``, ``ExchangePosition`` and prices.
- ``values``: ccxt's numbers and timestamps as ``Decimal`` and aware datetimes.
"""

from tradingcore.exchange.ccxt.cache import clear_gateway_cache, gateway_for_account
from tradingcore.exchange.ccxt.client import CCXT_EXCHANGE_IDS, build_ccxt_client
from tradingcore.exchange.ccxt.gateway import CcxtGateway

__all__ = [
    "CCXT_EXCHANGE_IDS",
    "CcxtGateway",
    "build_ccxt_client",
    "clear_gateway_cache",
    "gateway_for_account",
]
