"""The never-list in the runner, in real Chromium against a local page with a form: whatever the
client asks, no form is submitted, nothing that pays is clicked, no file input is opened, nothing
is typed into a masked field, Enter in a form field is refused, and no navigation leaves the
allowed origins. Each refusal names its reason, goes back to the socket that sent the input, and
is a line in the activity feed; ordinary actions still work. Viewer input is rate limited.

Irreversible actions stay with the customer: while the customer holds the browser, their own input
may submit and may type into a password field (the page's submit gate opens only around it); the
agent's input and API actions meet the whole list in every mode, also in ``full``."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from browser import services
from browser.worker import BrowserHost, BrowserSessionRunner
from cobrowse.groups import browser_control_group
from cobrowse.models import CoBrowseSession, ParticipantRole
from tests.browser.conftest import SiteServer
from tests.browser.test_worker import Viewer, _consented_browser_session
from tickets.models import TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180), pytest.mark.django_db(transaction=True)]

FORM_PAGE = b"""<!doctype html><html><head><title>Checkout</title></head>
<body style="margin:0;font:20px sans-serif">
<h1 id="h">Start</h1>
<form id="f" action="/submitted" method="post">
  <input id="name" name="name" style="display:block">
  <input id="pw" name="pw" type="password" style="display:block">
  <input id="otp" name="otp" autocomplete="one-time-code" style="display:block">
  <input id="cc" name="cc" autocomplete="cc-number" style="display:block">
  <input id="secret" name="secret" data-sensitive style="display:block">
  <input id="account" name="account" class="account-no" style="display:block">
  <input id="file" name="file" type="file" style="display:block">
  <label id="file-label" for="file">Attach a document</label>
  <button id="send" style="display:block;width:200px;height:40px">Send</button>
  <input id="go" type="submit" value="Go" style="display:block">
  <button id="plain" type="button" onclick="document.getElementById('h').textContent='plain'">Plain</button>
  <span id="sneaky" onclick="document.getElementById('f').requestSubmit()">Sneaky</span>
