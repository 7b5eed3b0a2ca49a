"""A server-side browser session's consent words say what it is: a shared browser on support's
side, never "this page" (the customer shares no page of theirs)."""

from __future__ import annotations

import pytest
from django.test import Client

from browser import services as browser_services
from consent import grants, prompts, services
from tests.consent.helpers import consent, page_origin, start
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db

SITE = "http://localhost:8001"


def _browser_session():
    customer = make_user("bp-cust", role="customer", account=make_account("Acme Home Loans"))
    agent = make_user("bp-agent", role="agent", agent_level="L2", first_name="Lena", last_name="Fischer")
    started = browser_services.start_browser_session(
        make_ticket(customer), agent=agent, start_url=f"{SITE}/apply", channel="copy"
    )
    return started


def test_the_browser_prompt_names_a_shared_browser_on_our_side():
    started = _browser_session()
    prompt = prompts.consent_prompt(started.session)
    assert prompt.startswith("Agent Lena Fischer wants to open a shared browser with you")
    assert "runs on our side, not on your device" in prompt
    assert "this page" not in prompt
    assert f"open {SITE} in a secure browser run by support" in prompt  # the third-party sentence


def test_the_consent_screen_and_the_viewer_card_say_shared_browser():
    started = _browser_session()
    token = started.join_url.rstrip("/").split("/")[-1]
    html = Client().get(f"/j/{token}/").content.decode()
    assert "Open a shared browser with support?" in html
    assert "the agent sees the shared browser" in html and "the agent sees this page" not in html

    invite = services.claim_invite(token)
    link = services.grant_consent(invite, mode="controlled", recording=False).grant
    asked = grants.describe_grant(link, origin=page_origin(started.session))
    assert asked.title == "Open a shared browser with support?"
    assert asked.details[0].startswith("Allow control: the agent may click and type in the shared browser")
    assert asked.prompt == prompts.consent_prompt(started.session)


def test_a_page_session_still_says_this_page(customer, agent):
    session, _ = start(make_ticket(customer), agent)
    assert "wants to see this page" in prompts.consent_prompt(session)
    shared, link = consent(make_ticket(customer), agent, mode="guided", device=False)
    asked = grants.describe_grant(link, origin=page_origin(shared))
    assert asked.title == "Share this page with support?"
    assert asked.details[0] == "Allow guidance: the agent may also highlight things and point at them."
