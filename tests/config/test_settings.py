"""config/settings.py fails closed: DEBUG off by default, no development keys without DEBUG, and
`manage.py check --deploy` clean with the production variables set.

Each case runs in a fresh interpreter with only the variables it names (no test switch inherited
from this run), as a deployment would start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recordings.keys import generate_entry

ROOT = Path(__file__).resolve().parents[2]
DEV_SECRET_KEY = "dev-insecure-tandem-key-change-me-in-production-0123456789abcdef"

_PROBE = """
import json
import config.settings as s
print(json.dumps({
    "debug": s.DEBUG, "testing": s.TANDEM_TESTING, "secret_key": s.SECRET_KEY,
    "ssl_redirect": s.SECURE_SSL_REDIRECT, "session_cookie_secure": s.SESSION_COOKIE_SECURE,
    "hsts": s.SECURE_HSTS_SECONDS,
}))
"""


def _clean_env(**variables: str) -> dict[str, str]:
    """The interpreter's bare necessities, an audit key (its own checks are tests/audit's) plus
    ``variables``: no PYTEST_VERSION, no .env secrets."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**keep, "AUDIT_KEY": "a" * 43, **variables}


def _settings(**variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=_clean_env(**variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _values(**variables: str) -> dict:
    result = _settings(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_debug_is_off_unless_turned_on():
    assert _values(DJANGO_SECRET_KEY="x" * 60)["debug"] is False
    assert _values(DJANGO_DEBUG="true")["debug"] is True


@pytest.mark.parametrize(
    "variables",
    [{}, {"DJANGO_DEBUG": "false"}, {"DJANGO_SECRET_KEY": DEV_SECRET_KEY}, {"DJANGO_SECRET_KEY": ""}],
    ids=["nothing-set", "debug-off", "dev-key", "empty-key"],
)
def test_development_or_missing_secret_key_is_refused_without_debug(variables):
    result = _settings(**variables)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DJANGO_SECRET_KEY" in result.stderr


def test_debug_on_uses_the_development_key_over_plain_http():
    """`make run`: DJANGO_DEBUG=true, nothing else, plain HTTP on 127.0.0.1."""
    values = _values(DJANGO_DEBUG="true")
    assert values["secret_key"] == DEV_SECRET_KEY
    assert values["ssl_redirect"] is False and values["session_cookie_secure"] is False
    assert values["hsts"] == 0


def test_production_defaults_are_https_only():
    values = _values(DJANGO_SECRET_KEY="k" * 60)
    assert values["ssl_redirect"] is True and values["session_cookie_secure"] is True
    assert values["hsts"] == 31536000


def test_test_switch_keeps_debug_off_with_a_throwaway_key():
    values = _values(TANDEM_TESTING="true")
    assert values["debug"] is False and values["testing"] is True
    assert values["secret_key"].startswith("test-run-") and values["secret_key"] != DEV_SECRET_KEY
    assert values["ssl_redirect"] is False  # the suite's live server speaks plain HTTP
    assert _values(TANDEM_TESTING="true")["secret_key"] != values["secret_key"]  # new per run


def test_this_run_is_under_the_test_switch_with_debug_off(settings):
    from django.conf import settings as live

    assert live.TANDEM_TESTING is True
    assert live.SECRET_KEY != DEV_SECRET_KEY
    assert os.environ["DJANGO_SECRET_KEY"] == live.SECRET_KEY  # the run's children share it


def test_check_deploy_is_clean_with_production_variables():
    production = _clean_env(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="prod-" + "a1B2c3D4e5" * 6,
        DJANGO_ALLOWED_HOSTS="desk.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://desk.example.com",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tandem"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        RECORDING_KEYS=f"{generate_entry('k2')},{generate_entry('k1')}",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output


def test_check_deploy_flags_the_development_recording_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=_clean_env(DJANGO_SECRET_KEY="prod-" + "a1B2c3D4e5" * 6, DJANGO_ALLOWED_HOSTS="desk.example.com"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "development key" in result.stderr
