"""Settings for the login-throttling check (tests/accounts/test_backends.py), run in its own process:
Tandem's settings with django-axes installed and its backend first, on a throwaway SQLite database."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "axes"]  # noqa: F405
MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]  # noqa: F405
AUTHENTICATION_BACKENDS = [
    "accounts.backends.RequestOptionalAxesBackend",
    "django.contrib.auth.backends.ModelBackend",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_FAILURE_LIMIT = 2
