"""Tandem settings, read from the environment.

Embedded default: SQLite file and Redis on 127.0.0.1:6379. ``DATABASE_URL`` selects
PostgreSQL, ``REDIS_URL`` another Redis. Production switches come from the environment
(see README, "Configuration").
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env(
    "DJANGO_SECRET_KEY",
    default="dev-insecure-tandem-key-change-me-in-production-0123456789abcdef",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Public base URL used in links sent to customers (one-time co-browse links, emails).
TANDEM_BASE_URL = env("TANDEM_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "accounts",
    "audit",
    "tickets",
    "consent",
    "cobrowse",
    "recordings",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cobrowse.cors.WidgetCorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env.bool("DB_POOL", default=True):
    # A connection pool per process (psycopg_pool) instead of a new connection for every request
    # and every database call of a socket: under ASGI each request runs in its own thread, so
    # persistent per-thread connections (CONN_MAX_AGE) do not work, and a page reconnect storm
    # would otherwise open thousands of connections. Pooling requires CONN_MAX_AGE = 0.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        # Sockets reach the database from one thread per process; requests run concurrently.
        # Keep web processes * max_size + workers under PostgreSQL's max_connections (100 by default).
        "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
        "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file-backed test database so that live-server (forked uvicorn) tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    # Parallel runs on one server (several checkouts) pick their own test database.
    DATABASES["default"]["TEST"] = {
        "NAME": env("TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded and generated files (recording blobs) live outside the web root.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
WHITENOISE_USE_FINDERS = DEBUG

# --- Redis: channel layer, cache (rate limits, locks), Celery broker -------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer relays ~2x faster than the core layer here and never drops silently
        # on a full inbox (see docs/scaling.md). ``socket_timeout: None`` keeps idle sockets open
        # with redis-py 8 (its 5 s default kills consumers that idle).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            # Pub/sub channel names ignore the Redis database number: separate deployments
            # (and parallel test runs) sharing one Redis need their own prefix.
            "prefix": env("CHANNEL_LAYER_PREFIX", default="tandem"),
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="tandem"),
    }
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"cobrowse.browser.tasks.*": {"queue": "browsers"}}
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BEAT_SCHEDULE: dict = {}

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Tandem Support <support@tandem.local>")
if "EMAIL_URL" in os.environ:
    vars().update(env.email_url("EMAIL_URL"))

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tandem API",
    "DESCRIPTION": "Support desk with consent-first co-browsing.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files (frontend/vendor.mjs), never from a CDN.
    "SWAGGER_UI_DIST": "/static/dist/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/dist/swagger-ui/favicon-32x32.png",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Status",
        "TicketPriorityEnum": "tickets.models.Priority",
        "TicketCategoryEnum": "tickets.models.Category",
        "TicketChannelEnum": "tickets.models.Channel",
        "TicketEventKindEnum": "tickets.models.EventKind",
    },
}

# --- Security (production values from the environment) --------------------------------------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Logging: PII never reaches logs (see accounts/logging_filters.py) -----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_pii": {"()": "accounts.logging_filters.RedactPIIFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_pii"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "uvicorn.error": {"level": "WARNING"},
    },
}

# --- Tandem product settings ------------------------------------------------------------------
TANDEM_TICKET_NUMBER_START = 1001
# Origins that may embed the widget (the demo product site in development).
TANDEM_WIDGET_ORIGINS = env.list("TANDEM_WIDGET_ORIGINS", default=["http://localhost:8001"])
TANDEM_DEMO_SITE_URL = env("TANDEM_DEMO_SITE_URL", default="http://localhost:8001/")

# Co-browse session rules (DESIGN.md, "Session lifecycle").
COBROWSE_INVITE_TTL_SECONDS = env.int("COBROWSE_INVITE_TTL_SECONDS", default=15 * 60)
COBROWSE_INACTIVITY_TIMEOUT_SECONDS = env.int("COBROWSE_INACTIVITY_TIMEOUT_SECONDS", default=30 * 60)
COBROWSE_MAX_DURATION_SECONDS = env.int("COBROWSE_MAX_DURATION_SECONDS", default=45 * 60)
COBROWSE_EXTENSION_SECONDS = env.int("COBROWSE_EXTENSION_SECONDS", default=15 * 60)
COBROWSE_ACTION_TTL_SECONDS = env.int("COBROWSE_ACTION_TTL_SECONDS", default=30)
COBROWSE_ACTION_GRACE_SECONDS = 5
COBROWSE_GRANT_TTL_SECONDS = env.int("COBROWSE_GRANT_TTL_SECONDS", default=10 * 60)
COBROWSE_MAX_VIEWERS = 3
COBROWSE_JOIN_RATE_LIMIT = env("COBROWSE_JOIN_RATE_LIMIT", default="20/m")
# Live sockets' own limits: staff and team-member sockets re-check their admission this often
# (jittered +-25 %), even if a broadcast was lost; `hello` attempts per client address on the
# customer and watch sockets (count/period, like COBROWSE_JOIN_RATE_LIMIT).
COBROWSE_ADMISSION_RECHECK_SECONDS = env.float("COBROWSE_ADMISSION_RECHECK_SECONDS", default=7.0)
COBROWSE_HELLO_RATE_LIMIT = env("COBROWSE_HELLO_RATE_LIMIT", default="30/m")
# Store the client's address and user agent on consent records ("full", "truncated", "none").
CONSENT_CLIENT_INFO = env("CONSENT_CLIENT_INFO", default="truncated")

# Recordings (DESIGN.md, "Recordings").
# RECORDING_KEYS: comma-separated "key_id:base64url(32 random bytes)" master keys (docs/recordings-crypto.md).
# The first wraps new recordings' data keys, all of them unwrap. The default is the published
# DEVELOPMENT-ONLY key "dev-insecure", refused by recordings/keys.py whenever DEBUG is off.
RECORDING_KEYS = env.list(
    "RECORDING_KEYS", default=["dev-insecure:dGFuZGVtLURFVkVMT1BNRU5ULU9OTFkta2V5LTAwMDA"]
)
# Days a recording is kept before the retention purge crypto-shreds it (key destroyed, then blobs).
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=90)

# Server-side browser sessions.
BROWSER_EXECUTABLE_PATH = env("BROWSER_EXECUTABLE_PATH", default="/usr/bin/chromium")

# --- cobrowse: timers sweep ---------------------------------------------------------------------
CELERY_BEAT_SCHEDULE["cobrowse-sweep"] = {
    "task": "cobrowse.tasks.sweep_sessions",
    "schedule": 30.0,
    "options": {"expires": 25},
}
CELERY_BEAT_SCHEDULE["browser-runner-watch"] = {
    "task": "cobrowse.tasks.watch_browser_runners",
    "schedule": 30.0,
    "options": {"expires": 25},
}

# --- Server-side browser egress (cobrowse/browser; docs/egress.md) ---------------------------
# Allow-list entries (exact ``host``, ``host:port``, ``*.suffix``) may be reached even when they
# are not public addresses; that is how the development demo site is reached. Use host:port.
BROWSER_EGRESS_ALLOW_HOSTS = env.list(
    "BROWSER_EGRESS_ALLOW_HOSTS", default=["localhost:8001"] if DEBUG else []
)
# Block-list entries are refused even when public (same entry format); they win over the allow-list.
BROWSER_EGRESS_BLOCK_HOSTS = env.list("BROWSER_EGRESS_BLOCK_HOSTS", default=[])
# The proxy listens here; Chromium's host-resolver rules exclude only this host.
BROWSER_EGRESS_PROXY_HOST = env("BROWSER_EGRESS_PROXY_HOST", default="127.0.0.1")
BROWSER_EGRESS_PROXY_PORT = env.int("BROWSER_EGRESS_PROXY_PORT", default=0)
BROWSER_EGRESS_MAX_CONNECTIONS = env.int("BROWSER_EGRESS_MAX_CONNECTIONS", default=128)
# --- end server-side browser egress ---------------------------------------------------------

# --- Server-side browser sessions (cobrowse/browser: runner, screencast, action API) -----------
# One Chromium per browser-worker process; each session gets its own isolated context in it.
BROWSER_MAX_CONTEXTS_PER_WORKER = env.int("BROWSER_MAX_CONTEXTS_PER_WORKER", default=4)
# New sessions are refused ("no capacity") above this share of the host's memory in use.
BROWSER_MAX_MEMORY_PERCENT = env.int("BROWSER_MAX_MEMORY_PERCENT", default=85)
# No agent action or input for this long ends the browser session (inactivity).
BROWSER_IDLE_TIMEOUT_SECONDS = env.int("BROWSER_IDLE_TIMEOUT_SECONDS", default=5 * 60)
BROWSER_VIEWPORT_WIDTH = env.int("BROWSER_VIEWPORT_WIDTH", default=1280)
BROWSER_VIEWPORT_HEIGHT = env.int("BROWSER_VIEWPORT_HEIGHT", default=720)
BROWSER_MAX_FPS = env.float("BROWSER_MAX_FPS", default=10.0)
# Bytes a second each viewer may receive while the page changes: above it the JPEG quality steps down
# at full size (q60 to q35), then frames are held (cobrowse/browser/framepolicy.py).
BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND = env.int(
    "BROWSER_SCREENCAST_MAX_BYTES_PER_SECOND", default=300 * 1024
)
# Frames a viewer may leave unacknowledged before it gets fewer (and then smaller) frames.
BROWSER_FRAME_MAX_IN_FLIGHT = env.int("BROWSER_FRAME_MAX_IN_FLIGHT", default=3)
# How long the API waits for the session's runner to answer (plus the action's own wait).
BROWSER_REQUEST_TIMEOUT_SECONDS = env.float("BROWSER_REQUEST_TIMEOUT_SECONDS", default=15.0)
BROWSER_ACTIONS_PER_SECOND = env.int("BROWSER_ACTIONS_PER_SECOND", default=10)
# Crashed page or browser: reopen the last URL in a fresh context at most this many times.
BROWSER_MAX_RECOVERIES = env.int("BROWSER_MAX_RECOVERIES", default=3)
# --- end server-side browser sessions ----------------------------------------------------------

# --- Session recordings (recordings/: retention purge, customer copies) -------------------------
# Regulated industries (accounts.models.REGULATED_INDUSTRIES) keep recordings at most this long unless
# the account sets its own recording_retention_days.
RECORDING_RETENTION_DAYS_REGULATED = env.int("RECORDING_RETENTION_DAYS_REGULATED", default=30)
# Days an approved customer link to a recording works.
RECORDING_ACCESS_LINK_DAYS = env.int("RECORDING_ACCESS_LINK_DAYS", default=7)
CELERY_BEAT_SCHEDULE["recordings-retention"] = {
    "task": "recordings.tasks.purge_expired_recordings",
    "schedule": 24 * 60 * 60.0,
}
# --- end session recordings ------------------------------------------------------------------------
