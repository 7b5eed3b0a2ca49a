"""Content-Security-Policy headers: the site-wide policy on every page, the strict one where
customer content is rebuilt, and templates that need no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_every_page_has_the_site_wide_policy(client, customer):
    for response in (client.get("/login/"), client.get("/no-such-page/")):
        policy = _policy(response)
        assert policy["script-src"] == ["'self'"]
        assert policy["style-src"] == ["'self'"]
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]
    client.force_login(customer)
    assert _policy(client.get("/portal/"))["default-src"] == ["'self'"]


@pytest.mark.django_db
@pytest.mark.usefixtures("recording_env")
def test_console_watch_and_replay_pages_have_the_strict_policy(client, agent, customer, manager, settings):
    settings.TANDEM_CSP_REPLAY_SOURCES = ["https://shop.example"]
    session = recorded_session(agent, customer)
    recording = build_recording(session)
    client.force_login(agent)
    pages = {
        "console": client.get(f"/agent/sessions/{session.pk}/"),
        "replay": client.get(f"/manager/recordings/{recording.pk}/"),
        "watch": client.get(f"/watch/{session.pk}/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        policy = _policy(response)
        assert policy["default-src"] == ["'none'"], name
        assert policy["script-src"] == ["'self'"], name
        assert policy["connect-src"] == ["'self'"], name
        assert policy["img-src"] == ["'self'", "data:", "blob:", "https://shop.example"], name
        assert policy["style-src"] == ["'self'", "'unsafe-inline'", "data:", "https://shop.example"], name
        assert policy["base-uri"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"], name


@pytest.mark.django_db
def test_consent_page_may_send_the_customer_on_to_their_own_site(client, settings):
    settings.TANDEM_CSP_REPLAY_SOURCES = ["https:"]
    response = client.get("/j/" + "x" * 43 + "/")
    assert _policy(response)["form-action"] == ["'self'", "https:"]


def test_production_replay_sources_exclude_plain_http():
    from config.settings import TANDEM_CSP_REPLAY_SOURCES  # this run: the test defaults

    assert "https:" in TANDEM_CSP_REPLAY_SOURCES and "http:" not in TANDEM_CSP_REPLAY_SOURCES


def test_templates_hold_no_inline_script_handlers_or_styles():
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
    style = re.compile(r"<style|\sstyle\s*=", re.IGNORECASE)
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for name, pattern in (("inline script", inline_script), ("event handler", handler), ("style", style)):
            found += [f"{path.relative_to(TEMPLATES)}: {name}" for _ in pattern.finditer(text)]
    assert not found, found


def test_every_page_that_rebuilds_customer_content_is_strict():
    from config.csp import STRICT_VIEWS, page_overrides

    assert {
        "console:live",
        "consent:watch",
        "recordings:detail",
        "recordings:customer_copy",
        "browser-viewer",
    } <= STRICT_VIEWS
    for name in STRICT_VIEWS:
        assert page_overrides(name)["default-src"] == ["'none'"], name
    assert page_overrides("tickets:portal") is None
