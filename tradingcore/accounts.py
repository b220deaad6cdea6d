"""Exchange accounts: storing a user's credentials for the ccxt gateway."""

from __future__ import annotations

from typing import Any

from tradingcore.enums import Exchange, PositionMode
from tradingcore.exceptions import InvalidInput
from tradingcore.models import ExchangeAccount


def save_exchange_account(
    *,
    user_id: str,
    exchange: Exchange | str,
    api_key: str,
    api_secret: str,
    passphrase: str = "",
    label: str = "default",
    position_mode: PositionMode | str = PositionMode.HEDGE,
    sandbox: bool = False,
    rest_base_url: str = "",
) -> tuple[ExchangeAccount, bool]:
    """Create or update (by user, exchange and label) an active account; returns it and whether it
    is new. Credentials are stored encrypted. Raises ``InvalidInput`` for the paper exchange,
    which needs none, and for a missing key or secret."""
    exchange = check_credentials(exchange, api_key=api_key, api_secret=api_secret)
    defaults: dict[str, Any] = {
        "api_key": api_key,
        "api_secret": api_secret,
        "passphrase": passphrase,
        "position_mode": PositionMode.parse(position_mode, field="position_mode"),
        "sandbox": sandbox,
        "rest_base_url": rest_base_url,
        "is_active": True,
    }
    return ExchangeAccount.objects.update_or_create(user_id=user_id, exchange=exchange, label=label, defaults=defaults)


def check_credentials(exchange: Exchange | str, *, api_key: object, api_secret: object) -> Exchange:
    """The exchange, once the rules for an account's credentials hold: ``InvalidInput`` for the
    paper exchange, which needs none, and for a missing key or secret (a ``Secret`` counts as
    missing when empty)."""
    exchange = Exchange.parse(exchange, field="exchange")
    if exchange is Exchange.PAPER:
        raise InvalidInput("the paper exchange needs no credentials", details={"exchange": ["paper"]})
    if not api_key or not api_secret:
        raise InvalidInput("an API key and secret are required", details={"api_key": ["required"]})
    return exchange


def store_exchange_account(
    account: ExchangeAccount, *, api_key: str = "", api_secret: str = "", passphrase: str = ""
) -> ExchangeAccount:
    """Save an account edited by an operator (the admin): each credential given replaces the
    stored one, an empty one keeps it. The rules of ``check_credentials`` apply to the result, so
    an account is never saved without a key and a secret. Raises ``InvalidInput`` and Django's
    ``ValidationError`` (a duplicate label, a bad URL)."""
    for name, value in (("api_key", api_key), ("api_secret", api_secret), ("passphrase", passphrase)):
        if value:
            setattr(account, name, value)
    check_credentials(account.exchange, api_key=account.api_key, api_secret=account.api_secret)
    account.full_clean()
    account.save()
    return account
