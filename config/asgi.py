"""ASGI entry point: Django's ASGI handler, serving each request to a sync view in one thread hop.

Django's own ``ASGIHandler`` runs every old-style middleware's ``process_request`` /
``process_view`` / ``process_response`` in a thread through ``sync_to_async``, one hop each (about
twenty per API request with our middleware), and starts a new thread for every request
(``ThreadSensitiveContext``). Here a request to a sync view (every API view, the admin, health and
metrics) is served in one hop to a thread of a fixed pool: the ``request_started`` signal, the sync
middleware chain (the one WSGI servers use), the view and, for a response that does not stream, the
``request_finished`` signal, which gives the thread's database connection back to the pool
(config/settings.py). The middleware, the view, the signals and the exception handling are exactly
Django's. Requests to async views (the live event stream) keep Django's own handling on the event
loop, so one worker still holds many streams.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections
from django.http import FileResponse, HttpResponseBase
from django.urls import Resolver404, get_resolver, set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class OneHopASGIHandler(ASGIHandler):
    """``ASGIHandler`` that serves a request to a sync view in one hop to a pooled thread."""

    def __init__(self) -> None:
        super().__init__()
        self.sync_handler = BaseHandler()
        self.sync_handler.load_middleware(is_async=False)
        # As many threads as database connections a process may hold: a request never waits for
        # a connection, only (queued, in order) for a thread.
        self.executor = ThreadPoolExecutor(settings.DATABASE_POOL_MAX_SIZE, thread_name_prefix="sync-view")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.serves_async_view(scope):
            await self.handle_sync_view(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def handle_sync_view(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            respond = sync_to_async(self.respond, thread_sensitive=False, executor=self.executor)
            response = await respond(scope, body_file)
            await self.send_response(response, send)
            if response.streaming:  # its iterator has run: request_finished now, as Django does
                await sync_to_async(response.close)()
        finally:
            body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The response, computed in this thread from ``request_started`` to ``request_finished``
        (or, for a streaming response, with this thread's database connections closed)."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.sync_handler.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        assert response is not None
        if response.streaming:
            close_old_connections()
        else:
            response.close()  # request_finished: the connection goes back to the pool
        return response

    @staticmethod
    def serves_async_view(scope: dict[str, Any]) -> bool:
        """Whether the path resolves to an async view (path_info as ``ASGIRequest`` computes it)."""
        script_name = get_script_prefix(scope)
        path_info = scope["path"].removeprefix(script_name) if script_name else scope["path"]
        try:
            match = get_resolver().resolve(path_info)
        except Resolver404:
            return False
        return iscoroutinefunction(match.func)


django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does
application = OneHopASGIHandler()

from tradingcore import embedded_redis  # noqa: E402 - needs the configured settings

embedded_redis.start_if_embedded()
