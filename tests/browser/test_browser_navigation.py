"""Navigations the page starts by itself are held to the session's origins (guard.NavigationGuard).

Two servers on 127.0.0.1, both allow-listed for egress; only the first is the session's origin. From
a page on it, a script clicks a link, sets ``location``, a meta refresh fires, a 302 chain ends on
the other origin, a form posts there and two popups open there: each is refused before the request
leaves, the page stays on an allowed URL, the viewers and the activity feed are told, and the other
server sees no document request. A subframe of the other origin loads (subframes follow the egress
rules only), and a popup to the session's own origin opens in the shared tab.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from browser import guard, services
from browser.worker import BrowserHost, BrowserSessionRunner
from tests.browser.conftest import SiteServer
from tests.browser.test_worker import Viewer, _consented_browser_session
from tickets.models import TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

OTHER_PORT = {"port": 0}


def _page(body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>Allowed</title>{head}</head>"
        f"<body style='font:20px sans-serif'>{body}</body></html>"
    ).encode()


def _allowed(method, path, headers, body):
    other = f"http://127.0.0.1:{OTHER_PORT['port']}"
    html = {"Content-Type": "text/html; charset=utf-8"}
    if path == "/r1":
        return 302, {"Location": "/r2"}, b""
    if path == "/r2":
        return 302, {"Location": f"{other}/hop?x=1"}, b""
    if path == "/meta":
        return 200, html, _page("Meta", f"<meta http-equiv='refresh' content='0;url={other}/meta'>")
    if path == "/frame":
        return 200, html, _page(f"<iframe src='{other}/frame'></iframe>")
    return (
        200,
        html,
        _page(
            f"<h1>Home {path}</h1>"
            f"<a id='out' href='{other}/link'>out</a> "
            f"<a id='blank' target='_blank' href='{other}/blank'>blank</a> "
            f"<form id='f' method='post' action='{other}/post'><input name='q' value='secret'></form>"
        ),
    )


def _other(method, path, headers, body):
    return 200, {"Content-Type": "text/html; charset=utf-8"}, _page("Other origin")


@pytest.fixture
async def two_sites(settings):
    allowed = await SiteServer("127.0.0.1", _allowed).start()
    other = await SiteServer("127.0.0.1", _other).start()
    OTHER_PORT["port"] = other.port
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{allowed.port}", f"127.0.0.1:{other.port}"]
    yield allowed, other
    await allowed.close()
    await other.close()


def _refusals(ticket_id: int) -> list[dict]:
    events = TicketEvent.objects.filter(ticket_id=ticket_id, data__step="browser_refused")
    return [e.data for e in events if e.data.get("action") == "navigate"]


@pytest.mark.django_db(transaction=True)
async def test_page_initiated_navigation_to_another_origin_is_refused(two_sites):
    allowed, other = two_sites
    session = await sync_to_async(_consented_browser_session)(allowed.origin)
    layer = get_channel_layer()
    async with BrowserHost() as host, Viewer(layer, session.pk) as viewer:
        runner = BrowserSessionRunner(session.pk, host)
        task = asyncio.create_task(runner.run())
        try:
            await viewer.wait_frames(1)
            page = runner.page
            assert page.url == allowed.origin + "/"

            def blocked() -> list[dict]:
                return [s for s in viewer.statuses if (s.get("blocked") or {}).get("kind") == "navigation"]

            async def refused_by(start) -> None:
                """``start`` makes the page leave; the refusal is announced and the page stays."""
                seen = len(blocked())
                await start()
                await viewer.wait_status(lambda s: len(blocked()) > seen)
                await asyncio.sleep(0.3)  # anything that would still commit has had its chance
                assert page.url.startswith(allowed.origin + "/"), page.url
                assert len(runner.context.pages) <= 2

            async def script(js: str) -> None:
                await page.evaluate(js)

            await refused_by(lambda: script("document.getElementById('out').click()"))
            await refused_by(lambda: script(f"location.href = '{other.origin}/js?q=private'"))
            await refused_by(lambda: script("document.getElementById('blank').click()"))
            await refused_by(lambda: script(f"window.open('{other.origin}/open')"))
            await refused_by(lambda: script(f"window.open('{other.origin}/noopener', '_blank', 'noopener')"))

            async def form_post() -> None:  # the submit backstop open, as for the customer's own click
                await runner._gate_call(page, guard.OPEN_GATE_JS)
                await page.evaluate("document.getElementById('f').submit()")

            await refused_by(form_post)

            async def meta_refresh() -> None:
                reply = await services.arequest(
                    session.pk, "action", {"kind": "goto", "url": allowed.origin + "/meta"}, timeout=20
                )
                assert reply.ok, reply.error

            await refused_by(meta_refresh)
            assert page.url == allowed.origin + "/meta"

            # A redirect chain that ends on the other origin: the last hop is refused.
            seen = len(blocked())
            reply = await services.arequest(
                session.pk, "action", {"kind": "goto", "url": allowed.origin + "/r1"}, timeout=20
            )
            assert not reply.ok and reply.error["code"] == "never_allowed", reply.error
            await viewer.wait_status(lambda s: len(blocked()) > seen)
            assert page.url == allowed.origin + "/meta"
            assert [r.path for r in allowed.requests if r.path.startswith("/r")][-2:] == ["/r1", "/r2"]

            # Popups are closed: none stays open.
            async with asyncio.timeout(10):
                while len(runner.context.pages) > 1:
                    await asyncio.sleep(0.1)

            # A popup to the session's own origin opens in the shared tab instead.
            await page.evaluate(f"window.open('{allowed.origin}/second')")
            async with asyncio.timeout(15):
                while page.url != allowed.origin + "/second":
                    await asyncio.sleep(0.1)

            # A subframe of the other origin follows the egress rules only: it loads.
            reply = await services.arequest(
                session.pk, "action", {"kind": "goto", "url": allowed.origin + "/frame"}, timeout=20
            )
            assert reply.ok, reply.error
            async with asyncio.timeout(10):
                while not any(r.path == "/frame" for r in other.requests):
                    await asyncio.sleep(0.1)
            assert runner.url == allowed.origin + "/frame"
            assert runner.last_allowed_url == allowed.origin + "/frame"
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # The other server saw the subframe and nothing else: no document request ever left.
    assert [r.path for r in other.requests] == ["/frame"]
    assert [r.headers.get("sec-fetch-dest") for r in other.requests] == ["iframe"]
    assert host.navigation.refused >= 8

    feed = await sync_to_async(_refusals)(session.ticket_id)
    assert feed and all(e["target"] == other.origin for e in feed)
    assert all(e["reason"] == "navigating to another origin is never allowed" for e in feed)
    assert not any("private" in str(e) or "/js" in str(e) for e in feed)  # no path, no query


@pytest.mark.django_db(transaction=True)
async def test_guard_fails_closed_and_leaves_unregistered_contexts_alone(two_sites):
    allowed, other = two_sites
    async with BrowserHost() as host:
        refused: list[tuple[str, str]] = []

        def broken(url: str) -> str:
            raise RuntimeError("no rule")

        closed = await host.new_context(
            viewport={"width": 800, "height": 600},
            navigation=broken,
            on_navigation_refused=lambda url, reason: refused.append((url, reason)),
        )
        page = await closed.new_page()
        with contextlib.suppress(Exception):
            await page.goto(allowed.origin + "/", timeout=10000)
        assert page.url == "about:blank"
        assert refused and refused[0][1] == "the navigation could not be checked"
        assert not allowed.requests

        open_context = await host.new_context(viewport={"width": 800, "height": 600})  # no session rule
        page = await open_context.new_page()
        await page.goto(other.origin + "/free", timeout=10000)
        assert page.url == other.origin + "/free"
