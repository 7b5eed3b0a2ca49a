"""Tandem settings, read from the environment.

Embedded default: SQLite file and Redis on 127.0.0.1:6379. ``DATABASE_URL`` selects
PostgreSQL, ``REDIS_URL`` another Redis. Production switches come from the environment
(see README, "Configuration").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Fail-closed basics: DEBUG, SECRET_KEY, the test switch ---------------------------------------
# DEBUG is off unless DJANGO_DEBUG turns it on (`make run` does, for the demo). With DEBUG off the
# published development SECRET_KEY is refused here, at start-up of every process (the development
# RECORDING_KEYS entry is refused by recordings/keys.py: a system check error, and at every use).
#
# TANDEM_TESTING (on by default while pytest runs: it sets PYTEST_VERSION, which the suite's own
# child processes inherit) keeps DEBUG off like production but needs no real secret: without
# DJANGO_SECRET_KEY (or AUDIT_KEY) a random key is made for the run and exported to the run's
# child processes, and the HTTPS-only defaults below stay off because the suite speaks plain HTTP
# to its live server.
DEV_SECRET_KEY = "dev-insecure-tandem-key-change-me-in-production-0123456789abcdef"
DEBUG = env.bool("DJANGO_DEBUG", default=False)
TANDEM_TESTING = env.bool("TANDEM_TESTING", default="PYTEST_VERSION" in os.environ)
if TANDEM_TESTING and not os.environ.get("DJANGO_SECRET_KEY"):
    os.environ["DJANGO_SECRET_KEY"] = f"test-run-{secrets.token_urlsafe(48)}"
if TANDEM_TESTING and not os.environ.get("AUDIT_KEY"):
    os.environ["AUDIT_KEY"] = f"test-run-{secrets.token_urlsafe(32)}"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and SECRET_KEY in ("", DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is missing or the published development key while DEBUG is off. Set "
        'DJANGO_SECRET_KEY to a long random value (python -c "import secrets; '
        'print(secrets.token_urlsafe(50))"), or DJANGO_DEBUG=true for local development only.'
    )
# Secure transport defaults (HTTPS redirect, Secure cookies, HSTS): on whenever DEBUG is off,
# except for the test suite's plain-HTTP live server.
_HTTPS_ONLY = not (DEBUG or TANDEM_TESTING)
# Development conveniences (finders, demo egress allow-list) the suite relies on as well.
_DEV_DEFAULTS = DEBUG or TANDEM_TESTING
# --- end fail-closed basics ----------------------------------------------------------------------
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
    "outcomes",
    "live",
    "browser",
    "analytics",
    "demo",  # last: the demo commands use every app above
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cobrowse.cors.WidgetCorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The product's 403/404/500 pages with DEBUG on too (config/error_pages.py); after Common, so
    # APPEND_SLASH still redirects.
    "config.error_pages.ProductErrorPagesMiddleware",
    # After the product error pages, so that it sees a view's exception first: an unreachable
    # database is a 503 (config/unavailable.py).
    "config.unavailable.DatabaseUnavailableMiddleware",
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
    # With a pool, Django's health checks are the pool's ``check``: a connection is tried before it
    # is handed out, so after a database restart the pool's broken connections are dropped instead
    # of failing one request each (docs/faults.md).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)
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
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not _DEV_DEFAULTS
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploaded and generated files (recording blobs) live outside the web root.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
# Recording blobs in an S3 bucket (or an S3-compatible API) instead of MEDIA_ROOT: see
# docs/recordings.md#recordings-on-s3. Credentials come from the usual AWS variables or role.
RECORDINGS_S3_BUCKET = env("RECORDINGS_S3_BUCKET", default="")
if RECORDINGS_S3_BUCKET:
    from recordings.s3 import s3_storage

    STORAGES["recordings"] = s3_storage(
        bucket=RECORDINGS_S3_BUCKET,
        endpoint_url=env("RECORDINGS_S3_ENDPOINT_URL", default=""),
        region=env("RECORDINGS_S3_REGION", default=env("AWS_DEFAULT_REGION", default="")),
        prefix=env("RECORDINGS_S3_PREFIX", default=""),
        sse=env("RECORDINGS_S3_SSE", default=""),
        kms_key_id=env("RECORDINGS_S3_SSE_KMS_KEY_ID", default=""),
        addressing_style=env("RECORDINGS_S3_ADDRESSING_STYLE", default=""),
        connect_timeout=env.float("RECORDINGS_S3_CONNECT_TIMEOUT", default=5.0),
        read_timeout=env.float("RECORDINGS_S3_READ_TIMEOUT", default=20.0),
        max_attempts=env.int("RECORDINGS_S3_MAX_ATTEMPTS", default=3),
    )
WHITENOISE_USE_FINDERS = _DEV_DEFAULTS

# --- Redis: channel layer, cache (rate limits, locks), Celery broker -------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

# The channel layer's Redis servers, comma-separated; the first (or only) one by default is REDIS_URL.
CHANNEL_LAYER_REDIS_URLS: list[str] = env.list("CHANNEL_LAYER_REDIS_URLS", default=[REDIS_URL])

CHANNEL_LAYERS = {
    "default": {
        # The pub/sub layer relays ~2x faster than the core layer here and never drops silently
        # on a full inbox (see docs/scaling.md). ``socket_timeout: None`` keeps idle sockets open
        # with redis-py 8 (its 5 s default kills consumers that idle).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            # One Redis, or several: each channel and group lives on one of them, chosen by a
            # consistent hash of its name (channels-redis ``_get_shard``); every web process must
            # list the same URLs in the same order (docs/faults.md).
            "hosts": [{"address": url, "socket_timeout": None} for url in CHANNEL_LAYER_REDIS_URLS],
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
# By task name: the browser app's tasks keep the names they had under cobrowse (queued ones survive a
# deploy). Only the session runner goes to the browser workers (Procfile ``browser``).
CELERY_TASK_ROUTES = {"cobrowse.browser.tasks.run_browser_session": {"queue": "browsers"}}
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
    "DEFAULT_SCHEMA_CLASS": "accounts.api_schema.ApiAutoSchema",  # documents the error answers too
    "DEFAULT_FILTER_BACKENDS": [],
    # One translation of the services' exceptions into API errors (accounts/api_errors.py).
    "EXCEPTION_HANDLER": "accounts.api_errors.exception_handler",
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

# --- Sign-in throttling (django-axes; accounts/throttle.py, docs/logins.md) ---------------------
# Failed sign-ins on /login/, /admin/login/ and /api/auth/token/ are counted in the cache per account
# name and, separately, per client address; either reaching the limit locks sign-in for that account
# or from that address for LOGIN_LOCKOUT_MINUTES (a clear 429 page or JSON, and one audit entry).
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last: turns a lockout into the 429 response
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Reverse proxies in front of the web processes that append to X-Forwarded-For. 0 (default): the
# client address is REMOTE_ADDR, which uvicorn sets from X-Forwarded-For only for peers listed in
# FORWARDED_ALLOW_IPS; prefer that. N > 0: the Nth address from the right of X-Forwarded-For, for a
# server that does not rewrite REMOTE_ADDR; only when nothing but those proxies can reach it.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES  # DRF throttles count the same address
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
PASSWORD_RESET_LIMIT = env.int("PASSWORD_RESET_LIMIT", default=5)  # per e-mail and per address per period
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"  # counters in Redis: no names or addresses in tables
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = "accounts.throttle.cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account AND per address
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # attempts while locked do not extend it
AXES_RESET_ON_SUCCESS = False  # a sign-in to one account must not reset the address count
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_CLIENT_STR_CALLABLE = "accounts.throttle.client_str"  # logs carry pseudonyms, never names or IPs
AXES_LOCKOUT_CALLABLE = "accounts.throttle.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]
AXES_ENABLE_ADMIN = False  # its admin lists database attempts; the cache handler keeps none there
AXES_VERBOSE = False  # no start-up banner from every process; lockouts still log (pseudonymised)
# --- end sign-in throttling -------------------------------------------------------------------

# --- Security (production values from the environment) --------------------------------------
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_HTTPS_ONLY)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=_HTTPS_ONLY)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=_HTTPS_ONLY)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000 if _HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS_ONLY
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=_HTTPS_ONLY)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# `check --deploy` is about the deployment; the schema's own quality is tests/config/test_schema.py's.
SPECTACULAR_SETTINGS["ENABLE_DJANGO_DEPLOY_CHECK"] = False

# --- Logging: PII never reaches logs (see accounts/logging_filters.py) -----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_pii": {"()": "accounts.logging_filters.RedactPIIFilter"},
        # One line for a 4xx (no traceback) and for a client that closed its tab (config/log_filters.py).
        "one_line": {"()": "config.log_filters.OneLineFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["one_line", "redact_pii"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Django's and uvicorn's loggers write through the scrubbing handler only: request paths reach
    # their messages ("Not Found: /w/<token>/", an access log line), and their own default handlers
    # (uvicorn's, Django's DEBUG console and error mails) would print them unscrubbed.
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        # Access lines are INFO: off (config.serve passes --no-access-log, but uvicorn logs them
        # whenever this logger has a handler, and every request then showed twice: Django's
        # "Not Found: ..." and the access line). LOG_ACCESS=true turns them on, scrubbed.
        "uvicorn.access": {
            "handlers": ["console"],
            "level": "INFO" if env.bool("LOG_ACCESS", default=False) else "WARNING",
            "propagate": False,
        },
    },
}

# --- Tandem product settings ------------------------------------------------------------------
TANDEM_TICKET_NUMBER_START = 1001
# Origins that may embed the widget (the demo product site in development).
TANDEM_WIDGET_ORIGINS = env.list("TANDEM_WIDGET_ORIGINS", default=["http://localhost:8001"])
TANDEM_DEMO_SITE_URL = env("TANDEM_DEMO_SITE_URL", default="http://localhost:8001/")

# Co-browse session rules (docs/architecture.md, "Session lifecycle"; socket limits in docs/relay.md).
COBROWSE_INVITE_TTL_SECONDS = env.int("COBROWSE_INVITE_TTL_SECONDS", default=15 * 60)
COBROWSE_INACTIVITY_TIMEOUT_SECONDS = env.int("COBROWSE_INACTIVITY_TIMEOUT_SECONDS", default=30 * 60)
COBROWSE_MAX_DURATION_SECONDS = env.int("COBROWSE_MAX_DURATION_SECONDS", default=45 * 60)
COBROWSE_EXTENSION_SECONDS = env.int("COBROWSE_EXTENSION_SECONDS", default=15 * 60)
COBROWSE_ACTION_TTL_SECONDS = env.int("COBROWSE_ACTION_TTL_SECONDS", default=30)
COBROWSE_ACTION_GRACE_SECONDS = 5
COBROWSE_GRANT_TTL_SECONDS = env.int("COBROWSE_GRANT_TTL_SECONDS", default=10 * 60)
COBROWSE_MAX_VIEWERS = 3
COBROWSE_JOIN_RATE_LIMIT = env("COBROWSE_JOIN_RATE_LIMIT", default="20/m")
# A page disconnected this long (from the session's move to reconnecting) may get a fresh link from
# its agent, at most this often per session (count/period).
COBROWSE_FRESH_LINK_AFTER_SECONDS = env.int("COBROWSE_FRESH_LINK_AFTER_SECONDS", default=30)
COBROWSE_FRESH_LINK_RATE_LIMIT = env("COBROWSE_FRESH_LINK_RATE_LIMIT", default="4/h")
# Widget-initiated help: how long a request waits for an agent before a call-back is asked on its
# ticket, and the calls per client address of the help endpoints (docs/widget-sdk.md).
HELP_REQUEST_WAIT_SECONDS = env.int("HELP_REQUEST_WAIT_SECONDS", default=180)
HELP_REQUEST_RATE_LIMIT = env("HELP_REQUEST_RATE_LIMIT", default="60/m")
# Live sockets' own limits: staff and team-member sockets re-check their admission this often
# (jittered +-25 %), even if a broadcast was lost; `hello` attempts per client address on the
# customer and watch sockets (count/period, like COBROWSE_JOIN_RATE_LIMIT).
COBROWSE_ADMISSION_RECHECK_SECONDS = env.float("COBROWSE_ADMISSION_RECHECK_SECONDS", default=7.0)
COBROWSE_HELLO_RATE_LIMIT = env("COBROWSE_HELLO_RATE_LIMIT", default="30/m")
# Store the client's address and user agent on consent records ("full", "truncated", "none").
CONSENT_CLIENT_INFO = env("CONSENT_CLIENT_INFO", default="truncated")

# --- Invitation delivery: SMS and chat (consent/sms.py, consent/chat.py) ---
# SMS through a Twilio-compatible Messages API; all four set, or the development outbox is used.
SMS_API_BASE_URL = env("SMS_API_BASE_URL", default="")
SMS_ACCOUNT_SID = env("SMS_ACCOUNT_SID", default="")
SMS_AUTH_TOKEN = env("SMS_AUTH_TOKEN", default="")
SMS_FROM_NUMBER = env("SMS_FROM_NUMBER", default="")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=5.0)
# Chat: a signed JSON webhook into the customer's conversation; both set, or the outbox is used.
CHAT_WEBHOOK_URL = env("CHAT_WEBHOOK_URL", default="")
CHAT_WEBHOOK_SECRET = env("CHAT_WEBHOOK_SECRET", default="")
CHAT_WEBHOOK_TIMEOUT_SECONDS = env.float("CHAT_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# --- end invitation delivery ---

# --- Voice: the telephony integration's call events (live/voice_api.py, docs/voice.md) ---
# Shared secret(s) signing each request (HMAC-SHA256); comma-separated so a secret can be rotated.
# Unset: the transcript endpoint refuses every request (403).
VOICE_WEBHOOK_SECRET = env("VOICE_WEBHOOK_SECRET", default="")
# Transcript requests per integration user and session (DRF rate, e.g. "600/min").
VOICE_TRANSCRIPT_RATE = env("VOICE_TRANSCRIPT_RATE", default="600/min")
# Days after a session ended before its transcript is deleted by the daily retention pass.
VOICE_TRANSCRIPT_RETENTION_DAYS = env.int("VOICE_TRANSCRIPT_RETENTION_DAYS", default=30)
# --- end voice ---

# --- The co-browse assistant (cobrowse/assist/, docs/assistant.md) ---
# "rules" (the default RuleBasedProvider), "openai" (any OpenAI-compatible chat completions API,
# falling back to the rules on any error) or the dotted path of a provider class.
ASSIST_PROVIDER = env("ASSIST_PROVIDER", default="rules")
ASSIST_LLM_URL = env("ASSIST_LLM_URL", default="")
ASSIST_LLM_MODEL = env("ASSIST_LLM_MODEL", default="")
ASSIST_LLM_API_KEY = env("ASSIST_LLM_API_KEY", default="")
ASSIST_LLM_TIMEOUT_SECONDS = env.float("ASSIST_LLM_TIMEOUT_SECONDS", default=3.0)
# How long a session's latest page context is kept after its last page message.
ASSIST_CONTEXT_TTL_SECONDS = env.int("ASSIST_CONTEXT_TTL_SECONDS", default=60 * 60)
# The rules' trigger thresholds (the issue's defaults; the widget's own are configured per site).
ASSIST_STALL_THRESHOLD_MS = env.int("ASSIST_STALL_THRESHOLD_MS", default=20_000)
ASSIST_ERROR_THRESHOLD_MS = env.int("ASSIST_ERROR_THRESHOLD_MS", default=10_000)
ASSIST_IDLE_THRESHOLD_MS = env.int("ASSIST_IDLE_THRESHOLD_MS", default=45_000)
# --- end assistant ---

# Recordings (docs/recordings.md).
# RECORDING_KEYS: comma-separated "key_id:base64url(32 random bytes)" master keys (docs/recordings-crypto.md).
# The first wraps new recordings' data keys, all of them unwrap. The default is the published
# DEVELOPMENT-ONLY key "dev-insecure", refused by recordings/keys.py whenever DEBUG is off.
RECORDING_KEYS = env.list(
    "RECORDING_KEYS", default=["dev-insecure:dGFuZGVtLURFVkVMT1BNRU5ULU9OTFkta2V5LTAwMDA"]
)
# Days a recording is kept before the retention purge crypto-shreds it (key destroyed, then blobs).
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=90)

# --- Audit trail: chain key and anchors (audit/; docs/audit.md) --------------------------------
# AUDIT_KEY keys the chain's HMAC. It lives in the environment, never in the database, so whoever can
# write the audit table cannot recompute the chain. At least 32 characters, e.g. the output of
# `python -c "import secrets; print(secrets.token_urlsafe(32))"`. The published development key
# below is accepted only with DEBUG on; without a key, or with that one, DEBUG off refuses to start.
_AUDIT_DEV_KEY = "dev-insecure-tandem-audit-key-DEVELOPMENT-ONLY-0000"
AUDIT_KEY = env("AUDIT_KEY", default="") or (_AUDIT_DEV_KEY if DEBUG else "")
if not DEBUG and AUDIT_KEY in ("", _AUDIT_DEV_KEY):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "AUDIT_KEY must be set to a secret of at least 32 characters when DEBUG is off "
        "(the development key is refused)."
    )
if len(AUDIT_KEY) < 32:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("AUDIT_KEY must be at least 32 characters long.")
# Where chain heads are anchored: "file" (an append-only JSON-lines file, AUDIT_ANCHOR_PATH) or
# "storage" (one write-once object per anchor in STORAGES["audit_anchors"]: an S3 bucket with Object
# Lock when AUDIT_ANCHOR_BUCKET is set).
AUDIT_ANCHOR_STORE = env("AUDIT_ANCHOR_STORE", default="file")
AUDIT_ANCHOR_PATH = Path(env("AUDIT_ANCHOR_PATH", default=str(BASE_DIR / "var" / "audit" / "anchors.jsonl")))
AUDIT_ANCHOR_STORAGE_ALIAS = "audit_anchors"
if env("AUDIT_ANCHOR_BUCKET", default=""):
    STORAGES[AUDIT_ANCHOR_STORAGE_ALIAS] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AUDIT_ANCHOR_BUCKET"),
            "location": env("AUDIT_ANCHOR_BUCKET_PREFIX", default=""),
            # Never replace an object; the bucket's default Object Lock retention (COMPLIANCE mode)
            # makes every anchor undeletable for that period, whatever credentials ask.
            "file_overwrite": False,
            "default_acl": None,
        },
    }
# How often beat anchors the head (skipped when nothing was recorded since the last anchor). Anything
# recorded after the latest anchor is protected by the key alone: keep it short.
AUDIT_ANCHOR_INTERVAL_SECONDS = env.int("AUDIT_ANCHOR_INTERVAL_SECONDS", default=10 * 60)
CELERY_BEAT_SCHEDULE["audit-anchor"] = {
    "task": "audit.tasks.anchor_audit_chain",
    "schedule": float(AUDIT_ANCHOR_INTERVAL_SECONDS),
    "options": {"expires": AUDIT_ANCHOR_INTERVAL_SECONDS / 2},
}
# --- end audit trail ---------------------------------------------------------------------------

# Server-side browser sessions.
BROWSER_EXECUTABLE_PATH = env("BROWSER_EXECUTABLE_PATH", default="/usr/bin/chromium")
# --- Server-side browser sandbox (docs/browser-sandbox.md) -------------------------------------
# Chromium's sandbox refuses root: a browser worker running as root starts Chromium as this
# unprivileged user (scripts/ensure-browser-user.sh creates it). Not root: Chromium runs as the
# worker's own user, sandbox on, and this is not used.
BROWSER_RUN_AS_USER = env("BROWSER_RUN_AS_USER", default="tandem-browser")

# --- cobrowse: timers sweep ---------------------------------------------------------------------
CELERY_BEAT_SCHEDULE["cobrowse-sweep"] = {
    "task": "cobrowse.tasks.sweep_sessions",
    "schedule": 30.0,
    "options": {"expires": 25},
}
# The browser app's runner watch (browser/tasks.py), on the same cadence as the sweep.
CELERY_BEAT_SCHEDULE["browser-runner-watch"] = {
    "task": "cobrowse.tasks.watch_browser_runners",
    "schedule": 30.0,
    "options": {"expires": 25},
}

# --- Server-side browser egress (browser/, cobrowse/browser/urlguard.py; docs/egress.md) --------
# Allow-list entries (exact ``host``, ``host:port``, ``*.suffix``) may be reached even when they
# are not public addresses; that is how the development demo site is reached. Use host:port.
BROWSER_EGRESS_ALLOW_HOSTS = env.list(
    "BROWSER_EGRESS_ALLOW_HOSTS", default=["localhost:8001"] if _DEV_DEFAULTS else []
)
# Block-list entries are refused even when public (same entry format); they win over the allow-list.
BROWSER_EGRESS_BLOCK_HOSTS = env.list("BROWSER_EGRESS_BLOCK_HOSTS", default=[])
# The proxy listens here; Chromium's host-resolver rules exclude only this host.
BROWSER_EGRESS_PROXY_HOST = env("BROWSER_EGRESS_PROXY_HOST", default="127.0.0.1")
BROWSER_EGRESS_PROXY_PORT = env.int("BROWSER_EGRESS_PROXY_PORT", default=0)
BROWSER_EGRESS_MAX_CONNECTIONS = env.int("BROWSER_EGRESS_MAX_CONNECTIONS", default=128)
# --- end server-side browser egress ---------------------------------------------------------

# --- Server-side browser sessions (browser/: runner, screencast, action API) -------------------
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
# at full size (q60 to q35), then frames are held (browser/framepolicy.py).
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

# --- Content-Security-Policy (django-csp 4; config/csp.py) -----------------------------------------
# Every Tandem page: its own scripts, styles, images and fonts only; no plugins, no <base>, no
# framing, forms post to Tandem. No inline script anywhere (page behaviour lives in static/ and
# frontend/; json_script data blocks are data, not script).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Pages that rebuild customer content (console, watch, replay, screencast viewer): nothing by
# default, Tandem's own scripts and sockets, and (set in config/csp.py) the replayed page's
# styles, images, fonts and media from Tandem and TANDEM_CSP_REPLAY_SOURCES only.
TANDEM_CSP_STRICT = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "connect-src": ["'self'"],
    "frame-src": ["'self'"],
}
# Where replayed customer pages may load styles, images, fonts and media from (CSP source
# expressions). Default: any HTTPS host (customers' CDNs), never plain HTTP; with DEBUG or under
# the test suite also the local demo site. Narrow it to your customers' origins and CDNs.
TANDEM_CSP_REPLAY_SOURCES = env.list(
    "TANDEM_CSP_REPLAY_SOURCES",
    default=["https:", *(["http://localhost:*", "http://127.0.0.1:*"] if _DEV_DEFAULTS else [])],
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "config.csp.TandemCSPMiddleware"
)
# --- end Content-Security-Policy -------------------------------------------------------------------

# --- ROI calculator (/manager/roi/): the inputs no table holds; each is editable on the page -------
# Money in the desk's currency, as decimal strings (never floats).
ROI_DEFAULTS = {
    "hourly_cost": env.str("ROI_HOURLY_COST", default="35"),  # an agent's loaded cost per hour
    "licence": env.str("ROI_LICENCE", default="350"),  # the co-browse licence per month
    "tickets_prevented_per_session": env.str("ROI_TICKETS_PREVENTED_PER_SESSION", default="1"),
    "ticket_cost": env.str("ROI_TICKET_COST", default="15"),
    "baseline_minutes": env.str("ROI_BASELINE_MINUTES", default="24"),  # resolving without co-browse
    "mrr": env.str("ROI_MRR", default="0"),  # average monthly revenue of an enterprise customer
    "uplift_pct": env.str("ROI_UPLIFT_PCT", default="0"),  # retention uplift, per cent
    "kb_articles": env.str("ROI_KB_ARTICLES", default="0"),  # articles written from sessions
    "kb_article_value": env.str("ROI_KB_ARTICLE_VALUE", default="0"),
    "training_cost": env.str("ROI_TRAINING_COST", default="0"),
}

# --- Monthly report (analytics/report.py; `manage.py cobrowse_report`, /manager/report/) ----------
# Targets the report marks met or missed, as decimal strings: the share of sessions with a recorded
# outcome resolved in session (per cent, at least) and the mean CSAT (stars out of 5, at least). The
# network disconnect rate's target is the dashboard's (at most 5 %, analytics.dashboard).
REPORT_TARGETS = {
    "resolution_rate": env.str("REPORT_TARGET_RESOLUTION_RATE", default="70"),
    "csat": env.str("REPORT_TARGET_CSAT", default="4.2"),
}
# Beat's clock is the desk's, so "06:00 on the 1st" is the desk's morning, not UTC's (the other
# entries are intervals, which no time zone changes).
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE["analytics-monthly-report"] = {
    "task": "analytics.tasks.email_monthly_report",
    "schedule": crontab(minute=0, hour=6, day_of_month=1),  # no expiry: a late report is still wanted
}
# --- end monthly report ----------------------------------------------------------------------------

# The manager pages' facts (analytics.rollup) are kept on write; this pass repairs what bypassed it.
CELERY_BEAT_SCHEDULE["analytics-refresh-facts"] = {
    "task": "analytics.tasks.refresh_facts",
    "schedule": 3600.0,
    "options": {"expires": 3000},
}
