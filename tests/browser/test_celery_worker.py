"""Through a real Celery worker: ``celery -A config worker -Q browsers -P threads -c 2`` in a process
of its own (the test database, the test Redis), the web app in a forked daphne. The agent starts a
browser session through the API, the customer's viewer socket gets a first frame, a ``type`` action
through the API changes the frame; then the worker is SIGKILLed mid-session (with its Chromium: the
whole process group, as when a machine dies). The viewer is told the browser is reconnecting, a
restarted worker takes the session up again on the same page and frames resume. Every wait is
bounded; nothing asserts on a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings

from browser import selectors
from cobrowse.models import CoBrowseSession, SessionState
from demo_site.server import make_server, serve_in_thread
from tests.browser.test_e2e_browser_session import _api, _consent, _people
from tickets.models import TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 90  # a cold worker on a loaded 2-core machine: Django, Celery, Playwright
FRAME_TIMEOUT_S = 60
RECOVERY_TIMEOUT_S = 150  # runner TTL (30 s) + viewer watch (5 s) + worker start + launch


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


class CeleryWorker:
    """One ``celery worker`` process group on the browsers queue; its output kept for failures."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()

    def start(self) -> CeleryWorker:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=_database_url(),
            REDIS_URL=settings.REDIS_URL,
            BROWSER_EGRESS_ALLOW_HOSTS=",".join(settings.BROWSER_EGRESS_ALLOW_HOSTS),
            PYTHONUNBUFFERED="1",
        )
        command = [
            str(Path(sys.executable).with_name("celery")),
            "-A", "config", "worker", "-Q", "browsers", "-P", "threads", "-c", "2",
            "--prefetch-multiplier", "1", "-n", f"test-browsers-{uuid.uuid4().hex[:8]}@%h",
            "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self._ready.clear()
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: Chromium and the Playwright driver too
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if not self._ready.wait(READY_TIMEOUT_S):
            self.kill()
            raise RuntimeError("celery worker did not start:\n" + self.output())
        return self

    def _read(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip())
            if " ready." in line:
                self._ready.set()

    def output(self, last: int = 60) -> str:
        return "\n".join(self.lines[-last:])

    def kill(self) -> None:
        """SIGKILL to the whole group: no shutdown hook, no ``finally`` runs anywhere in it."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def demo_site(settings):
    server = make_server("localhost", 0, "http://localhost:1", quiet=True)
    serve_in_thread(server)
    origin = f"http://localhost:{server.server_address[1]}"
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"localhost:{server.server_address[1]}"]  # before the fork
    yield origin
    server.shutdown()
    server.server_close()


@pytest.fixture
def workers():
    started: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        worker = CeleryWorker()
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.kill()


class ViewerSocket:
    """The customer's viewer socket (by the grant): frames acknowledged as drawn, JSON kept."""

    def __init__(self, ws_url: str, http_url: str, session_id: int, grant: str) -> None:
        self.url = f"{ws_url}/ws/browser/{session_id}/"
        self.origin = http_url
        self.grant = grant
        self.frames: list[bytes] = []
        self.messages: list[dict] = []
        self.closed = asyncio.Event()

    async def __aenter__(self) -> ViewerSocket:
        self.ws = await websockets.connect(self.url, origin=self.origin, max_size=4 * 1024 * 1024)
        await self._send("hello", {"grant": self.grant})
        self.task = asyncio.create_task(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.ws.close()

    async def _send(self, kind: str, data: dict) -> None:
        await self.ws.send(json.dumps({"type": kind, "seq": 0, "ts": int(time.time() * 1000), "data": data}))

    async def _loop(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    self.frames.append(message)
                    await self._send("ack", {"frame": len(self.frames)})
                else:
                    self.messages.append(json.loads(message))
        finally:
            self.closed.set()

    def statuses(self) -> list[dict]:
        return [m["data"] for m in self.messages if m["type"] == "status"]

    async def until(self, predicate, timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(
                f"{what}: not within {timeout} s; last messages {self.messages[-5:]}"
            ) from None


async def _until_state(session_id: int, predicate, what: str, timeout: float = 30.0) -> None:
    state: dict = {}
    try:
        async with asyncio.timeout(timeout):
            while not predicate(state := await sync_to_async(selectors.runtime_state)(session_id)):
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout} s; runtime state {state}") from None


def _session(session_id: int) -> CoBrowseSession:
    return CoBrowseSession.objects.get(pk=session_id)


def _steps(ticket_id: int) -> list[str]:
    return [e.data.get("step") for e in TicketEvent.objects.filter(ticket_id=ticket_id).order_by("pk")]


async def test_a_real_worker_runs_the_session_and_a_killed_worker_is_replaced(
    demo_site, live_server_asgi, workers
):
    base = live_server_asgi.url
    first = await asyncio.to_thread(workers)
    ticket, token = await sync_to_async(_people)(demo_site)
    start = {"ticket": ticket.reference, "start_url": f"{demo_site}/apply/personal"}
    status, created = await asyncio.to_thread(_api, base, token, "POST", "browser-sessions/", start)
    assert status == 201, created
    session_id = created["id"]
    grant = await sync_to_async(_consent)(created["join_url"])
    status, launched = await asyncio.to_thread(_api, base, token, "POST", "browser-sessions/", start)
    assert status == 200 and launched["launched"] is True, launched

    async with ViewerSocket(live_server_asgi.ws_url, base, session_id, grant) as viewer:
        try:
            await viewer.until(lambda: viewer.frames, FRAME_TIMEOUT_S, "a first frame")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nworker:\n{first.output()}") from None
        runner = await sync_to_async(selectors.runner_info)(session_id)
        assert runner is not None and runner["pid"] == first.process.pid

        # An action through the API reaches the page in the worker; the frame changes.
        seen = len(viewer.frames)
        before = viewer.frames[-1]
        action = {"kind": "type", "selector": "#full-name", "text": "Asha Rao"}
        for _attempt in range(10):  # 503 while the runner is still starting
            status, result = await asyncio.to_thread(
                _api, base, token, "POST", f"browser-sessions/{session_id}/actions/", action
            )
            if status != 503:
                break
            await asyncio.sleep(1)
        assert status == 200 and result["ok"], result
        await viewer.until(
            lambda: len(viewer.frames) > seen and viewer.frames[-1] != before,
            FRAME_TIMEOUT_S,
            "a changed frame",
        )

        # On to the next page, then the worker dies mid-session, Chromium with it.
        address = f"{demo_site}/apply/address"
        status, result = await asyncio.to_thread(
            _api,
            base,
            token,
            "POST",
            f"browser-sessions/{session_id}/actions/",
            {"kind": "goto", "url": address},
        )
        assert status == 200 and result["ok"], result
        await _until_state(
            session_id, lambda s: s.get("url", "").startswith(address), "the runner on the new page"
        )
        first.kill()
        killed_at = time.monotonic()
        statuses_before = len(viewer.statuses())
        second = await asyncio.to_thread(workers)
        await viewer.until(
            lambda: (
                any(s.get("browser") == "reconnecting" for s in viewer.statuses()[statuses_before:])
                or viewer.closed.is_set()
            ),
            RECOVERY_TIMEOUT_S,
            "the viewer told of the lost browser",
        )
        frames_before = len(viewer.frames)
        await viewer.until(
            lambda: len(viewer.frames) > frames_before or viewer.closed.is_set(),
            RECOVERY_TIMEOUT_S,
            f"frames again (worker: {second.output(20)})",
        )
        recovered_s = time.monotonic() - killed_at
        session = await sync_to_async(_session)(session_id)
        if viewer.closed.is_set():  # the other allowed outcome: ended cleanly, with a reason
            assert session.state == SessionState.ENDED and session.end_reason, session.end_reason
        else:
            assert session.state in (SessionState.ACTIVE, SessionState.RECONNECTING)
            runner = await sync_to_async(selectors.runner_info)(session_id)
            assert runner is not None and runner["pid"] == second.process.pid
            # The new runner went on where the old one was.
            await _until_state(
                session_id,
                lambda s: s.get("browser") == "live" and s.get("url", "").startswith(address),
                "the new runner on the last page",
            )
            steps = await sync_to_async(_steps)(ticket.pk)
            assert "browser_relaunched" in steps
            status, _ = await asyncio.to_thread(
                _api, base, token, "POST", f"browser-sessions/{session_id}/actions/", {"kind": "reload"}
            )
            assert status == 200
        assert recovered_s < RECOVERY_TIMEOUT_S

        status, _ = await asyncio.to_thread(_api, base, token, "POST", f"browser-sessions/{session_id}/stop/")
        await viewer.until(lambda: viewer.closed.is_set(), 60, "the viewer closed when the session ended")
