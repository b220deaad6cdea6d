"""``manage.py serve``: the whole service in one process (what ``make run`` starts).

In order: take the listening socket (a busy port fails here, before anything is changed), apply
the migrations, and on the embedded defaults create a fresh admin password and bot API key and
print them with the URLs; then serve the API, the admin and the Swagger UI over ASGI (uvicorn:
one worker holds many event streams; static files from the installed apps) with the fill watcher
(``watch_orders``) running beside it in a thread. ``HOST`` / ``PORT`` (or ``--host`` / ``--port``)
say where. SIGINT (Ctrl-C) or SIGTERM stops the server, then the watcher, then the embedded Redis.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from tradingcore.local import new_local_bot_key, reset_local_admin
from tradingcore.management.commands.bootstrap_local import base_url


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening; ``CommandError`` when the address is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; nothing was changed") from exc
    sock.set_inheritable(True)
    return sock


class Command(BaseCommand):
    help = (
        "Run the whole service: migrate, print the local admin login and a bot API key (embedded defaults), "
        "serve the API and admin over ASGI on HOST:PORT with the fill watcher beside it."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=settings.SERVE_HOST, help="address to listen on (env HOST)")
        parser.add_argument("--port", type=int, default=settings.SERVE_PORT, help="port to listen on (env PORT)")
        parser.add_argument("--watch-interval", type=float, default=2.0, help="seconds between fill-watcher passes")

    def handle(self, *args: Any, host: str, port: int, watch_interval: float, **options: Any) -> None:
        sock = listening_socket(host, port)
        call_command("migrate", interactive=False, verbosity=0)
        settings.SERVE_HOST, settings.SERVE_PORT = host, port
        if settings.EMBEDDED:
            self.print_logins()
        self.stdout.write(f"API docs: {base_url()}/api/docs/  (Ctrl-C stops)", ending="\n\n")
        self.stdout.flush()
        stop = threading.Event()
        watcher = threading.Thread(target=self.watch, args=(stop, watch_interval), name="fill-watcher", daemon=True)
        watcher.start()
        try:
            self.serve(sock)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            watcher.join(timeout=30)

    def print_logins(self) -> None:
        password, created = reset_local_admin()
        key = new_local_bot_key()
        url = base_url()
        self.stdout.write(self.style.SUCCESS(f"Local admin login {'created' if created else 'reset'}:"))
        self.stdout.write(f"  url:      {url}/admin/\n  username: admin\n  password: {password}")
        self.stdout.write(self.style.SUCCESS("Bot API key (acts for every user; send 'Authorization: Bearer <key>'):"))
        self.stdout.write(f"  key:      {key}")

    def watch(self, stop: threading.Event, interval: float) -> None:
        from orders import watcher

        try:
            watcher.run_forever(stop, interval=interval)
        finally:
            connections.close_all()

    def serve(self, sock: socket.socket) -> None:
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application

        config = uvicorn.Config(
            ASGIStaticFilesHandler(application), log_config=None, lifespan="off", timeout_graceful_shutdown=3
        )
        uvicorn.Server(config).run(sockets=[sock])
