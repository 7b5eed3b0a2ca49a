"""The server-side browser's viewer asks its owner too: the consent screen's Allow gives a link grant,
which the viewer socket and the customer API refuse; the viewer's card describes and confirms it
from Tandem's own origin only (never the target site's or the account's), and its Allow is the tab
grant the socket accepts. Deny ends the session."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from browser import services as browser_services
from cobrowse.models import CoBrowseSession, EndReason, SessionState
from config.asgi import application
from consent import grants, prompts, services, tokens
from consent.models import ConsentKind, ConsentRecord, Decision, SessionGrant
from tests.factories import make_account, make_ticket, make_user

SITE = "http://localhost:8001"  # the target site, also on the account's allowed origins
OWN = "http://testserver"  # the origin the test client's requests are addressed to
BASE = "http://127.0.0.1:8000"  # TANDEM_BASE_URL's origin
DESCRIBE = "/api/cobrowse/grants/describe/"
CONFIRM = "/api/cobrowse/grants/confirm/"


def _linked(n: str = "") -> tuple[CoBrowseSession, str]:
    """A browser session the consent screen allowed (by whoever opened the link): its link grant."""
    account = make_account("Acme Home Loans")
    customer = make_user(f"vcc-cust{n}", role="customer", account=account)
    agent = make_user(f"vcc-agent{n}", role="agent", agent_level="L2", first_name="Priya", last_name="Kaur")
    started = browser_services.start_browser_session(
        make_ticket(customer), agent=agent, start_url=f"{SITE}/apply", channel="copy"
    )
    invite = services.claim_invite(started.join_url.rstrip("/").split("/")[-1])
    outcome = services.grant_consent(invite, mode="controlled", recording=False)
    return outcome.session, outcome.grant


@pytest.fixture
def linked(db):
    return _linked()


def _post(path: str, grant: str, origin: str | None, **data):
    headers = {"HTTP_X_TANDEM_GRANT": grant}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return Client().post(path, data, content_type="application/json", **headers)


# --- what the viewer's link grant may not do ----------------------------------------------------


@pytest.mark.django_db
def test_the_consent_screen_sends_the_viewer_a_link_grant(linked):
    session, link = linked
    row = SessionGrant.objects.get(token_hash=tokens.hash_token(link))
    assert row.confirmed_at is None and row.origin == ""
    with pytest.raises(grants.UnconfirmedGrant):
        grants.verify_grant(link)


@pytest.mark.django_db
def test_a_viewer_link_grant_opens_no_customer_api(linked):
    session, link = linked
    for path, body in (
        ("/api/cobrowse/grants/refresh/", {}),
        (f"/api/cobrowse/sessions/{session.pk}/lower/", {"mode": "view_only"}),
        (f"/api/cobrowse/sessions/{session.pk}/revoke/", {}),
        (f"/api/cobrowse/sessions/{session.pk}/", None),
    ):
        if body is None:
            response = Client().get(path, HTTP_X_TANDEM_GRANT=link, HTTP_ORIGIN=OWN)
        else:
            response = _post(path, link, OWN, **body)
        assert response.status_code == 401, path
        assert "Confirm on the page" in response.json()["detail"]
    session.refresh_from_db()
    assert (session.state, session.mode) == (SessionState.CONSENTED, "controlled")


async def _hello(session_id: int, grant: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, f"/ws/browser/{session_id}/", headers=[(b"origin", b"http://localhost:8000")]
    )
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"type": "hello", "seq": 0, "ts": 1, "data": {"grant": grant}}))
    return comm


@pytest.mark.django_db(transaction=True)
async def test_the_viewer_socket_refuses_a_link_grant_and_admits_the_cards_tab_grant():
    session, link = await database_sync_to_async(_linked)("-sock")

    comm = await _hello(session.pk, link)
    error = json.loads((await comm.receive_output(timeout=5))["text"])
    assert error["type"] == "error" and error["data"]["code"] == "unconfirmed"
    assert "viewer's card" in error["data"]["message"]
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}

    decision = await database_sync_to_async(grants.confirm_grant)(
        link, allow=True, origin=BASE, own_origin=""
    )
    comm = await _hello(session.pk, decision.grant)
    welcome = json.loads((await comm.receive_output(timeout=15))["text"])
    assert welcome["type"] == "welcome" and welcome["data"]["role"] == "customer"
    await comm.disconnect()


# --- the card: describe and confirm from Tandem's own origin only ---------------------------------


@pytest.mark.django_db
def test_describe_from_the_viewer_uses_the_consent_screens_words(linked):
    session, link = linked
    response = _post(DESCRIBE, link, OWN)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["agent"] == "Priya Kaur" and body["mode"] == "controlled" and body["third_party"] is True
    assert body["prompt"] == prompts.consent_prompt(session)
    assert f"open {SITE} in a secure browser run by support" in body["prompt"]
    assert "vcc-agent" not in json.dumps(body)  # never the login name
    assert (body["allow"], body["deny"]) == ("Allow", "Deny")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "origin",
    [
        SITE,  # the target site (and the account's allowed origin): the browser runs here, not there
        "https://evil.example",
        "http://testserver:8080",
        "null",
        "",
        None,
    ],
)
def test_describe_and_confirm_of_a_browser_session_from_elsewhere_are_refused(linked, origin):
    session, link = linked
    assert _post(DESCRIBE, link, origin).status_code == 403
    for allow in (True, False):
        response = _post(CONFIRM, link, origin, allow=allow)
        assert response.status_code == 403
        assert response.json()["code"] == "origin"
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED
    assert not ConsentRecord.objects.filter(session=session, kind=ConsentKind.DEVICE_CONFIRMATION).exists()
    assert SessionGrant.objects.filter(session=session).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("origin", [OWN, BASE])
def test_allow_on_the_viewers_card_gives_a_tab_grant_and_a_record(linked, origin):
    session, link = linked
    response = _post(CONFIRM, link, origin, allow=True)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["session"] == session.pk and body["grant"] and body["grant"] != link
    assert grants.verify_grant(body["grant"]).pk == session.pk
    tab = SessionGrant.objects.get(token_hash=tokens.hash_token(body["grant"]))
    assert tab.confirmed_at is not None and tab.origin == origin
    record = ConsentRecord.objects.get(session=session, kind=ConsentKind.DEVICE_CONFIRMATION)
    assert (record.decision, record.mode, record.origin) == (Decision.GRANTED, "controlled", origin)
    assert record.third_party_site and record.third_party_origin == SITE
    assert "secure browser run by support" in record.prompt_text
    # The tab grant works on the customer API the link grant could not open.
    refresh = Client().post("/api/cobrowse/grants/refresh/", HTTP_X_TANDEM_GRANT=body["grant"])
    assert refresh.status_code == 200


@pytest.mark.django_db
def test_deny_on_the_viewers_card_ends_the_session(linked):
    session, link = linked
    response = _post(CONFIRM, link, OWN, allow=False)
    assert response.status_code == 200
    assert "grant" not in response.json()
    session.refresh_from_db()
    assert (session.state, session.end_reason) == (SessionState.REVOKED, EndReason.CUSTOMER_DENIED)
    record = ConsentRecord.objects.get(session=session, kind=ConsentKind.DEVICE_CONFIRMATION)
    assert (record.decision, record.origin) == (Decision.DENIED, OWN)
    assert not SessionGrant.objects.filter(session=session, revoked_at__isnull=True).exists()


@pytest.mark.django_db
def test_tandems_origin_does_not_answer_for_a_dom_session(db):
    """The exception is for browser sessions only: a widget session still asks on the customer's site."""
    from tests.consent.helpers import consent

    session, link = consent(
        make_ticket(make_user("vcc-dom", role="customer", account=make_account())),
        make_user("vcc-dom-agent", role="agent", agent_level="L2"),
        device=False,
    )
    for origin in (OWN, BASE):
        assert _post(DESCRIBE, link, origin).status_code == 403
        assert _post(CONFIRM, link, origin, allow=True).status_code == 403
    assert _post(DESCRIBE, link, SITE).status_code == 200


