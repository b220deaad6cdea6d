"""Django settings. Every value comes from ``config.env``; nothing here reads the environment."""

from __future__ import annotations

import logging

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import checks, env
from config.logs import configure_structlog, logging_config

# DJANGO_ENV=production: stop here, listing every insecure or embedded setting (config/checks.py).
checks.refuse_insecure_production()

BASE_DIR = env.BASE_DIR
VAR_DIR = env.VAR_DIR

PRODUCTION = env.PRODUCTION
DEBUG = env.DEBUG
EMBEDDED = env.DATABASE_URL is None
if env.SECRET_KEY:
    SECRET_KEY = env.SECRET_KEY
elif DEBUG or EMBEDDED:
    # Local embedded mode only: never used once DATABASE_URL points at a real database.
    SECRET_KEY = checks.LOCAL_SECRET_KEY
else:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DATABASE_URL is set")

ALLOWED_HOSTS = env.ALLOWED_HOSTS
if env.HOST not in ALLOWED_HOSTS and env.HOST not in ("0.0.0.0", "::"):
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, env.HOST]  # the printed URLs must work

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_structlog",
    "tradingcore",
    "positions",
    "orders",
    "positions.legacy",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id (X-Request-ID in and out), then django-structlog's request lines carrying it.
    "tradingcore.api.request_id.RequestIdMiddleware",
    "django_structlog.middlewares.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Connections of one process to PostgreSQL at most (each web worker, each watcher).
DATABASE_POOL_MAX_SIZE = 16

