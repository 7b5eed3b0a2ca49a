"""Who the server-side browser's viewer admits: the customer by the tab grant from the viewer's
card, whether or not they are signed in to the portal; staff by their login."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from browser import services as browser_services
from config.asgi import application
from consent import services
from tests.consent.helpers import confirm_on_device
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "http://localhost:8001"
_serial = iter(range(10_000))


@database_sync_to_async
def _consented():
    """A browser session its customer allowed on the viewer's card: (session, customer, tab grant)."""
    n = next(_serial)
    customer = make_user(f"va-cust{n}", role="customer", account=make_account("Acme Home Loans"))
    agent = make_user(f"va-agent{n}", role="agent", agent_level="L2", first_name="Lena", last_name="Fischer")
    started = browser_services.start_browser_session(
        make_ticket(customer), agent=agent, start_url=f"{SITE}/apply", channel="copy"
    )
    invite = services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    outcome = services.grant_consent(invite, mode="controlled", recording=False)
    decision = confirm_on_device(outcome.session, outcome.grant)
    return decision.session, customer, decision.grant


@database_sync_to_async
def _cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _open(session_id: int, cookie: bytes | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost:8000")]
    if cookie:
        headers.append((b"cookie", cookie))
    comm = WebsocketCommunicator(application, f"/ws/browser/{session_id}/", headers=headers)
    assert (await comm.connect())[0]
    return comm


async def _hello_reply(comm: WebsocketCommunicator, grant: str) -> dict:
    await comm.send_to(text_data=json.dumps({"type": "hello", "seq": 0, "ts": 1, "data": {"grant": grant}}))
    raw = await comm.receive_output(timeout=15)
    assert raw["type"] == "websocket.send", raw
    return json.loads(raw["text"])


@pytest.mark.parametrize("signed_in", [True, False])
async def test_the_customer_is_admitted_by_the_tab_grant_signed_in_or_not(signed_in):
    session, customer, grant = await _consented()
    comm = await _open(session.pk, await _cookie_for(customer) if signed_in else None)
    welcome = await _hello_reply(comm, grant)
    assert welcome["type"] == "welcome", welcome
    assert welcome["data"]["role"] == "customer"
    await comm.disconnect()


async def test_a_signed_in_customer_still_needs_the_grant():
    session, customer, _grant = await _consented()
    comm = await _open(session.pk, await _cookie_for(customer))
    reply = await _hello_reply(comm, "not-a-grant")
    assert reply["type"] == "error" and reply["data"]["code"] == "refused"
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}


async def test_staff_are_still_admitted_by_their_login():
    session, _customer, _grant = await _consented()
    agent = await database_sync_to_async(lambda: session.agent)()
    comm = await _open(session.pk, await _cookie_for(agent))
    raw = await comm.receive_output(timeout=15)
    welcome = json.loads(raw["text"])
    assert welcome["type"] == "welcome" and welcome["data"]["role"] == "agent"
    await comm.disconnect()


async def test_a_signed_in_customer_gets_the_viewer_card():
    session, customer, _grant = await _consented()

    @database_sync_to_async
    def page() -> str:
        client = Client()
        client.force_login(customer)
        return client.get(f"/browser/{session.pk}/").content.decode()

    html = await page()
    assert 'data-role="customer"' in html and 'data-testid="bv-consent"' in html


async def test_each_viewer_has_its_own_way_to_end():
    """The customer's viewer stops sharing; the agent's and a manager's end the session; an invited
    colleague, who may only watch, gets neither."""
    session, customer, _grant = await _consented()

    @database_sync_to_async
    def pages() -> dict[str, str]:
        from cobrowse import services as session_services

        manager = make_user("va-manager", role="manager")
        colleague = make_user("va-colleague", role="agent", agent_level="L3")
        session_services.invite_viewer(session, actor=session.agent, user=colleague)
        html = {"anonymous": Client().get(f"/browser/{session.pk}/").content.decode()}
        for name, user in (("agent", session.agent), ("manager", manager), ("colleague", colleague)):
            client = Client()
            client.force_login(user)
            html[name] = client.get(f"/browser/{session.pk}/").content.decode()
        return html

    html = await pages()
    assert 'data-testid="bv-stop"' in html["anonymous"] and 'data-testid="bv-end"' not in html["anonymous"]
    assert "csrfmiddlewaretoken" not in html["anonymous"]
    end_url = f'data-end-url="/api/cobrowse/sessions/{session.pk}/end/"'
    for name in ("agent", "manager"):
        assert end_url in html[name] and "csrfmiddlewaretoken" in html[name], name
        assert 'data-testid="bv-stop"' not in html[name]
    assert (
        'data-testid="bv-end"' not in html["colleague"] and 'data-testid="bv-stop"' not in html["colleague"]
    )
