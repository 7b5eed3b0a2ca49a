"""The agent's live console page: who may open it, and what it wires up."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cobrowse import services as session_services
from tests.consent.helpers import consent
from tests.factories import PASSWORD, make_ticket, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_session(customer, agent):
    ticket = make_ticket(customer)
    session, _grant = consent(ticket, agent, mode="guided")
    return session


def _url(session) -> str:
    return reverse("console:live", args=[session.pk])


def _get(client, user, session):
    client.login(username=user.username, password=PASSWORD)
    return client.get(_url(session))


def test_the_sessions_agent_sees_the_console(client, agent, live_session):
    response = _get(client, agent, live_session)
    assert response.status_code == 200
    body = response.content.decode()
    assert "/static/dist/tandem-console.js" in body
    assert "/static/dist/tandem-console.css" in body
    assert f'"socket_path": "/ws/cobrowse/{live_session.pk}/agent/"' in body
    assert f'"end_url": "/api/cobrowse/sessions/{live_session.pk}/end/"' in body
    assert 'data-testid="console-end"' in body
    assert 'data-mode="controlled"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert live_session.ticket.reference in body


def test_a_manager_sees_the_console(client, manager, live_session):
    assert _get(client, manager, live_session).status_code == 200


def test_another_agent_gets_404(client, agent_l3, live_session):
    assert _get(client, agent_l3, live_session).status_code == 404


def test_the_customer_gets_404(client, customer, live_session):
    assert live_session.customer_id == customer.pk
    assert _get(client, customer, live_session).status_code == 404


def test_an_unknown_session_is_404(client, agent, live_session):
    client.login(username=agent.username, password=PASSWORD)
    assert client.get(reverse("console:live", args=[live_session.pk + 1000])).status_code == 404


def test_anonymous_is_sent_to_log_in(client, live_session):
    response = client.get(_url(live_session))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_only_get(client, agent, live_session):
    client.login(username=agent.username, password=PASSWORD)
    assert client.post(_url(live_session)).status_code == 405


def test_an_ended_session_shows_ended_and_does_not_connect(client, agent, live_session):
    session_services.end_session(live_session, actor=agent)
    response = _get(client, agent, live_session)
    assert response.status_code == 200
    assert '"live": false' in response.content.decode()


def test_a_manager_is_shown_as_viewing_and_may_end(client, manager, live_session):
    body = _get(client, manager, live_session).content.decode()
    assert 'data-testid="console-end"' in body
    assert "you are viewing" in body


def test_an_invited_colleague_opens_the_console_as_a_viewer(client):
    from cobrowse import services as session_services
    from tests.consent.helpers import consent
    from tests.factories import make_account, make_ticket, make_user

    account = make_account("Acme Home Loans")
    customer = make_user("cust-v", role="customer", account=account)
    agent = make_user("agent-v", role="agent", agent_level="L2")
    colleague = make_user("colleague-v", role="agent", agent_level="L1")
    session, _ = consent(make_ticket(customer), agent)
    client.force_login(colleague)
    assert client.get(f"/agent/sessions/{session.pk}/").status_code == 404
    session_services.invite_viewer(session, actor=agent, user=colleague)
    assert client.get(f"/agent/sessions/{session.pk}/").status_code == 200


def test_a_recorded_session_is_announced_to_viewers_before_the_live_view(client, customer, agent, manager):
    from tests.consent.helpers import consent

    session, _ = consent(make_ticket(customer), agent, mode="guided", recording=True)
    colleague = make_user("colleague-r", role="agent", agent_level="L1")
    session_services.invite_viewer(session, actor=agent, user=colleague)
    for viewer in (manager, colleague):
        client.force_login(viewer)
        body = client.get(_url(session)).content.decode()
        assert 'data-testid="console-recorded"' in body and "This session is recorded." in body
        assert "You are joining as a viewer" in body
        assert body.index('data-testid="console-recorded"') < body.index('class="console-layout"')
    client.force_login(agent)
    assert "This session is recorded." in client.get(_url(session)).content.decode()


def test_an_unrecorded_session_has_no_recorded_notice(client, agent, live_session):
    assert 'data-testid="console-recorded"' not in _get(client, agent, live_session).content.decode()
