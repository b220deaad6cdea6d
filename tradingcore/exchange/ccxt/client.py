"""The ccxt client of one ``ExchangeAccount``: building it, and calling it with our exceptions.

``build_ccxt_client`` configures credentials, rate limiting (always on), the request timeout, the
sandbox and the optional REST base URL (regional domain, proxy, test server), and gives the client
a logger that masks the account's credentials: ccxt logs request headers at DEBUG level.
``AccountClient`` wraps the built client so every call raises our exceptions, never ccxt's.

OKX specifics set here: single orders go to ``/api/v5/trade/order`` (ccxt's default is the batch
endpoint), and markets are loaded for spot, futures and swaps only (options are thousands of
instruments the service never trades). ccxt's currency list is not loaded on any exchange: it
needs a funding-read key and nothing here uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import ccxt

from tradingcore.crypto import MASK
from tradingcore.enums import Exchange
from tradingcore.exceptions import ConfigurationError
from tradingcore.exchange.ccxt.errors import CcxtError, translate_ccxt_error

if TYPE_CHECKING:
    from tradingcore.models import ExchangeAccount

T = TypeVar("T")

# Which ccxt exchange class serves each of our exchanges (Binance: its USDⓈ-M futures, where the
# strategy bots trade).
CCXT_EXCHANGE_IDS: dict[Exchange, str] = {
    Exchange.OKX: "okx",
    Exchange.BINANCE: "binanceusdm",
    Exchange.BYBIT: "bybit",
    Exchange.BITGET: "bitget",
    Exchange.UPBIT: "upbit",
}
# Default request timeout; the setting TRADING_EXCHANGE_TIMEOUT_SECONDS overrides it.
DEFAULT_TIMEOUT_SECONDS = 10.0

_OKX_OPTIONS: dict[str, Any] = {
    "createOrder": "privatePostTradeOrder",
    "fetchMarkets": {"types": ["spot", "future", "swap"]},
}


def build_ccxt_client(account: ExchangeAccount, *, timeout_seconds: float) -> Any:
    """A configured ccxt client for ``account``: credentials, rate limiting, sandbox, REST base URL.

    ``timeout_seconds`` bounds each HTTP request (at least one second is sent to ccxt, in ms).
    No network traffic happens here. Raises ``ConfigurationError`` for an exchange ccxt does not
    serve here (``paper``).
    """
    exchange = Exchange.parse(account.exchange, field="exchange")
    ccxt_id = CCXT_EXCHANGE_IDS.get(exchange)
    if ccxt_id is None:
        raise ConfigurationError(f"{exchange.value} is not served by ccxt", details={"exchange": exchange.value})
    secrets = [_reveal(account.api_key), _reveal(account.api_secret), _reveal(account.passphrase)]
    config: dict[str, Any] = {
        "apiKey": secrets[0],
        "secret": secrets[1],
        "password": secrets[2],
        "enableRateLimit": True,
        "timeout": max(1, int(timeout_seconds * 1000)),
    }
    if exchange is Exchange.OKX:
        config["options"] = dict(_OKX_OPTIONS)
    client = getattr(ccxt, ccxt_id)(config)
    client.has = {**client.has, "fetchCurrencies": False}
    if account.sandbox:
        client.set_sandbox_mode(True)
    if account.rest_base_url:
        client.urls = {**client.urls, "api": rebase_urls(client.urls["api"], account.rest_base_url)}
    client.logger = RedactingLogger(logging.getLogger(f"{__name__}.{ccxt_id}"), secrets)
    return client


def _reveal(value: Any) -> str:
    """The plaintext of a credential field (``crypto.Secret`` after a database read, str before)."""
    if value is None:
        return ""
    reveal = getattr(value, "reveal", None)
    return str(reveal()) if callable(reveal) else str(value)


def rebase_urls(urls: Any, base_url: str) -> Any:
    """Every HTTP(S) URL in ccxt's ``urls['api']`` moved to ``base_url``, keeping each URL's path.

    OKX's single entry is ``https://{hostname}`` (ccxt fills in the hostname when signing), so the
    override simply becomes OKX's REST root; exchanges with many API roots keep their paths
    (``https://fapi.binance.com/fapi/v1`` -> ``<base>/fapi/v1``) so a proxy can route them.
    Anything else (websocket URLs, non-URL values) is returned unchanged.
    """
    if isinstance(urls, Mapping):
        return {key: rebase_urls(value, base_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        base = urlsplit(base_url.rstrip("/"))
        original = urlsplit(urls)
        return urlunsplit((base.scheme, base.netloc, base.path + original.path, original.query, original.fragment))
    return urls


class RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """What ccxt logs, with this account's credentials masked (ccxt logs request headers at DEBUG)."""

    def __init__(self, target: logging.Logger, secrets: Iterable[str]) -> None:
        super().__init__(target, {})
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except (TypeError, ValueError):
            text = " ".join(str(part) for part in (msg, *args))
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        self.logger.log(level, "%s", text, **kwargs)


@dataclass(frozen=True, repr=False)  # repr: the label only, never the client and its keys
class AccountClient:
    """One account's ccxt client (``api``), called so that it raises only our exceptions.

    ``label`` names the account in log lines. ``api`` stays reachable for the one call that needs
    ccxt's own exceptions (placing an order, whose failures are sorted by ``placement_failure``).
    Safe to share between threads: ccxt's HTTP session and rate limiter are shared by the callers.
    """

    api: Any
    exchange: Exchange
    label: str

    @property
    def is_okx(self) -> bool:
        return self.exchange is Exchange.OKX

    def call(self, action: str, method: Callable[..., T], *args: Any) -> T:
        """``method(*args)``; a ccxt exception becomes ours (``translate_ccxt_error``) naming ``action``."""
        try:
            return method(*args)
        except CcxtError as error:
            raise translate_ccxt_error(error, action=action, exchange=self.exchange) from error

    def fetch_order(self, order_id: str | None, symbol: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """ccxt's order ``order_id`` on the unified ``symbol`` (``params`` may ask by client id or
        for an algo order instead); ``ExchangeOrderNotFound`` if the exchange does not know it."""
        return dict(self.call("fetch order", self.api.fetch_order, order_id, symbol, params or {}))

    def fetch_open_orders(self, symbol: str | None, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """ccxt's live orders on the unified ``symbol`` (None: all), one page."""
        raws = self.call("fetch open orders", self.api.fetch_open_orders, symbol, None, None, params or {})
        return [dict(raw) for raw in raws]

    def fetch_my_trades(
        self, symbol: str, since_ms: int | None, limit: int | None, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """ccxt's trades of the account on the unified ``symbol`` from ``since_ms`` (ms since the
        epoch; None: the exchange's default window), one page, oldest first."""
        raws = self.call("fetch my trades", self.api.fetch_my_trades, symbol, since_ms, limit, params or {})
        return [dict(raw) for raw in raws]

    def __repr__(self) -> str:
        return self.label

    __str__ = __repr__
