"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from tradingcore import embedded_redis  # noqa: E402 - needs the configured settings

embedded_redis.start_if_embedded()
