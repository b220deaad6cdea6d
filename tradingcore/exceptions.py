"""One exception hierarchy for the whole service, each class with a stable error code.

Services raise these; the API's exception handler maps them to HTTP statuses and the error body
``{"error": {"code", "message", "details"}}``; commands print them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

# A number as Decimal prints it when it is not plain: an exponent (0E-8, 1E+2) or trailing zeros
# of a numeric(20,8) column (0.06000000). Not inside a word or a dotted name (ids, versions, IPs).
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:E[+-]?\d+)?(?![\w.])")


def plain_numbers(text: str) -> str:
    """``text`` with every number written plainly: ``0.06``, ``0.00000001``, ``300``, never
    ``0.06000000``, ``1E-8`` or ``3E+2`` (issue 9, kind 15)."""
    return _NUMBER.sub(_plain_number, text) if ("E" in text or "." in text) else text


def _plain_number(match: re.Match[str]) -> str:
    text = match.group(0)
    if "E" not in text and ("." not in text or not text.endswith("0")):
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if value == 0:
        return "0"
    plain = format(value, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def _plain_details(value: Any) -> Any:
    if isinstance(value, str):
        return plain_numbers(value)
    if isinstance(value, list):
        return [_plain_details(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain_details(item) for key, item in value.items()}
    return value


class TradingError(Exception):
    """Base of every domain error. Numbers in its message and details are written plainly."""

    code = "trading_error"

    def __init__(self, message: str = "", *, details: dict[str, Any] | None = None) -> None:
        message = plain_numbers(message) if message else message
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()
        self.details = _plain_details(details) if details else {}


class InvalidInput(TradingError):
    """The request is malformed or violates a rule of the domain."""

    code = "invalid"


class ObjectNotFound(TradingError):
    """The object does not exist or belongs to someone else."""

    code = "not_found"


class Conflict(TradingError):
    """The request conflicts with the current state."""

    code = "conflict"


class InsufficientPosition(Conflict):
    """The close asks for more than the open size not already reserved by live closing orders."""

    code = "insufficient_position"


class InvalidTransition(Conflict):
    """The order cannot move from its current status to the requested one."""

    code = "invalid_transition"


class OrderNotCancellable(InvalidTransition):
    """The order already ended (filled, rejected or expired): there is nothing to cancel."""

    code = "order_not_cancellable"


class ConfigurationError(TradingError):
    """The service or an account is not configured for the request."""

    code = "configuration_error"


class AccountMissing(ConfigurationError):
    """No exchange account holds credentials for this user and exchange."""

    code = "account_missing"


class ExchangeError(TradingError):
    """Base of every error that comes from talking to an exchange."""

    code = "exchange_error"


class ExchangeUnavailable(ExchangeError):
    """The exchange could not be reached or answered with a server error; retry later."""

    code = "exchange_unavailable"
    retryable = True


class RateLimited(ExchangeUnavailable):
    """The exchange throttled the request; retry later."""

    code = "rate_limited"


class OrderOutcomeUnknown(ExchangeError):
    """Placement timed out: the exchange may or may not hold the order. Look it up by client id."""

    code = "order_outcome_unknown"


class OrderRejected(ExchangeError):
    """The exchange refused the order permanently."""

    code = "order_rejected"


class InsufficientFunds(OrderRejected):
    """The account lacks the margin for the order."""

    code = "insufficient_funds"


class InvalidOrder(OrderRejected):
    """The exchange refused the order's parameters (size, price, precision, mode)."""

    code = "invalid_order"


class BadSymbol(OrderRejected):
    """The exchange does not list the instrument."""

    code = "bad_symbol"


class UnsupportedInstrument(BadSymbol):
    """The instrument is of a kind the service does not model (inverse, option, spot)."""

    code = "unsupported_instrument"


class ProtectionRefused(OrderRejected):
    """The exchange refused a stop-loss or take-profit order. The position keeps the protection
    that still stands (``details["kept_price"]``, None when it has none), and a
    ``protection_refused`` event says what happened."""

    code = "protection_refused"
    position: Any = None  # the position it concerns (a DTO), when the caller should see it


class AuthenticationFailed(OrderRejected):
    """The exchange refused the account's credentials or permissions."""

    code = "authentication_failed"


class ExchangeOrderNotFound(ExchangeError, ObjectNotFound):
    """The exchange has no order with that id."""

    code = "exchange_order_not_found"
