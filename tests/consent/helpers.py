"""Builders for co-browse tests: a started session and a consented one."""

from __future__ import annotations

from unittest import mock

from consent import grants as consent_grants
from consent import invitations
from consent import services as consent_services
from consent import team as consent_team
from consent import tokens as consent_tokens


def _known_token():
    """Tests play the customer, who receives the link: fix the next token so they know it (staff
    never see it for channels other than copy)."""
    raw = consent_tokens.new_token()
    return raw, mock.patch("consent.services.new_token", return_value=raw)


def start(ticket, agent, *, channel="copy", target_url=None, kind="dom"):
    """Start a session; returns (session, raw_token)."""
    raw, patch = _known_token()
    with patch:
        started = invitations.start_session(
            ticket, agent=agent, channel=channel, target_url=target_url, kind=kind
        )
    return started.session, raw


def resend(session, actor, *, channel="copy"):
    """Send a new link; returns (started, raw_token)."""
    raw, patch = _known_token()
    with patch:
        started = invitations.resend_invite(session, actor=actor, channel=channel)
    return started, raw


def page_origin(session) -> str:
    """An origin the session's page may be on: its target page's, else the account's first.

    A server-side browser session's page is Tandem's own viewer: Tandem's origin.
    """
    from django.conf import settings

    from cobrowse.policy import origin_of

    if session.kind == "browser":
        return origin_of(settings.TANDEM_BASE_URL)
    if session.target_url:
        return origin_of(session.target_url)
    account = session.ticket.account
    return (account.allowed_origins or [""])[0] if account else ""


def confirm_on_device(session, link_grant, *, allow=True, origin=None, client=None):
    """The page's owner answers the card on the page; returns the decision (tab grant on Allow)."""
    return consent_grants.confirm_grant(
        link_grant, allow=allow, origin=origin or page_origin(session), client=client
    )


def consent(ticket, agent, *, mode="guided", recording=False, client=None, device=True):
    """Start and consent; returns (session, raw_grant).

    The grant is a tab grant (the consent screen's link grant confirmed on the page) unless
    ``device=False``, which returns the link grant itself (as does a session no page could be
    shared from: no target page, no allowed origin).
    """
    _session, raw = start(ticket, agent)
    invite = consent_services.open_invite(raw)
    outcome = consent_services.grant_consent(invite, mode=mode, recording=recording, client=client)
    if not device or not page_origin(outcome.session):
        return outcome.session, outcome.grant
    decision = confirm_on_device(outcome.session, outcome.grant, client=client)
    return decision.session, decision.grant


def invite_team(session, *, name="Dana Lee", email="dana.lee@acme.example", channel="copy", customer=None):
    """The sharing customer lets a colleague watch; returns (team viewer, raw link token)."""
    invite = consent_team.invite_team_viewer(
        session, name=name, email=email, channel=channel, customer=customer
    )
    return invite.team_viewer, invite.link.rstrip("/").rsplit("/", 1)[1]


def team_grant(session, **kwargs):
    """Invite, open the link and join; returns (team viewer, raw viewer grant)."""
    viewer, raw = invite_team(session, **kwargs)
    link = consent_team.open_watch_link(raw)
    outcome = consent_team.decide_watch(link, join=True)
    return viewer, outcome.grant
