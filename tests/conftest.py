"""Shared fixtures: users, a Redis reset between tests, a live ASGI server and real Chromium."""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings

from tests.factories import make_account, make_user

# Sync Playwright runs an event loop in the test thread; let the test side use the ORM anyway.
# The forked live server removes this again (tests/live_server.py) so server async bugs still surface.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.25 s per user; tests check behaviour, not the hash's strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty test Redis database (cache, rate limits, locks)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield
    client.close()


@pytest.fixture(autouse=True)
def _mail_worker_in_process(monkeypatch):
    """E-mail is queued for the Celery worker (``accounts.mail``); no worker runs here and Celery is
    not eager (the browser runner must stay queued), so a queued message is sent in this process at
    once, as the worker would send it, and lands in ``mail.outbox``. Its arguments go through JSON
    first, like a message through the broker."""
    import json

    from accounts import mail

    def run(args=(), kwargs=None, **options):
        args, kwargs = json.loads(json.dumps([args, kwargs or {}]))
        return mail.send_email.apply(args=args, kwargs=kwargs)

    monkeypatch.setattr(mail.send_email, "apply_async", run)


@pytest.fixture(scope="session", autouse=True)
def _release_the_test_database(django_db_setup, django_db_blocker):
    """At the end of the run, end what still holds the test database: connections of threads this
    process started (an in-process browser runtime, executor threads) that no teardown of the main
    thread reaches. Otherwise PostgreSQL refuses to drop the database."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def account(db):
    return make_account("Acme Home Loans")


@pytest.fixture
def other_account(db):
    return make_account("Globex")


@pytest.fixture
def customer(account):
    return make_user("customer1", role="customer", account=account)


@pytest.fixture
def other_customer(account):
    return make_user("customer2", role="customer", account=account)


@pytest.fixture
def agent_l1(db):
    return make_user("agent1", role="agent", agent_level="L1")


@pytest.fixture
def agent_l1_certified(db):
    from django.utils import timezone

    return make_user("agent1c", role="agent", agent_level="L1", cobrowse_certified_at=timezone.now())


@pytest.fixture
def agent(db):
    return make_user("agent2", role="agent", agent_level="L2")


@pytest.fixture
def agent_l3(db):
    return make_user("agent3", role="agent", agent_level="L3")


@pytest.fixture
def manager(db):
    return make_user("manager", role="manager")


# --- what the services announce to the live sockets -------------------------------------------


@pytest.fixture
def broadcasts(monkeypatch, django_capture_on_commit_callbacks):
    """Capture what services broadcast to the live sockets (``cobrowse.signals``) once they commit.

    ``with broadcasts() as sent: services.x(...)`` — after the block ``sent`` holds each
    ``(group, message)`` that went out, in order; what a rolled-back transaction queued is absent,
    as in production. Nothing reaches the channel layer.
    """
    import contextlib

    from cobrowse import signals

    sent: list[tuple[str, dict]] = []
    monkeypatch.setattr(signals, "_send", lambda group, message: sent.append((group, message)))

    @contextlib.contextmanager
    def capture():
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            yield sent

    return capture


# --- live server and browser -------------------------------------------------------------------


@pytest.fixture
def live_server_asgi(transactional_db):
    """A forked uvicorn serving the whole ASGI app (HTTP and WebSockets) on the test database."""
    from tests.live_server import LiveAsgiServer

    server = LiveAsgiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module (one sync Playwright at a time, docs/contributing.md, "Browser tests and Chromium")."""
    from tests.live_server import launch_browser

    with launch_browser() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def built_bundles():
    """The front-end bundles as the code in the working tree builds them (once per run)."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run(["node", "frontend/build.mjs"], cwd=root, check=True, timeout=120)


@pytest.fixture
def demo_site(live_server_asgi):
    """The demo customer site (widget installed, pointing at the live server) on a free port."""
    from demo_site.server import make_server, serve_in_thread

    server = make_server("localhost", 0, live_server_asgi.url, quiet=True)
    serve_in_thread(server)
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
