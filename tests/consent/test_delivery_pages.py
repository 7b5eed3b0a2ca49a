"""The agent's link page has a copy button; "Send a new link" defaults to the channel in use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.consent.helpers import resend, start
from tests.factories import make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return make_ticket(customer)


def _as(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_copy_channel_page_has_a_copy_button_wired_by_a_static_script(ticket, agent):
    response = _as(agent).post(f"/agent/tickets/{ticket.number}/cobrowse/start/", {"channel": "copy"})
    page = response.content.decode()
    button = re.search(r'<button[^>]*data-copy-target="([^"]+)"[^>]*>Copy link</button>', page)
    assert button, "no copy button"
    field = re.search(rf'<input[^>]*id="{button.group(1)}"[^>]*>', page)
    assert field and re.search(r'value="[^"]*/j/[^"]+/"', field.group(0))
    assert '<script src="/static/dist/tandem-copy-link.js" defer></script>' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline script"
    assert not re.search(r"\son[a-z]+=", page), "inline handler"
    assert (
        "'unsafe-inline'"
        not in response.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    )
    script = (Path(settings.BASE_DIR) / "frontend" / "desk" / "copy_link.js").read_text()
    assert "data-copy-target" in script and "clipboard" in script


def test_channels_that_send_the_link_have_no_copy_button(ticket, agent):
    page = _as(agent).post(f"/agent/tickets/{ticket.number}/cobrowse/start/", {"channel": "email"}).content
    assert b"data-copy-target" not in page and b"/j/" not in page


def _resend_choice(page: str) -> str | None:
    select = re.search(r'<select name="channel" id="resend-channel">(.*?)</select>', page, re.S)
    assert select, "no resend form"
    chosen = re.findall(r'<option value="([^"]+)" selected>', select.group(1))
    return chosen[0] if chosen else None


@pytest.mark.parametrize("channel", ["copy", "sms", "in_app", "email"])
def test_send_a_new_link_defaults_to_the_channel_used(ticket, agent, channel):
    start(ticket, agent, channel=channel)
    page = _as(agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert _resend_choice(page) == channel


def test_after_a_resend_the_default_follows_the_newest_link(ticket, agent):
    session, _raw = start(ticket, agent, channel="copy")
    resend(session, agent, channel="chat")
    page = _as(agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert _resend_choice(page) == "chat"
