"""``manage.py revoke_api_key (--name NAME | --prefix PREFIX)``: revoke API keys.

Every active key with that name (or starting with that prefix, as shown by ``create_api_key`` and
the admin) stops authenticating at once. Fails when no active key matches.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tradingcore.api.keys import revoke_api_keys
from tradingcore.exceptions import TradingError


class Command(BaseCommand):
    help = "Revoke API keys by name or by prefix; they stop authenticating at once."

    def add_arguments(self, parser: Any) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--name", help="revoke every active key with this name")
        group.add_argument("--prefix", help="revoke the active key starting with this prefix (e.g. tc_AbCdEfG)")

    def handle(self, *args: Any, name: str | None, prefix: str | None, **options: Any) -> None:
        try:
            revoked = revoke_api_keys(name=name, prefix=prefix)
        except TradingError as error:
            raise CommandError(error.message) from error
        for key in revoked:
            self.stdout.write(f"revoked {key.name} ({key.prefix}...)")
