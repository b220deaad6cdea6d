"""``manage.py reconcile``: compare our positions and orders with the exchanges."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from positions import reconciliation


class Command(BaseCommand):
    help = (
        "Compare our positions and orders with the exchanges and report each difference. Live orders are "
        "refreshed first, which recovers orders accepted before a crash by their client order id. With --apply, "
        "unknown live exchange orders are adopted and each position is brought to the exchange's size through "
        "fills (the exchange's own trades when its history explains the difference, else an estimate at the "
        "mark), each with an event. The last line counts the differences applied and those only reported; "
        "exit status 1 when any was only reported."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--apply", action="store_true", help="adopt and book fills to match the exchange")
        parser.add_argument("--user-id", help="only this user")
        parser.add_argument("--exchange", help="only this exchange (with --user-id)")
        parser.add_argument("--json", action="store_true", help="print the differences as JSON")

    def handle(self, *args: Any, apply: bool, user_id: str | None, exchange: str | None, **options: Any) -> None:
        if exchange and not user_id:
            raise CommandError("--exchange needs --user-id")
        if user_id and exchange:
            differences = reconciliation.reconcile_account(user_id=user_id, exchange=exchange, apply=apply)
        else:
            differences = reconciliation.reconcile_all(apply=apply, user_id=user_id)
        reported = sum(not difference.applied for difference in differences)
        if options["json"]:
            self.stdout.write(json.dumps([vars(d) for d in differences], default=str, indent=2))
        else:
            for difference in differences:
                self.stdout.write(str(difference))
            applied = len(differences) - reported
            self.stdout.write(f"{len(differences)} difference(s): {applied} applied, {reported} reported")
        if reported:
            hint = "not applied" if apply else "run with --apply to apply them"
            raise CommandError(f"{reported} difference(s) reported; {hint}", returncode=1)
