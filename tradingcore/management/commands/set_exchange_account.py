"""``manage.py set_exchange_account``: store a user's exchange credentials (encrypted)."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tradingcore.accounts import save_exchange_account
from tradingcore.enums import PositionMode
from tradingcore.exceptions import TradingError

SECRET_SOURCES = {
    "api_key": "EXCHANGE_API_KEY",
    "api_secret": "EXCHANGE_API_SECRET",
    "passphrase": "EXCHANGE_PASSPHRASE",
}


class Command(BaseCommand):
    help = (
        "Create or update the exchange account of a user. The API key, secret and passphrase are read from "
        "the environment (EXCHANGE_API_KEY, EXCHANGE_API_SECRET, EXCHANGE_PASSPHRASE) or asked for on a "
        "terminal; never from the command line, where other users of the machine could read them. They are "
        "stored encrypted with TRADING_ENCRYPTION_KEY and never printed."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--user-id", required=True)
        parser.add_argument("--exchange", required=True, help="okx, binance, bybit, bitget or upbit")
        parser.add_argument("--label", default="default")
        parser.add_argument("--position-mode", default=PositionMode.HEDGE, choices=[m.value for m in PositionMode])
        parser.add_argument("--sandbox", action="store_true", help="use the exchange's demo environment")
        parser.add_argument("--rest-base-url", default="", help="send this account's REST requests here")

    def handle(self, *args: Any, **options: Any) -> None:
        secrets = {field: self._secret(field, variable) for field, variable in SECRET_SOURCES.items()}
        try:
            account, created = save_exchange_account(
                user_id=options["user_id"],
                exchange=options["exchange"],
                label=options["label"],
                position_mode=options["position_mode"],
                sandbox=options["sandbox"],
                rest_base_url=options["rest_base_url"],
                **secrets,
            )
        except TradingError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{'created' if created else 'updated'} exchange account {account} (credentials stored encrypted)"
        )

    def _secret(self, field: str, variable: str) -> str:
        value = os.environ.get(variable)
        if value is not None:
            return value
        if sys.stdin.isatty():
            return getpass.getpass(f"{field.replace('_', ' ')}: ")
        return ""