# --- the viewer page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_customers_viewer_page_starts_with_the_card_and_says_nothing_of_the_session(linked):
    session, _link = linked
    html = Client().get(f"/browser/{session.pk}/").content.decode()
    assert 'data-testid="bv-consent"' in html and 'role="dialog"' in html and 'aria-modal="true"' in html
    assert 'data-role="customer"' in html and 'aria-label="Shared browser" hidden' in html
    assert session.ticket.reference not in html and "Priya" not in html


@pytest.mark.django_db
def test_staff_see_the_viewer_without_a_card(linked):
    session, _link = linked
    client = Client()
    client.force_login(session.agent)
    html = client.get(f"/browser/{session.pk}/").content.decode()
    assert 'data-testid="bv-consent"' not in html and 'data-role="agent"' in html
    assert 'aria-label="Shared browser" hidden' not in html


# --- a browser session's tab grant never opens the customer page's socket ---------------------


@pytest.mark.django_db(transaction=True)
async def test_a_browser_sessions_tab_grant_is_refused_on_the_page_socket():
    """Its page is Tandem's viewer: even confirmed, and from the target site's origin, its grant
    cannot open the socket a customer's own page shares on."""

    @database_sync_to_async
    def confirmed():
        session, link = _linked("-dom")
        decision = grants.confirm_grant(link, allow=True, origin=BASE)
        return session, decision.grant

    session, tab = await confirmed()
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/customer/", headers=[(b"origin", SITE.encode())]
    )
    connected, _ = await comm.connect()
    assert connected
    hello = {"grant": tab, "page_id": "p1", "last_acked_seq": -1, "url": f"{SITE}/apply", "title": "Apply"}
    await comm.send_json_to({"type": "hello", "seq": 0, "ts": 1_700_000_000_000, "data": hello})
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and "not shared from a page" in error["data"]["message"]
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await comm.disconnect()
