"""Customers and their team never see a staff login name: one rule, ``accounts.names``."""

from __future__ import annotations

import json

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

from accounts import names
from cobrowse import services as cobrowse_services
from live import services as live
from tests.consent.helpers import consent, invite_team
from tests.factories import make_ticket, make_user
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db

LOGIN = "p.kumar-7731"  # a staff login name that must never reach a customer


@pytest.fixture
def nameless_agent(db):
    return make_user(LOGIN, role="agent", agent_level="L2", first_name="", last_name="")


@pytest.fixture
def named_manager(db):
    return make_user("m.okafor-0042", role="manager", first_name="Ada", last_name="Okafor")


def test_the_rule(customer, nameless_agent, named_manager, agent):
    assert names.public_name(nameless_agent) == "Support agent"
    assert names.public_name(named_manager) == "Ada Okafor"
    assert names.public_name(make_user("m2", role="manager", first_name="")) == "Support manager"
    assert names.public_name(make_user("c2", role="customer", first_name="")) == "Customer"
    assert nameless_agent.public_name == names.public_name(nameless_agent)
    # Staff see display names (a login when there is no name); customers see public names;
    # everyone sees their own display name.
    assert names.name_for(nameless_agent, agent) == LOGIN
    assert names.name_for(nameless_agent, customer) == "Support agent"
    assert names.name_for(nameless_agent, None) == "Support agent"
    assert names.name_for(customer, customer) == customer.display_name


def _work(ticket, agent):
    ticket_services.assign(ticket, actor=agent, assignee=agent)
    ticket_services.change_status(ticket, actor=agent, status="pending")
    ticket_services.add_comment(ticket, author=agent, body="Please try again now.")


def test_api_responses_to_customers_carry_no_username(customer, nameless_agent, agent):
    ticket = make_ticket(customer)
    _work(ticket, nameless_agent)
    client = APIClient()
    client.force_authenticate(customer)
    bodies = [
        client.get("/api/tickets/").json(),
        client.get(f"/api/tickets/{ticket.number}/").json(),
        client.get(f"/api/tickets/{ticket.number}/comments/").json(),
        client.get(f"/api/tickets/{ticket.number}/events/").json(),
        client.post(f"/api/tickets/{ticket.number}/comments/", {"body": "thanks"}, format="json").json(),
    ]
    blob = json.dumps(bodies)
    assert LOGIN not in blob and '"username"' not in blob and customer.username not in blob
    detail = bodies[1]
    assert detail["assignee"] == {"id": nameless_agent.pk, "display_name": "Support agent"}
    assert detail["requester"] == {"id": customer.pk, "display_name": customer.display_name}

    staff = APIClient()
    staff.force_authenticate(agent)
    assignee = staff.get(f"/api/tickets/{ticket.number}/").json()["assignee"]
    assert assignee == {"id": nameless_agent.pk, "username": LOGIN, "display_name": LOGIN}


def test_portal_ticket_page_names_staff_publicly(client, customer, nameless_agent):
    ticket = make_ticket(customer)
    _work(ticket, nameless_agent)
    client.force_login(customer)
    html = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Please try again now." in html and "Support agent" in html
    assert LOGIN not in html


def test_agent_ticket_page_still_shows_logins_to_staff(client, customer, nameless_agent, agent):
    ticket = make_ticket(customer)
    _work(ticket, nameless_agent)
    client.force_login(agent)
    assert LOGIN in client.get(f"/agent/tickets/{ticket.number}/").content.decode()


def test_sharing_pages_and_team_consent_name_the_agent_publicly(customer, nameless_agent):
    ticket = make_ticket(customer)
    session, _grant = consent(ticket, nameless_agent, mode="view_only")
    cobrowse_services.request_mode(session, actor=nameless_agent, mode="guided")
    portal = Client()
    portal.force_login(customer)
    panel = portal.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "You are sharing your screen with Support agent" in panel and "asks for" in panel
    sharing = portal.get(f"/cobrowse/sessions/{session.pk}/").content.decode()
    assert "Support agent can see this page" in sharing
    _viewer, raw = invite_team(session, customer=customer)
    watch = Client().get(f"/w/{raw}/").content.decode()
    assert "Support agent" in watch
    for page in (panel, sharing, watch):
        assert LOGIN not in page


def test_handing_over_control_names_the_holder_publicly(customer, agent):
    colleague = make_user("j.doe-9913", role="agent", agent_level="L2", first_name="", last_name="")
    session, _grant = consent(make_ticket(customer), agent, mode="guided")
    cobrowse_services.invite_viewer(session, actor=agent, user=colleague)
    cobrowse_services.join(session, user=colleague)
    assert live.hand_over(session.pk, agent, colleague.pk).holder_name == "Support agent"


def test_the_schema_says_username_is_not_always_sent(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = (
        response.json() if response["Content-Type"].endswith("json") else yaml.safe_load(response.content)
    )
    summary = schema["components"]["schemas"]["UserSummary"]
    assert "username" in summary["properties"] and "username" not in summary["required"]
