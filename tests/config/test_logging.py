"""What the web tier logs: one clean line for a refused request, none twice, no traceback when a
customer closes a tab; server errors keep their traceback."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def _console(logger_name: str) -> logging.Handler:
    owner = logging.getLogger(logger_name)
    while not owner.handlers and owner.propagate and owner.parent:
        owner = owner.parent
    (handler,) = [h for h in owner.handlers if not type(h).__module__.startswith("_pytest")]
    return handler


def _written(logger_name: str, request) -> str:
    handler = _console(logger_name)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        request()
    finally:
        handler.setStream(previous)
    return stream.getvalue()


@pytest.mark.django_db
@pytest.mark.urls("tests.config.error_urls")
@pytest.mark.parametrize("debug", [False, True], ids=["no-debug", "debug"])
def test_a_403_is_one_line_without_a_traceback(settings, debug):
    settings.DEBUG = debug
    out = _written("django.request", lambda: Client().get("/test-errors/forbidden/"))
    assert out.splitlines() == ["Forbidden (Permission denied): /test-errors/forbidden/"], out


@pytest.mark.django_db
@pytest.mark.urls("tests.config.error_urls")
def test_a_server_error_keeps_its_traceback():
    out = _written(
        "django.request", lambda: Client(raise_request_exception=False).get("/test-errors/broken/")
    )
    assert out.startswith("Internal Server Error: /test-errors/broken/") and "Traceback" in out
    assert "RuntimeError: boom" in out


CLOSED_TAB = textwrap.dedent(
    """
    import asyncio, gc, sys
    import django
    django.setup()
    if sys.argv[1] == "uvloop":
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    from uvicorn.protocols.utils import ClientDisconnected

    async def send_after_close():
        raise ClientDisconnected()  # what uvicorn raises when a consumer sends to a closed socket

    async def main():
        task = asyncio.ensure_future(send_after_close())
        await asyncio.sleep(0.05)
        del task  # nobody awaited it: asyncio reports it when it is collected
        gc.collect()
        await asyncio.sleep(0.05)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_a_closed_tab_is_one_line_without_a_traceback(loop):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", CLOSED_TAB, loop],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("AXES:")]
    assert lines == ["Client disconnected before a socket task finished sending; ignored."], done.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_web_tier_logs_a_request_once():
    """The real command (config.serve): a 404 is Django's one line, not also an access line."""
    port = _free_port()
    env = {**os.environ, "WEB_WORKERS": "1", "LOG_ACCESS": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "config.serve", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no/such/page/", timeout=2)
            except urllib.error.HTTPError as exc:
                assert exc.code == 404
                break
            except OSError:
                assert time.monotonic() < deadline, "the web process did not start"
                time.sleep(0.3)
        time.sleep(0.5)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    lines = [line for line in out.splitlines() if "/no/such/page/" in line]
    assert lines == ["Not Found: /no/such/page/"], out