if env.DATABASE_URL:
    # No persistent connection per thread (CONN_MAX_AGE 0): under ASGI, the production server's
    # protocol, each request's synchronous code runs in a thread of its own, and a connection kept
    # with that thread would never be reused. PostgreSQL connections come from a pool per process
    # instead (psycopg_pool, Django's "pool" option): a request borrows one and gives it back when
    # it finishes (request_finished), so a process never holds more than DATABASE_POOL_MAX_SIZE, and a
    # request does not pay for a new connection. The server needs max_connections of at least
    # WEB_CONCURRENCY x DATABASE_POOL_MAX_SIZE + one per watcher + the commands run beside them.
    DATABASES = {"default": dj_database_url.parse(env.DATABASE_URL, conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": DATABASE_POOL_MAX_SIZE}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            # The server's threads and the fill watcher write at once: WAL lets readers go on, and
            # IMMEDIATE takes the write lock up front (waiting up to the timeout, never failing
            # mid-transaction on an upgrade).
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: the Django cache and the projector share one server through django-redis.
EMBEDDED_REDIS = env.REDIS_URL is None
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = env.REDIS_URL or f"unix://{EMBEDDED_REDIS_SOCKET}"
# The embedded server starts lazily on the first connection (tradingcore/embedded_redis.py).
EMBEDDED_REDIS_OPTIONS = (
    {"CONNECTION_FACTORY": "tradingcore.embedded_redis.EmbeddedConnectionFactory"} if EMBEDDED_REDIS else {}
)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
            "CONNECTION_POOL_KWARGS": {"decode_responses": True},
            # Counts every command by outcome for /metrics (redis_operations_total).
            "REDIS_CLIENT_CLASS": "tradingcore.metrics.InstrumentedRedis",
            **EMBEDDED_REDIS_OPTIONS,
        },
        "KEY_PREFIX": "cache",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tradingcore.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tradingcore.api.authentication.IsBotOrStaff"],
    "DEFAULT_PARSER_CLASSES": ["tradingcore.api.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tradingcore.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "tradingcore.api.errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Trading core API",
    "DESCRIPTION": (
        "Positions and orders of automated crypto strategies. Authenticate with `Authorization: Bearer <key>` "
        "(keys come from `manage.py create_api_key`). Sizes and quantities are in base currency; decimals "
        "travel as strings (numbers are accepted on input). Every error has the body "
        '`{"error": {"code", "message", "details"}}`. POSTs that place orders or open or close positions '
        "accept an `Idempotency-Key` header (or `client_order_id`): a retry within 24 hours gets the first "
        "response back and never acts twice."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tradingcore.api.schema.add_event_stream",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ExchangeEnum": "tradingcore.enums.Exchange",
        "PositionSideEnum": "tradingcore.enums.PositionSide",
        "PositionStatusEnum": "tradingcore.enums.PositionStatus",
        "OrderSideEnum": "tradingcore.enums.OrderSide",
        "OrderStatusEnum": "tradingcore.enums.OrderStatus",
        "OrderTypeEnum": "tradingcore.enums.OrderType",
        "OrderRoleEnum": "tradingcore.enums.OrderRole",
        "TimeInForceEnum": "tradingcore.enums.TimeInForce",
        "MarginModeEnum": "tradingcore.enums.MarginMode",
        "LiquidityEnum": "tradingcore.enums.Liquidity",
        "RoundingEnum": "tradingcore.validation.ROUNDINGS",
    },
}

# How long a stored idempotent response is replayed, and how long a retry waits for the first
# request with the same key to finish before it is told to come back (409).
API_IDEMPOTENCY_TTL_SECONDS = 24 * 3600
API_IDEMPOTENCY_WAIT_SECONDS = 30
# Live events: seconds between SSE heartbeats; the outbox age past which /healthz fails.
API_EVENTS_HEARTBEAT_SECONDS = 15
HEALTH_OUTBOX_MAX_AGE_SECONDS = 300

# /metrics sums every worker's metrics from here under the production server (tradingcore/metrics.py).
PROMETHEUS_MULTIPROC_DIR = env.PROMETHEUS_MULTIPROC_DIR

# `manage.py serve` (make run): where it listens.
SERVE_HOST = env.HOST
SERVE_PORT = env.PORT

# Trading-specific settings (see .env.example).
TRADING_ENCRYPTION_KEY = env.TRADING_ENCRYPTION_KEY
TRADING_DRY_RUN = env.TRADING_DRY_RUN
TRADING_UNIFIED_WRITE = env.TRADING_UNIFIED_WRITE
TRADING_LEGACY_HYPERRSI_WRITE = env.TRADING_LEGACY_HYPERRSI_WRITE
TRADING_LEGACY_GRID_WRITE = env.TRADING_LEGACY_GRID_WRITE
TRADING_UNIFIED_KEY_PREFIX = env.TRADING_UNIFIED_KEY_PREFIX
TRADING_LEGACY_ENCRYPTION_KEY = env.TRADING_LEGACY_ENCRYPTION_KEY
TRADING_EXCHANGE_TIMEOUT_SECONDS = env.TRADING_EXCHANGE_TIMEOUT_SECONDS
TRADING_EXCHANGE_MARKETS_TTL_SECONDS = env.TRADING_EXCHANGE_MARKETS_TTL_SECONDS
TRADING_LIQUIDATION_CHECK_SECONDS = env.TRADING_LIQUIDATION_CHECK_SECONDS
TRADING_PAPER_MAKER_FEE = env.TRADING_PAPER_MAKER_FEE
TRADING_PAPER_TAKER_FEE = env.TRADING_PAPER_TAKER_FEE
TRADING_PAPER_SLIPPAGE_BPS = env.TRADING_PAPER_SLIPPAGE_BPS
TRADING_PAPER_RANDOM_WALK = env.TRADING_PAPER_RANDOM_WALK

# Logs (config/logs.py): JSON lines in production, readable lines in development; every line of
# a request carries its request_id, every line of a watcher pass its pass_id.
LOGGING = logging_config(json_lines=env.LOG_FORMAT == "json", level=env.LOG_LEVEL)
configure_structlog()
# The request id comes from X-Request-ID when the client sends a valid one (tradingcore/api/request_id.py).
# JSON logs: one access line per request (request_finished: status, duration, actor), request_started at
# DEBUG. Console logs (make run): the server's own access lines, as before; request_finished at DEBUG.
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
DJANGO_STRUCTLOG_USER_ID_FIELD = ""  # the actor (api:<key name>, admin:<user>) is logged instead
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
if env.LOG_FORMAT == "console":
    DJANGO_STRUCTLOG_STATUS_DEFAULT_LOG_LEVEL = DJANGO_STRUCTLOG_STATUS_2XX_LOG_LEVEL = logging.DEBUG
    DJANGO_STRUCTLOG_STATUS_4XX_LOG_LEVEL = DJANGO_STRUCTLOG_STATUS_5XX_LOG_LEVEL = logging.DEBUG
