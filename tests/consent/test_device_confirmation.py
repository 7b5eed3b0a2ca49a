"""The page that will be shared asks its owner: link grants, the describe and confirm calls, and
everything a link grant may never do (socket, refresh, lower, revoke)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from cobrowse.models import CoBrowseSession, SessionState
from config.asgi import application
from consent import grants, invitations, prompts, services, tokens
from consent.models import ConsentKind, ConsentRecord, Decision, SessionGrant
from tests.consent.helpers import confirm_on_device, consent
from tests.factories import make_account, make_ticket, make_user
from tickets.models import TicketEvent

ORIGIN = "http://localhost:8001"
DESCRIBE = "/api/cobrowse/grants/describe/"
CONFIRM = "/api/cobrowse/grants/confirm/"


@pytest.fixture
def agent(db):
    return make_user("priya.k", role="agent", agent_level="L2", first_name="Priya", last_name="Kaur")


@pytest.fixture
def ticket(db):
    return make_ticket(make_user("dana", account=make_account()))


@pytest.fixture
def linked(ticket, agent):
    """A session the consent screen allowed: (session, link grant)."""
    return consent(ticket, agent, mode="guided", recording=True, device=False)


def _post(path: str, grant: str | None = None, origin: str | None = ORIGIN, **data):
    headers = {}
    if grant is not None:
        headers["HTTP_X_TANDEM_GRANT"] = grant
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    return Client().post(path, data, content_type="application/json", **headers)


# --- what a link grant may not do ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_link_grant_opens_no_customer_api(linked):
    session, link = linked
    with pytest.raises(grants.UnconfirmedGrant):
        grants.verify_grant(link)
    for path, body in (
        ("/api/cobrowse/grants/refresh/", {}),
        (f"/api/cobrowse/sessions/{session.pk}/lower/", {"mode": "view_only"}),
        (f"/api/cobrowse/sessions/{session.pk}/revoke/", {}),
        (f"/api/cobrowse/sessions/{session.pk}/", None),
    ):
        get = body is None
        response = Client().get(path, HTTP_X_TANDEM_GRANT=link) if get else _post(path, link, **body)
        assert response.status_code == 401, path
        assert "Confirm on the page" in response.json()["detail"]
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED and session.mode == "guided"
    assert not ConsentRecord.objects.filter(session=session).exclude(kind=ConsentKind.INITIAL).exists()


@pytest.mark.django_db(transaction=True)
async def test_a_link_grant_is_refused_by_the_customer_socket():
    session, link = await database_sync_to_async(
        lambda: consent(
            make_ticket(make_user("sock", account=make_account())),
            make_user("sam", role="agent", agent_level="L2", first_name="Sam"),
            device=False,
        )
    )()
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/customer/", headers=[(b"origin", ORIGIN.encode())]
    )
    assert (await comm.connect())[0]
    hello = {"grant": link, "page_id": "p1", "last_acked_seq": -1, "url": f"{ORIGIN}/", "title": "t"}
    await comm.send_json_to({"type": "hello", "seq": 0, "ts": 1, "data": hello})
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["data"]["code"] == "refused"
    assert "Confirm on the page" in error["data"]["message"]
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    state = await database_sync_to_async(lambda: CoBrowseSession.objects.get(pk=session.pk).state)()
    assert state == SessionState.CONSENTED


# --- describe ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_describe_says_who_what_and_whether_recorded_in_the_consent_screens_words(linked, ticket):
    session, link = linked
    response = _post(DESCRIBE, link)
    assert response.status_code == 200
    body = response.json()
    assert body["agent"] == "Priya Kaur"  # accounts.names.public_name, as on the consent screen
    assert (body["mode"], body["mode_label"], body["recording"], body["third_party"]) == (
        "guided",
        "Guidance",
        True,
        False,
    )
    assert body["prompt"].startswith("Agent Priya Kaur wants to see this page")
    assert f"ticket {ticket.reference}" in body["prompt"]
    assert body["prompt"] == prompts.consent_prompt(session)
    assert "priya.k" not in str(body)
    assert any(line.startswith("Allow guidance:") for line in body["details"])
    assert any("recorded" in line and "not recorded" not in line for line in body["details"])
    assert (body["allow"], body["deny"]) == ("Allow", "Deny")
    assert ConsentRecord.objects.filter(session=session).count() == 1  # describing decides nothing


@pytest.mark.django_db
def test_describe_without_a_name_says_support_agent(ticket):
    nameless = make_user("zz_login", role="agent", agent_level="L2", first_name="", last_name="")
    _session, link = consent(ticket, nameless, recording=False, device=False)
    body = _post(DESCRIBE, link).json()
    assert body["agent"] == "Support agent"
    assert "zz_login" not in str(body) and body["recording"] is False
    assert "This session is not recorded." in body["details"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("grant", "origin", "code"),
    [
        (None, ORIGIN, 401),
        ("not-a-grant", ORIGIN, 401),
        ("LINK", "https://evil.example", 403),
        ("LINK", None, 403),
        ("LINK", "null", 403),
    ],
)
def test_describe_refusals_are_clear(linked, grant, origin, code):
    _session, link = linked
    response = _post(DESCRIBE, link if grant == "LINK" else grant, origin=origin)
    assert response.status_code == code
    assert response.json()["detail"]


# --- confirm -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_allow_on_the_page_records_its_origin_and_issues_a_tab_grant(linked, ticket, settings):
    settings.CONSENT_CLIENT_INFO = "truncated"
    session, link = linked
    response = Client().post(
        CONFIRM,
        {"allow": True},
        content_type="application/json",
        HTTP_X_TANDEM_GRANT=link,
        HTTP_ORIGIN=ORIGIN,
        HTTP_USER_AGENT="Mozilla/5.0 Chrome/156.0 Safari/537",
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 200
    body = response.json()
    tab = body["grant"]
    assert tab and tab != link and body["session"] == session.pk and body["expires_at"]
    assert grants.verify_grant(tab) == session
    with pytest.raises(grants.UnconfirmedGrant):
        grants.verify_grant(link)  # the link grant stays a link grant
    row = SessionGrant.objects.get(token_hash=tokens.hash_token(tab))
    assert row.confirmed_at is not None and row.origin == ORIGIN

    record = ConsentRecord.objects.get(session=session, kind=ConsentKind.DEVICE_CONFIRMATION)
    assert (record.decision, record.mode, record.recording, record.origin) == (
        Decision.GRANTED,
        "guided",
        True,
        ORIGIN,
    )
    assert record.guidance and not record.control
    assert record.prompt_text.startswith(prompts.DEVICE_TITLE) and "Agent Priya" in record.prompt_text
    assert record.client_ip == "203.0.113.0" and record.user_agent == "Chrome"
    assert record.invite is not None
    steps = [e.data.get("step") for e in TicketEvent.objects.filter(ticket=ticket)]
    assert "device_confirmed" in steps

    refresh = _post("/api/cobrowse/grants/refresh/", tab)
    assert refresh.status_code == 200 and refresh.json()["session"] == session.pk


@pytest.mark.django_db
def test_deny_on_the_page_records_it_and_ends_the_session(linked):
    session, link = linked
    response = _post(CONFIRM, link, allow=False)
    assert response.status_code == 200
    assert response.json() == {"session": session.pk, "state": SessionState.REVOKED}
    session.refresh_from_db()
    assert (session.state, session.end_reason) == (SessionState.REVOKED, "customer_denied")
    record = ConsentRecord.objects.get(session=session, kind=ConsentKind.DEVICE_CONFIRMATION)
    assert (record.decision, record.mode, record.origin) == (Decision.DENIED, "", ORIGIN)
    assert not record.view and not record.recording
    assert not SessionGrant.objects.filter(session=session, revoked_at__isnull=True).exists()
    # Nothing can follow: the grant neither describes nor confirms any more.
    assert _post(DESCRIBE, link).status_code == 401
    assert _post(CONFIRM, link, allow=True).status_code == 401


@pytest.mark.django_db
def test_a_pasted_tab_grant_still_only_asks(linked):
    """A tab grant in someone else's address bar: the card asks, and Allow issues that page its own."""
    session, link = linked
    tab = confirm_on_device(session, link).grant
    assert _post(DESCRIBE, tab).status_code == 200
    second = _post(CONFIRM, tab, allow=True).json()["grant"]
    assert second not in (tab, link) and grants.verify_grant(second) == session
    assert ConsentRecord.objects.filter(session=session, kind=ConsentKind.DEVICE_CONFIRMATION).count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "origin", "code"),
    [
        ({}, ORIGIN, 400),
        ({"allow": "perhaps"}, ORIGIN, 400),
        ({"allow": True}, "https://evil.example", 403),
        ({"allow": False}, None, 403),
    ],
)
def test_confirm_refusals_are_clear_and_decide_nothing(linked, body, origin, code):
    session, link = linked
    response = _post(CONFIRM, link, origin=origin, **body)
    assert response.status_code == code
    session.refresh_from_db()
    assert session.state == SessionState.CONSENTED
    assert not ConsentRecord.objects.filter(session=session, kind=ConsentKind.DEVICE_CONFIRMATION).exists()


