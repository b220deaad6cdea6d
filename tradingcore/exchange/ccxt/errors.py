"""Every ccxt exception as one of ours (``tradingcore.exceptions``), and what a failed placement means.

``translate_ccxt_error`` is the one mapping from ccxt's exception classes to ours; the exchange's
own error code (OKX ``code`` / ``sCode``) rides along in ``details["exchange_code"]``.
``placement_failure`` sorts an exception raised while placing an order into what the gateway does
next: report a refusal, look the order up (the order may have landed), or return the order that
already holds the client id.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import ccxt

from tradingcore.enums import Exchange
from tradingcore.exceptions import (
    AuthenticationFailed,
    BadSymbol,
    ExchangeError,
    ExchangeOrderNotFound,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderRejected,
    RateLimited,
)
from tradingcore.metrics import EXCHANGE_ERRORS

# The root of everything ccxt raises, for the modules of this package that catch it.
CcxtError = ccxt.BaseError

# Most specific first: the first matching ccxt class decides.
_ERROR_MAP: tuple[tuple[Any, type[ExchangeError]], ...] = (
    (ccxt.RateLimitExceeded, RateLimited),
    (ccxt.NetworkError, ExchangeUnavailable),  # DDoSProtection, ExchangeNotAvailable, RequestTimeout, InvalidNonce
    (ccxt.OperationFailed, ExchangeUnavailable),  # BadResponse, NullResponse
    (ccxt.AuthenticationError, AuthenticationFailed),  # PermissionDenied, AccountNotEnabled, AccountSuspended
    (ccxt.OrderNotFound, ExchangeOrderNotFound),
    (ccxt.InsufficientFunds, InsufficientFunds),
    (ccxt.BadSymbol, BadSymbol),
    (ccxt.InvalidOrder, InvalidOrder),
    (ccxt.BadRequest, InvalidOrder),
    (ccxt.ArgumentsRequired, InvalidOrder),
)
_OKX_CODE = re.compile(r'"s?[cC]ode"\s*:\s*"(\d+)"')
_OKX_OVERALL_CODES = ("0", "1", "2")  # OKX's whole-answer codes (ok, failed, partly failed); sCode says why
_OKX_DUPLICATE_CLIENT_ID = '"51016"'
# Explicit refusals that look like network errors to ccxt: the order was not taken.
_THROTTLES = (ccxt.RateLimitExceeded, ccxt.DDoSProtection, ccxt.InvalidNonce)
# The request may have reached the exchange and the order may stand.
_UNCLEAR = (ccxt.NetworkError, ccxt.OperationFailed)


def translate_ccxt_error(error: Exception, *, action: str, exchange: Exchange, placing: bool = False) -> ExchangeError:
    """Our exception for a ccxt one, naming the action; the exchange's own error code goes in
    ``details["exchange_code"]`` when the answer carried one.

    Any other refusal by the exchange is ``OrderRejected`` while placing and ``ExchangeError``
    otherwise. Counted in ``exchange_errors_total`` by our error code.
    """
    target: type[ExchangeError] = OrderRejected if placing else ExchangeError
    for ccxt_class, ours in _ERROR_MAP:
        if isinstance(error, ccxt_class):
            target = ours
            break
    details: dict[str, Any] = {"exchange": exchange.value, "ccxt_error": type(error).__name__}
    codes = [code for code in _OKX_CODE.findall(str(error)) if code not in _OKX_OVERALL_CODES]
    if codes:
        details["exchange_code"] = codes[0]
    EXCHANGE_ERRORS.labels(exchange=exchange.value, error=target.code).inc()
    return target(f"{exchange.value} {action} failed: {error}", details=details)


class PlacementFailure(enum.Enum):
    """What an exception raised by ccxt's ``create_order`` tells about the order."""

    REFUSED = "refused"  # the exchange said no (or throttled us): nothing was placed
    UNCLEAR = "unclear"  # no clear answer (timeout, lost connection, 5xx, garbled answer): it may stand
    DUPLICATE_CLIENT_ID = "duplicate_client_id"  # an order with this client id already exists


def placement_failure(error: Exception) -> PlacementFailure:
    """Sort an exception raised while placing. Anything not ccxt's (a bug, or an answer ccxt could
    not parse, possibly after the order was taken) is ``UNCLEAR``."""
    if isinstance(error, _THROTTLES):
        return PlacementFailure.REFUSED
    if isinstance(error, _UNCLEAR) or not isinstance(error, ccxt.BaseError):
        return PlacementFailure.UNCLEAR
    if isinstance(error, ccxt.DuplicateOrderId) or _OKX_DUPLICATE_CLIENT_ID in str(error):
        return PlacementFailure.DUPLICATE_CLIENT_ID
    return PlacementFailure.REFUSED


def is_explicit_unavailability(error: Exception) -> bool:
    """An explicit HTTP 5xx or "busy" answer: taken as a refusal once no order is found."""
    return isinstance(error, ccxt.ExchangeNotAvailable)
