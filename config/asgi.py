"""ASGI entry point: Django's ASGI handler, with one thread hop per request to a sync view.

Django's own ``ASGIHandler`` runs every old-style middleware's ``process_request`` /
``process_view`` / ``process_response`` in a thread through ``sync_to_async``, one hop each:
about twenty per API request with our middleware, most of the CPU an API request cost. Here a
request to a sync view (every API view, the admin) goes through the sync middleware chain, the one
WSGI servers use, in a single hop; the middleware, the view and the exception handling are exactly
Django's. Requests to async views (the live event stream) keep Django's async chain on the event
loop, so one worker still holds many streams.
"""

import os

import django
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, get_resolver, get_urlconf

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class OneHopASGIHandler(ASGIHandler):
    """``ASGIHandler`` that serves sync views through the sync middleware chain in one thread hop."""

    def __init__(self) -> None:
        super().__init__()
        self.sync_handler = BaseHandler()
        self.sync_handler.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        if self.serves_async_view(request):
            return await super().get_response_async(request)
        # thread_sensitive: the same thread as the request_started / request_finished signals,
        # which open and close (return to the pool) the request's database connections.
        return await sync_to_async(self.sync_handler.get_response, thread_sensitive=True)(request)

    @staticmethod
    def serves_async_view(request: HttpRequest) -> bool:
        try:
            match = get_resolver(get_urlconf()).resolve(request.path_info)
        except Resolver404:
            return False
        return iscoroutinefunction(match.func)


django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does
application = OneHopASGIHandler()

from tradingcore import embedded_redis  # noqa: E402 - needs the configured settings

embedded_redis.start_if_embedded()