@pytest.mark.django_db
def test_an_expired_link_grant_can_no_longer_ask(linked):
    from datetime import timedelta

    from django.utils import timezone

    session, link = linked
    SessionGrant.objects.filter(session=session).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _post(DESCRIBE, link).status_code == 401
    assert _post(CONFIRM, link, allow=True).status_code == 401


@pytest.mark.django_db
def test_the_target_pages_origin_may_ask_after_the_account_drops_it(agent):
    """The socket's rule: the account's allowed origins or the session's target origin."""
    account = make_account(
        "Moving Co", site_url=f"{ORIGIN}/apply", allowed_origins=[ORIGIN, "https://b.example"]
    )
    session, link = consent(make_ticket(make_user("mover", account=account)), agent, device=False)
    account.allowed_origins = ["https://b.example"]
    account.save(update_fields=["allowed_origins"])
    assert _post(DESCRIBE, link, origin="https://b.example").status_code == 200
    assert _post(DESCRIBE, link, origin=ORIGIN).status_code == 200
    assert _post(DESCRIBE, link, origin="https://c.example").status_code == 403


@pytest.mark.django_db
def test_a_session_no_page_may_be_shared_from_asks_nowhere(agent):
    account = make_account("Only Tandem", site_url="", allowed_origins=[])
    session, link = consent(make_ticket(make_user("tgt", account=account)), agent, device=False)
    assert session.target_url == ""
    assert _post(DESCRIBE, link).status_code == 403
    assert _post(CONFIRM, link, allow=True).status_code == 403


@pytest.mark.django_db
def test_describe_and_confirm_answer_cors_preflights_like_refresh(linked):
    cache.delete("cors:widget-origins")
    for path in (DESCRIBE, CONFIRM):
        response = Client().options(
            path,
            HTTP_ORIGIN=ORIGIN,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-tandem-grant",
        )
        assert response.status_code == 204
        assert response["Access-Control-Allow-Origin"] == ORIGIN
        assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.django_db
def test_the_server_side_browser_viewer_gets_a_link_grant_too(ticket, agent):
    """Its viewer address can be pasted like any other: the viewer's own card asks first."""

    started = invitations.start_session(
        ticket, agent=agent, channel="copy", target_url="http://localhost:8001/", kind="browser"
    )
    invite = services.claim_invite(started.join_path.split("/")[2])
    outcome = services.grant_consent(invite, mode="view_only")
    assert outcome.redirect_url == f"/browser/{outcome.session.pk}/#tandem={outcome.grant}"
    with pytest.raises(grants.UnconfirmedGrant):
        grants.verify_grant(outcome.grant)
