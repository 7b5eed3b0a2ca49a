"""Builders for co-browse tests: a started session and a consented one."""

from __future__ import annotations

from cobrowse import services
from consent import services as consent_services


def start(ticket, agent, *, channel="copy", target_url=None, kind="dom"):
    """Start a session; returns (session, raw_token)."""
    started = services.start_session(ticket, agent=agent, channel=channel, target_url=target_url, kind=kind)
    raw = started.join_path.split("/")[2]
    return started.session, raw


def consent(ticket, agent, *, mode="guided", recording=False, client=None):
    """Start and consent; returns (session, raw_grant)."""
    _session, raw = start(ticket, agent)
    invite = consent_services.claim_invite(raw)
    outcome = consent_services.grant_consent(invite, mode=mode, recording=recording, client=client)
    return outcome.session, outcome.grant
