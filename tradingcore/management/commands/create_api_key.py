"""``manage.py create_api_key --name NAME --user-id ID [--user-id ID ...] [--all-users]``.

Creates a per-bot API key acting for the given user ids (or every user) and prints it; the key is
alone on the last line of the output (scripts read it with ``tail -n 1``). Only its hash is
stored: it cannot be shown again. Fails with a clear message for an empty name or scope.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tradingcore.api.keys import create_api_key
from tradingcore.exceptions import TradingError


class Command(BaseCommand):
    help = "Create an API key for a strategy bot; prints the key alone on the last line (it is never shown again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True, help="who uses the key (events record api:<name>)")
        parser.add_argument("--user-id", action="append", default=[], dest="user_ids", help="a user the key acts for")
        parser.add_argument("--all-users", action="store_true", help="the key acts for every user")

    def handle(self, *args: Any, name: str, user_ids: list[str], all_users: bool, **options: Any) -> None:
        try:
            key, raw_key = create_api_key(name=name, user_ids=user_ids, all_users=all_users)
        except TradingError as error:
            raise CommandError(error.message) from error
        scope = "every user" if key.all_users else ", ".join(key.user_ids)
        self.stdout.write(f"API key {key.name!r} ({key.prefix}...) created for {scope}; store it now, it is not kept:")
        self.stdout.write(raw_key)
