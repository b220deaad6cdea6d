"""``manage.py bootstrap_local``: create (or reset) the local admin login of an embedded run and print it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tradingcore.local import reset_local_admin


def base_url() -> str:
    """Where the service answers, as ``serve`` listens (HOST / PORT)."""
    host = settings.SERVE_HOST
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.SERVE_PORT}"


class Command(BaseCommand):
    help = (
        "Create or reset the local superuser for the embedded run and print its login. "
        "Refuses to run against a configured DATABASE_URL unless --force is given."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--force", action="store_true", help="allow running against DATABASE_URL")

    def handle(self, *args: Any, username: str, force: bool, **options: Any) -> None:
        if not settings.EMBEDDED and not force:
            raise CommandError("bootstrap_local is for the embedded run; pass --force to use it elsewhere")
        password, created = reset_local_admin(username)
        self.stdout.write(self.style.SUCCESS(f"Local admin login {'created' if created else 'reset'}:"))
        self.stdout.write(f"  url:      {base_url()}/admin/")
        self.stdout.write(f"  username: {username}")
        self.stdout.write(f"  password: {password}")
