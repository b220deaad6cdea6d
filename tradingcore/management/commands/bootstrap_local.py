"""Create (or reset) the local admin login of an embedded run and print it."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


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
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        verb = "created" if created else "reset"
        self.stdout.write(self.style.SUCCESS(f"Local admin login {verb}:"))
        self.stdout.write("  url:      http://127.0.0.1:8000/admin/")
        self.stdout.write(f"  username: {username}")
        self.stdout.write(f"  password: {password}")