</form>
<textarea id="notes"></textarea>
<button id="pay" type="button" style="display:block;width:200px;height:40px">Pay now</button>
<a id="buy" href="/buy">Buy now</a>
<div data-tandem-pay><button id="wrapped" type="button">Continue</button></div>
<a id="away" href="http://127.0.0.1:1/elsewhere">Elsewhere</a>
<a id="help" href="/help">Help</a>
<div id="lazy" style="height:20px" onclick="document.getElementById('f').requestSubmit()">Lazy</div>
</body></html>"""


def _site(method, path, headers, body):
    if path.startswith("/help"):
        return 200, {"Content-Type": "text/html"}, b"<title>Help</title><p>help</p>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, FORM_PAGE


@pytest.fixture
async def site(settings):
    server = await SiteServer("127.0.0.1", _site).start()
    # Port 1 passes the egress rules; it is still another origin than the session's.
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [f"127.0.0.1:{server.port}", "127.0.0.1:1"]
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def _running(site, *, mode: str = "controlled", selectors=()):
    session = await sync_to_async(_consented_browser_session)(site.origin)
    if mode != "controlled":
        await sync_to_async(CoBrowseSession.objects.filter(pk=session.pk).update)(mode=mode)
    if selectors:
        await sync_to_async(_set_selectors)(session, list(selectors))
    layer = get_channel_layer()
    async with BrowserHost() as host, Viewer(layer, session.pk) as viewer:
        runner = BrowserSessionRunner(session.pk, host)
        task = asyncio.create_task(runner.run())
        try:
            await viewer.wait_frames(1, timeout=20)
            yield session, runner
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _set_selectors(session, selectors):
    account = session.ticket.account
    account.redaction_selectors = selectors
    account.save(update_fields=["redaction_selectors"])


async def _act(session_id: int, action: dict, actor_id: int | None = None) -> services.Reply:
    return await services.arequest(session_id, "action", action, timeout=20, actor_id=actor_id)


async def _center(runner, selector: str) -> tuple[float, float]:
    box = await runner.page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def _refusals(ticket_id: int) -> list[dict]:
    return [e.data for e in TicketEvent.objects.filter(ticket_id=ticket_id, data__step="browser_refused")]


async def test_agent_actions_on_the_never_list_are_refused(site, settings):
    settings.BROWSER_ACTIONS_PER_SECOND = 100
    async with _running(site, selectors=[".account-no"]) as (session, runner):
        agent_id = session.agent_id
        refused = {
            "submit button by selector": ({"kind": "click", "selector": "#send"}, "submitting a form"),
            "submit input": ({"kind": "click", "selector": "#go"}, "submitting a form"),
            "requestSubmit control": ({"kind": "click", "selector": "#sneaky"}, "submitting a form"),
            "file input": ({"kind": "click", "selector": "#file"}, "file fields"),
            "label of a file input": ({"kind": "click", "selector": "#file-label"}, "file fields"),
            "pay button": ({"kind": "click", "selector": "#pay"}, "paying"),
            "buy link": ({"kind": "click", "selector": "#buy"}, "paying"),
            "data-tandem-pay": ({"kind": "click", "selector": "#wrapped"}, "paying"),
            "link to another origin": ({"kind": "click", "selector": "#away"}, "another origin"),
            "password": ({"kind": "type", "selector": "#pw", "text": "hunter2"}, "password fields"),
            "one-time code": ({"kind": "type", "selector": "#otp", "text": "123456"}, "one-time-code"),
            "card number": ({"kind": "type", "selector": "#cc", "text": "4111"}, "payment"),
            "data-sensitive": ({"kind": "type", "selector": "#secret", "text": "x"}, "masked fields"),
            "account selector": ({"kind": "type", "selector": "#account", "text": "x"}, "masked fields"),
            "goto elsewhere": ({"kind": "goto", "url": "http://127.0.0.1:1/"}, "another origin"),
        }
        for label, (action, reason) in refused.items():
            reply = await _act(session.pk, action, agent_id)
            assert not reply.ok, label
            assert reply.error["code"] == "never_allowed", (label, reply.error)
            assert reason in reply.error["message"], (label, reply.error)

        # By coordinates: the element under the point is what counts.
        x, y = await _center(runner, "#send")
        reply = await _act(session.pk, {"kind": "click", "x": x, "y": y}, agent_id)
        assert not reply.ok and "submitting a form" in reply.error["message"]
        x, y = await _center(runner, "#pay")
        reply = await _act(session.pk, {"kind": "click", "x": x, "y": y}, agent_id)
        assert not reply.ok and "paying" in reply.error["message"]

        # Enter in a form field would submit it (implicit submission); in a textarea it is a newline.
        assert (await _act(session.pk, {"kind": "type", "selector": "#name", "text": "Asha"}, agent_id)).ok
        reply = await _act(session.pk, {"kind": "press", "key": "Enter"}, agent_id)
        assert not reply.ok and "submitting a form" in reply.error["message"]
        await runner.page.focus("#pw")
        reply = await _act(session.pk, {"kind": "press", "key": "a"}, agent_id)
        assert not reply.ok and "password fields" in reply.error["message"]
        assert (await _act(session.pk, {"kind": "type", "selector": "#notes", "text": "hi"}, agent_id)).ok
        assert (await _act(session.pk, {"kind": "press", "key": "Enter"}, agent_id)).ok

        # Ordinary actions still work, and nothing was ever submitted or typed into a masked field.
        assert (await _act(session.pk, {"kind": "click", "selector": "#plain"}, agent_id)).ok
        assert await runner.page.text_content("#h") == "plain"
        values = await runner.page.evaluate(
            "['pw','otp','cc','secret','account'].map(id => document.getElementById(id).value)"
        )
        assert values == ["", "", "", "", ""]
        assert not any(r.path.startswith(("/submitted", "/buy")) for r in site.requests)
        assert runner.page.url.startswith(site.origin)
        reply = await _act(session.pk, {"kind": "click", "selector": "#help"}, agent_id)
        assert reply.ok and reply.result["title"] == "Help"  # a link on the allowed origin

    feed = await sync_to_async(_refusals)(session.ticket_id)
    assert len(feed) >= len(refused) + 4
    assert all(line["reason"] for line in feed)
    assert not any("hunter2" in str(line) or "123456" in str(line) for line in feed)


async def test_a_script_submit_the_probe_cannot_see_is_still_blocked(site):
    async with _running(site) as (_session, runner):
        await runner.page.evaluate(
            "document.getElementById('lazy').removeAttribute('onclick');"
            "document.getElementById('lazy').addEventListener('click', () => {"
            "  document.getElementById('f').requestSubmit(); document.getElementById('f').submit(); })"
        )
        reply = await _act(_session.pk, {"kind": "click", "selector": "#lazy"})
        assert reply.ok
        await asyncio.sleep(0.5)
        assert not any(r.path.startswith("/submitted") for r in site.requests)


async def test_viewer_input_is_checked_and_refusals_go_to_the_sender(site, settings):
    layer = get_channel_layer()
    async with _running(site) as (session, runner):
        sender = await layer.new_channel("test-sender.")

        async def send_input(**data):
            await layer.group_send(
                browser_control_group(session.pk),
                {"type": "browser.input", **data, "sender": sender, "actor_id": session.agent_id},
            )

        async def next_refusal() -> dict:
            async with asyncio.timeout(10):
                while True:
                    message = await layer.receive(sender)
                    if message["type"] == "browser.refused":
                        return message

        x, y = await _center(runner, "#send")
        await send_input(kind="click", x=x, y=y, button="left")
        refusal = await next_refusal()
        assert refusal["code"] == "never_allowed" and "submitting a form" in refusal["message"]

        await runner.page.focus("#pw")
        await send_input(kind="text", text="hunter2")
        refusal = await next_refusal()
        assert "password fields" in refusal["message"]

        await runner.page.focus("#name")
        await send_input(kind="key", key="Enter")
        assert "submitting a form" in (await next_refusal())["message"]

        await send_input(kind="goto", url="http://127.0.0.1:1/")
        assert "another origin" in (await next_refusal())["message"]

        await send_input(kind="text", text="ok")
        await asyncio.sleep(0.5)
        assert await runner.page.input_value("#name") == "ok"
        assert await runner.page.input_value("#pw") == ""
        assert not any(r.path.startswith("/submitted") for r in site.requests)

        # Rate limit: at most BROWSER_ACTIONS_PER_SECOND actions a second; the rest are refused.
        await asyncio.sleep(1.1)
        await runner.page.fill("#name", "")
        for _ in range(15):
            await send_input(kind="text", text="a")
        refusal = await next_refusal()
        assert refusal["code"] == "rate_limited"
        await asyncio.sleep(0.5)
        typed = await runner.page.input_value("#name")
        assert len(typed) == settings.BROWSER_ACTIONS_PER_SECOND

    feed = await sync_to_async(_refusals)(session.ticket_id)
    assert len(feed) == 4 and {line["action"] for line in feed} == {"click", "text", "key", "goto"}


class _Socket:
    """A viewer socket's side of the runner: input in with the socket's role, refusals back."""

    def __init__(self, layer, session, role: str):
        self.layer, self.session, self.role = layer, session, role

    async def open(self) -> _Socket:
        self.channel = await self.layer.new_channel(f"test-{self.role}.")
        return self

    async def send(self, **data) -> None:
        actor_id = self.session.agent_id if self.role == ParticipantRole.AGENT else None
        await self.layer.group_send(
            browser_control_group(self.session.pk),
            {
                "type": "browser.input",
                **data,
                "sender": self.channel,
                "actor_id": actor_id,
                "role": self.role,
            },
        )

    async def refusal(self, timeout: float = 10) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                message = await self.layer.receive(self.channel)
                if message["type"] == "browser.refused":
                    return message

    async def no_refusal(self, wait: float = 0.5) -> None:
        with contextlib.suppress(TimeoutError):
            message = await self.refusal(timeout=wait)
            raise AssertionError(f"refused: {message}")


def _give_to_customer(session) -> None:
    services.set_holder(session.pk, ParticipantRole.CUSTOMER, actor=session.agent, by="agent")


def _submitted(site) -> list:
    return [r for r in site.requests if r.path.startswith("/submitted")]


async def _until(predicate, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


_HIDDEN_SUBMIT = (
    "document.getElementById('lazy').removeAttribute('onclick');"
    "document.getElementById('lazy').addEventListener('click', () => document.getElementById('f').submit())"
)


async def test_the_customer_holding_the_browser_submits_and_types_a_password(site, settings):
    settings.BROWSER_ACTIONS_PER_SECOND = 100
    layer = get_channel_layer()
    async with _running(site, mode="full") as (session, runner):
        await sync_to_async(_give_to_customer)(session)
        customer = await _Socket(layer, session, ParticipantRole.CUSTOMER).open()
        agent = await _Socket(layer, session, ParticipantRole.AGENT).open()

        # The password field: the agent's text is refused (full mode, the customer holds it) ...
        x, y = await _center(runner, "#pw")
        await customer.send(kind="click", x=x, y=y, button="left")
        await customer.no_refusal()
        await agent.send(kind="text", text="agent-typed")
        assert "password fields" in (await agent.refusal())["message"]
        assert await runner.page.input_value("#pw") == ""
        # ... the customer's own is theirs.
        await customer.send(kind="text", text="hunter2")
        await customer.no_refusal()
        assert await runner.page.input_value("#pw") == "hunter2"

        # The gate is open only around the customer's input: after the customer's click, a script
        # submit behind the agent's click is still stopped, and so are the agent's clicks and API
        # actions on the submit button.
        await runner.page.evaluate(_HIDDEN_SUBMIT)
        x, y = await _center(runner, "#plain")
        await customer.send(kind="click", x=x, y=y, button="left")
        await customer.no_refusal()
        assert await runner.page.text_content("#h") == "plain"
        x, y = await _center(runner, "#lazy")
        await agent.send(kind="click", x=x, y=y, button="left")
        await agent.no_refusal()
        x, y = await _center(runner, "#send")
        await agent.send(kind="click", x=x, y=y, button="left")
        assert "submitting a form" in (await agent.refusal())["message"]
        reply = await _act(session.pk, {"kind": "click", "selector": "#send"}, session.agent_id)
        assert not reply.ok and "submitting a form" in reply.error["message"]
        await asyncio.sleep(0.5)
        assert _submitted(site) == []

        # The customer's click on the same button submits the form, with what they typed.
        await customer.send(kind="click", x=x, y=y, button="left")

        async def posted() -> bool:
            return bool(_submitted(site))

        await _until(posted)
        await customer.no_refusal(0.2)
        request = _submitted(site)[0]
        assert request.method == "POST" and b"pw=hunter2" in request.body

    feed = await sync_to_async(_refusals)(session.ticket_id)
    assert {line["action"] for line in feed} == {"text", "click"} and len(feed) == 3


async def test_the_customer_may_not_leave_the_allowed_origins_or_open_a_file_chooser(site):
    layer = get_channel_layer()
    async with _running(site) as (session, runner):
        await sync_to_async(_give_to_customer)(session)
        customer = await _Socket(layer, session, ParticipantRole.CUSTOMER).open()
        x, y = await _center(runner, "#away")
        await customer.send(kind="click", x=x, y=y, button="left")
        assert "another origin" in (await customer.refusal())["message"]
        await customer.send(kind="goto", url="http://127.0.0.1:1/")
        assert "another origin" in (await customer.refusal())["message"]
        x, y = await _center(runner, "#file")
        await customer.send(kind="click", x=x, y=y, button="left")
        assert "file fields" in (await customer.refusal())["message"]
        assert runner.page.url.startswith(site.origin)


async def test_the_agent_holding_the_browser_in_full_mode_cannot_submit(site):
    layer = get_channel_layer()
    async with _running(site, mode="full") as (session, runner):
        agent = await _Socket(layer, session, ParticipantRole.AGENT).open()
        x, y = await _center(runner, "#send")
        await agent.send(kind="click", x=x, y=y, button="left")
        refusal = await agent.refusal()
        assert refusal["code"] == "never_allowed" and "submitting a form" in refusal["message"]

        # A handler the probe cannot see calls form.submit(): the click runs, the submit does not.
        await runner.page.evaluate(_HIDDEN_SUBMIT)
        x, y = await _center(runner, "#lazy")
        await agent.send(kind="click", x=x, y=y, button="left")
        await agent.no_refusal()
        reply = await _act(session.pk, {"kind": "click", "selector": "#lazy"}, session.agent_id)
        assert reply.ok

        # Input claiming to be the customer's while the agent holds the browser gets the whole list.
        posing = await _Socket(layer, session, ParticipantRole.CUSTOMER).open()
        x, y = await _center(runner, "#send")
        await posing.send(kind="click", x=x, y=y, button="left")
        assert "submitting a form" in (await posing.refusal())["message"]
        await runner.page.focus("#pw")
        await posing.send(kind="text", text="hunter2")
        assert "password fields" in (await posing.refusal())["message"]

        # Page scripts cannot open the gate without the runner's token, nor replace it.
        opened = await runner.page.evaluate(
            "() => { const g = window.__tandemSubmitGate; const was = g.open('guess');"
            "  try { window.__tandemSubmitGate = { open: () => true }; } catch (e) {}"
            "  document.getElementById('f').submit();"
            "  return [was, window.__tandemSubmitGate === g, Object.isFrozen(g)]; }"
        )
        assert opened == [False, True, True]
        await asyncio.sleep(0.5)
        assert _submitted(site) == []
        assert await runner.page.input_value("#pw") == ""


async def test_back_and_forward_may_not_lead_to_another_origin(site, settings):
    other = await SiteServer("127.0.0.1", _site).start()  # reachable, but not the session's origin
    settings.BROWSER_EGRESS_ALLOW_HOSTS = [*settings.BROWSER_EGRESS_ALLOW_HOSTS, f"127.0.0.1:{other.port}"]
    try:
        async with _running(site) as (session, runner):
            agent_id = session.agent_id
            # The navigation guard keeps the page itself from going elsewhere ...
            with pytest.raises(Exception, match="ERR_ABORTED"):
                await runner.page.goto(other.origin + "/help", wait_until="domcontentloaded")
            assert runner.page.url.startswith(site.origin) and not other.requests
            # ... so to test Back and Forward on their own, let one such navigation through.
            rules = runner.host.navigation.rules
            saved = dict(rules)
            rules.update(dict.fromkeys(rules))
            runner._allowed = lambda url: True
            await runner.page.goto(other.origin + "/help", wait_until="domcontentloaded")
            rules.update(saved)
            del runner._allowed
            await runner.page.goto(site.origin + "/", wait_until="domcontentloaded")
            reply = await _act(session.pk, {"kind": "back"}, agent_id)
            assert not reply.ok and reply.error["code"] == "never_allowed"
            assert "another origin" in reply.error["message"]
            assert runner.page.url.startswith(site.origin)
            # Within the allowed origin, history works as usual.
            assert (await _act(session.pk, {"kind": "click", "selector": "#help"}, agent_id)).ok
            reply = await _act(session.pk, {"kind": "back"}, agent_id)
            assert reply.ok and runner.page.url.startswith(site.origin)
            reply = await _act(session.pk, {"kind": "forward"}, agent_id)
            assert reply.ok and "/help" in runner.page.url
    finally:
        await other.close()
