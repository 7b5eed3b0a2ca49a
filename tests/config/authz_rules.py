"""The authorization matrix's table: for every route, a concrete request and each actor's exact answer.

Derived from the documented rules (docs/architecture.md; ``accounts.permissions``,
``tickets.permissions``, ``accounts.decorators``), never from what the code happens to answer.

Actors (``test_authorization_matrix.build_world`` makes them):

- ``anon``: nobody signed in.
- ``own``: the customer who raised the tickets and shares the sessions (signed in).
- ``other``: another customer of the same account (signed in).
- ``team``: a member of the customer's team: not a user, a browser holding a viewer grant for the
  recorded session, which it joined from this browser. It presents the viewer grant wherever a
  route takes a grant.
- ``tab``: the browser that consented, without signing in: bound to the sessions it consented to,
  holding the recorded session's tab grant, presented wherever a route takes a grant.
- ``l1``, ``l1c`` (certified L1), ``l2``, ``l3``: agents. ``l2`` is every ticket's assignee and every
  session's agent; the others are colleagues with no part in them.
- ``mgr``: a manager (admin access through the Managers group).

Objects named in paths are attributes of the world: ``ticket`` (with the recorded ``session``, its
``recording``, a ``highlight``, an approved copy link ``copy_token`` and a waiting ``access_request``,
a ``control_request`` and an ``extension`` waiting for the customer, team members ``team_viewer``
(joined) and ``pending_viewer`` with an unused ``watch_token``), ``ticket_free`` (assigned, no
session), ``ticket_asked`` / ``session_asked`` (full control waiting for a manager:
``full_request``), ``ticket_invited`` / ``session_invited`` (an unused in-app link ``join_token``),
``ticket_browser`` / ``browser_session`` (consented, no runner), ``ticket_done`` /
``session_done`` (resolved and ended: ``satisfaction_token``, ``survey_token``), the widget's
``help_request`` / ``help_token``, and a password-reset link.

Expected answers: an int is that status (for a redirect, to anywhere); ``"302 → /path/"`` a
redirect to that path (``LOGIN``: the sign-in page), ``"302 → /path/…"`` to anywhere under it. For
sockets: ``OPEN`` (admitted: a ``welcome``, or kept open where no ``hello`` is asked for),
``("close", code)`` (accepted, then closed with ``code``), ``("reject", code)`` (closed before the
handshake completed), ``("waiting", error code)`` (open but not admitted, still asking for a hello).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

LOGIN = "302 → /login/"
ADMIN_LOGIN = "302 → /admin/login/"
QUEUE = "302 → /agent/"
PORTAL = "302 → /portal/"
OPEN = "open"

ACTORS = ("anon", "own", "other", "team", "tab", "l1", "l1c", "l2", "l3", "mgr")
VISITORS = ("anon", "team", "tab")  # nobody signed in
CUSTOMERS = ("own", "other")
AGENTS = ("l1", "l1c", "l2", "l3")
STAFF = (*AGENTS, "mgr")


def E(*, anon: Any = None, customer: Any = None, staff: Any = None, agents: Any = None, **actor: Any) -> dict:
    """Expectations for every actor: ``anon`` for the three visitors, ``customer`` for both
    customers, ``staff`` for agents and the manager (``agents`` for the four agents), then any
    single actor by name. Every actor must end up with an answer."""
    cells: dict[str, Any] = {}
    for group, value in ((VISITORS, anon), (CUSTOMERS, customer), (STAFF, staff), (AGENTS, agents)):
        if value is not None:
            cells.update(dict.fromkeys(group, value))
    unknown = set(actor) - set(ACTORS)
    assert not unknown, f"unknown actors {unknown}"
    cells.update(actor)
    missing = [a for a in ACTORS if a not in cells]
    assert not missing, f"no expectation for {missing}"
    return cells


def everyone(status: Any) -> dict:
    return E(anon=status, customer=status, staff=status)


def staff_page(ok: Any) -> dict:
    """``staff_only``: the sign-in page for visitors, the 403 page for customers."""
    return E(anon=LOGIN, customer=403, staff=ok)


def manager_page(ok: Any) -> dict:
    """``manager_only``: the sign-in page for visitors, the 403 page for customers and agents."""
    return E(anon=LOGIN, customer=403, agents=403, mgr=ok)


def session_staff(
    ok: Any, *, anon: Any = LOGIN, customer: Any = 404, others: Any = 404, **actor: Any
) -> dict:
    """A session's page or call for its agent (l2) and managers; other agents learn nothing."""
    return E(anon=anon, customer=customer, agents=others, l2=ok, mgr=ok) | actor


@dataclass(frozen=True)
class Rule:
    """One request per actor: ``path`` is formatted with the world's attributes."""

    path: str
    expect: dict
    method: str = "GET"
    data: dict | None = None
    json: bool = False
    grant: bool = False  # the route takes a grant in X-Tandem-Grant: team and tab present theirs
    headers: dict[str, str] = field(default_factory=dict)
    why: str = ""
    # Only these actors are asked, for a costly answer that depends on no one (the others' cells
    # still say what they would get).
    sample: tuple[str, ...] = ACTORS


WIDGET = {"HTTP_ORIGIN": "http://localhost:8001"}

# Keyed by URL name (``namespace:name``), or by route for an unnamed one; a tuple of rules when one
# request does not say enough.
HTTP_RULES: dict[str, Rule | tuple[Rule, ...]] = {
    # --- project -----------------------------------------------------------------------------------
    "favicon": Rule("/favicon.ico", everyone(301)),
    "api-schema": Rule(
        "/api/schema/",
        everyone(200),
        why="the published API description, the same for everyone (and a second to build)",
        sample=("anon", "own", "l1", "mgr"),
    ),
    "api-docs": Rule("/api/docs/", everyone(200)),
    # --- accounts -----------------------------------------------------------------------------------
    "home": Rule("/", E(anon=LOGIN, customer=PORTAL, staff=QUEUE), why="each role to its own start page"),
    "your_details": Rule(
        "/portal/details/",
        E(anon=LOGIN, customer=200, staff="302 → /"),
        why="the signed-in customer's own data; staff edit profiles in the admin",
    ),
    "login": Rule("/login/", E(anon=200, customer="302 → /", staff="302 → /")),
    "logout": Rule("/logout/", everyone(LOGIN), method="POST"),
    "password_reset": Rule("/password-reset/", everyone(200)),
    "password_reset_done": Rule("/password-reset/sent/", everyone(200)),
    "password_reset_confirm": Rule(
        "/password-reset/{reset_uid}/{reset_token}/",
        everyone("302 → /password-reset/…"),
        why="the token moves into the session, out of the address",
    ),
    "password_reset_complete": Rule("/password-reset/complete/", everyone(200)),
    "api-widget-identify": Rule(
        "/api/widget/identify/", everyone(400), method="POST", json=True, data={}, headers=WIDGET
    ),
    "api-token": Rule("/api/auth/token/", everyone(400), method="POST", data={}),
    # --- tickets API ------------------------------------------------------------------------------------
    "api-ticket-list": Rule("/api/tickets/", E(anon=403, customer=200, staff=200)),
    "api-ticket-detail": Rule("/api/tickets/{ticket.number}/", E(anon=403, own=200, other=404, staff=200)),
    "api-ticket-escalate": Rule(
        "/api/tickets/{ticket.number}/escalate/",
        E(anon=403, own=403, other=404, staff=400),
        method="POST",
        json=True,
        data={},
    ),
    "api-ticket-comments": Rule(
        "/api/tickets/{ticket.number}/comments/", E(anon=403, own=200, other=404, staff=200)
    ),
    "api-ticket-events": Rule(
        "/api/tickets/{ticket.number}/events/", E(anon=403, own=200, other=404, staff=200)
    ),
    # --- co-browse API --------------------------------------------------------------------------------
    "api-ticket-cobrowse": Rule(
        "/api/tickets/{ticket_free.number}/cobrowse/",
        E(anon=403, own=403, other=404, agents=403, l2=201, mgr=201),
        method="POST",
        json=True,
        data={"channel": "copy"},
        why="L2+ or certified L1, and only the assignee (l2) or a manager",
    ),
    "api-cobrowse-session": Rule(
        "/api/cobrowse/sessions/{session.pk}/",
        E(anon=404, own=200, other=404, team=401, tab=200, agents=404, l2=200, mgr=200),
        grant=True,
    ),
    "api-cobrowse-revoke": Rule(
        "/api/cobrowse/sessions/{session.pk}/revoke/",
        E(anon=404, own=200, other=404, team=401, tab=200, staff=404),
        method="POST",
        grant=True,
        why="Stop sharing is the customer's (signed in or by the tab grant)",
    ),
    "api-cobrowse-lower": Rule(
        "/api/cobrowse/sessions/{session.pk}/lower/",
        E(anon=404, own=200, other=404, team=401, tab=200, staff=404),
        method="POST",
        json=True,
        data={"mode": "view_only"},
        grant=True,
    ),
    "api-cobrowse-viewers": Rule(
        "/api/cobrowse/sessions/{session.pk}/viewers/",
        session_staff(201, anon=403),
        method="POST",
        json=True,
        data={"username": "matrix-l3"},
    ),
    "api-cobrowse-end": Rule(
        "/api/cobrowse/sessions/{session.pk}/end/", session_staff(200, anon=403), method="POST"
    ),
    "api-cobrowse-resend": Rule(
        "/api/cobrowse/sessions/{session_invited.pk}/resend/",
        session_staff(200, anon=403),
        method="POST",
        json=True,
        data={"channel": "copy"},
    ),
    "api-cobrowse-mode": Rule(
        "/api/cobrowse/sessions/{session.pk}/mode/",
        session_staff(200, anon=403),
        method="POST",
        json=True,
        data={"mode": "view_only"},
    ),
    "api-cobrowse-extend": Rule(
        "/api/cobrowse/sessions/{session.pk}/extend/",
        session_staff(409, anon=403),
        method="POST",
        why="an extension already waits: the session's staff get 409, nobody else learns of it",
    ),
    "api-cobrowse-transcript": Rule(
        "/api/cobrowse/sessions/{session.pk}/transcript/",
        everyone(401),
        method="POST",
        json=True,
        data={},
        why="a telephony integration's token and signature only; no browser login",
    ),
    "api-cobrowse-assist": Rule(
        "/api/cobrowse/sessions/{session.pk}/assist/", everyone(401), method="POST", json=True, data={}
    ),
    "api-cobrowse-approve": Rule(
        "/api/cobrowse/mode-requests/{full_request.pk}/approve/",
        E(anon=403, customer=403, agents=403, mgr=200),
        method="POST",
    ),
    "api-cobrowse-decline": Rule(
        "/api/cobrowse/mode-requests/{full_request.pk}/decline/",
        E(anon=403, customer=403, agents=403, mgr=200),
        method="POST",
    ),
    "api-cobrowse-answer": Rule(
        "/api/cobrowse/mode-requests/{control_request.pk}/answer/",
        E(anon=404, own=200, other=404, team=401, tab=200, staff=404),
        method="POST",
        json=True,
        data={"accept": False},
        grant=True,
    ),
    "api-cobrowse-grant-refresh": Rule(
        "/api/cobrowse/grants/refresh/",
        E(anon=401, customer=401, staff=401, tab=200),
        method="POST",
        grant=True,
    ),
    "api-cobrowse-grant-describe": Rule(
        "/api/cobrowse/grants/describe/",
        E(anon=401, customer=401, staff=401, team=401, tab=200),
        method="POST",
        grant=True,
        headers=WIDGET,
    ),
    "api-cobrowse-grant-confirm": Rule(
        "/api/cobrowse/grants/confirm/",
        E(anon=401, customer=401, staff=401, team=401, tab=200),
        method="POST",
        json=True,
        data={"allow": True},
        grant=True,
        headers=WIDGET,
    ),
    # --- server-side browser API ----------------------------------------------------------------------
    "api-browser-sessions": Rule(
        "/api/browser-sessions/",
        E(anon=403, own=403, other=404, agents=403, l2=201, mgr=201),
        method="POST",
        json=True,
        data={
            "ticket": "{ticket_free.number}",
            "start_url": "http://localhost:8001/apply",
            "channel": "copy",
        },
    ),
    # The browser's own API is its agent's alone (docs/server-side-browser.md): anyone else, a
    # manager too, gets 404; managers end a browser session through the co-browse API.
    "api-browser-actions": Rule(
        "/api/browser-sessions/{browser_session.pk}/actions/",
        session_staff(400, anon=403, mgr=404),
        method="POST",
        json=True,
        data={},
    ),
    # No browser runner here: its agent is told at once that the browser is unavailable (503).
    "api-browser-screenshot": Rule(
        "/api/browser-sessions/{browser_session.pk}/screenshot/", session_staff(503, anon=403, mgr=404)
    ),
    "api-browser-dom": Rule(
        "/api/browser-sessions/{browser_session.pk}/dom/", session_staff(503, anon=403, mgr=404)
    ),
    "api-browser-status": Rule(
        "/api/browser-sessions/{browser_session.pk}/status/", session_staff(200, anon=403, mgr=404)
    ),
    "api-browser-stop": Rule(
        "/api/browser-sessions/{browser_session.pk}/stop/",
        session_staff(200, anon=403, mgr=404),
        method="POST",
    ),
    # --- recordings API -----------------------------------------------------------------------------------
    "api-recordings": Rule("/api/recordings/", E(anon=403, customer=403, staff=200)),
    "api-recording": Rule("/api/recordings/{recording.pk}/", session_staff(200, anon=403, customer=403)),
    "api-recording-highlights": Rule(
        "/api/recordings/{recording.pk}/highlights/", session_staff(200, anon=403, customer=403)
    ),
    "api-recording-accesses": Rule(
        "/api/recordings/{recording.pk}/accesses/", session_staff(200, anon=403, customer=403)
    ),
    # --- ticket pages --------------------------------------------------------------------------------------
    "tickets:queue": Rule("/agent/", staff_page(200)),
    "tickets:agent_ticket": Rule("/agent/tickets/{ticket.number}/", staff_page(200)),
    "tickets:agent_ticket_update": Rule(
        "/agent/tickets/{ticket.number}/update/", staff_page(400), method="POST", data={}
    ),
    "tickets:agent_ticket_comment": Rule(
        "/agent/tickets/{ticket.number}/comment/", staff_page(400), method="POST", data={}
    ),
    "tickets:agent_ticket_escalate": Rule(
        "/agent/tickets/{ticket.number}/escalate/", staff_page(400), method="POST", data={}
    ),
    "tickets:portal": Rule("/portal/", E(anon=LOGIN, customer=200, staff=302), why="staff go to the queue"),
    "tickets:portal_new": Rule("/portal/new/", E(anon=LOGIN, customer=200, staff=302)),
    "tickets:portal_ticket": Rule(
        "/portal/tickets/{ticket.number}/", E(anon=LOGIN, own=200, other=404, staff=302)
    ),
    "tickets:portal_ticket_reply": Rule(
        "/portal/tickets/{ticket.number}/reply/",
        E(anon=LOGIN, own=400, other=404, staff=302),
        method="POST",
        data={},
    ),
    "tickets:satisfaction": Rule(
        "/satisfaction/{satisfaction_token}/", everyone(200), why="whoever holds the e-mailed link"
    ),
    # --- consent: links, team members, portal invitations, widget help ------------------------------------
    "consent:join": Rule(
        "/j/{join_token}/",
        E(anon=200, customer=200, staff=403),
        why="a one-time link: whoever holds it sees the consent screen; staff are refused",
    ),
    "consent:watch_join": Rule("/w/{watch_token}/", E(anon=200, customer=200, staff=403)),
    "consent:watch": Rule(
        "/watch/{session.pk}/",
        everyone(200),
        why="the same page for any id: the grant decides, on the socket",
    ),
    "consent:watch_grant": Rule(
        "/watch/{session.pk}/grant/",
        E(anon=404, customer=404, staff=404, team=200),
        method="POST",
        grant=True,
    ),
    "consent:watch_leave": Rule(
        "/watch/{session.pk}/leave/",
        E(anon=404, customer=404, staff=404, team=200),
        method="POST",
        grant=True,
    ),
    "consent:invite_team_member": Rule(
        "/cobrowse/sessions/{session.pk}/team/",
        E(anon=404, own=303, other=404, tab=303, staff=404),
        method="POST",
        data={},
        why="the sharing customer (signed in, or the browser that consented) only",
    ),
    "consent:remove_team_member": Rule(
        "/cobrowse/sessions/{session.pk}/team/{pending_viewer.pk}/remove/",
        E(anon=404, own=303, other=404, tab=303, staff=404),
        method="POST",
    ),
    "consent:portal_open_invitation": Rule(
        "/portal/tickets/{ticket_invited.number}/invitations/{session_invited.pk}/open/",
        E(anon=LOGIN, own=302, other=404, staff=302),
        method="POST",
    ),
    "consent:api-widget-help": Rule(
        "/api/widget/help/", everyone(400), method="POST", json=True, data={}, headers=WIDGET
    ),
    "consent:api-widget-help-words": Rule("/api/widget/help/words/", everyone(400), headers=WIDGET),
    "consent:api-widget-help-request": Rule(
        "/api/widget/help/{help_token}/", everyone(200), headers=WIDGET, why="the widget's bearer token"
    ),
    "consent:portal_resume_sharing": Rule(
        "/portal/tickets/{ticket.number}/cobrowse/{session.pk}/resume/",
        E(anon=LOGIN, own="302 → /portal/tickets/…", other=404, staff=QUEUE),
        method="POST",
        why="the ticket's requester only; this session's page is connected, so the ticket page says so",
    ),
    "consent:take_help_request": Rule(
        "/agent/help/{help_request.pk}/take/",
        staff_page("302 → /agent/sessions/…") | {"l1": QUEUE},
        method="POST",
        why="whoever may co-browse takes it into the console; an L1 agent is sent back to the queue",
    ),
    # --- live: co-browse pages ------------------------------------------------------------------------------
    "cobrowse:start": Rule(
        "/agent/tickets/{ticket_free.number}/cobrowse/start/",
        E(anon=LOGIN, own=403, other=404, agents=403, l2=200, mgr=200),
        method="POST",
        data={"channel": "copy"},
    ),
    "cobrowse:agent_action": Rule(
        "/agent/cobrowse/sessions/{session.pk}/end/", session_staff(303), method="POST"
    ),
    "cobrowse:request_screen_share": Rule(
        "/portal/tickets/{ticket_free.number}/screen-share/",
        E(anon=LOGIN, own=303, other=404, staff=403),
        method="POST",
        why="only the ticket's own requester asks",
    ),
    "cobrowse:sharing": Rule(
        "/cobrowse/sessions/{session.pk}/", E(anon=404, own=200, other=404, tab=200, staff=404)
    ),
    "cobrowse:stop": Rule(
        "/cobrowse/sessions/{session.pk}/stop/",
        E(anon=404, own=303, other=404, tab=303, staff=404),
        method="POST",
    ),
    "cobrowse:lower": Rule(
        "/cobrowse/sessions/{session.pk}/lower/",
        E(anon=404, own=303, other=404, tab=303, staff=404),
        method="POST",
        data={"mode": "view_only"},
    ),
    "cobrowse:answer_mode": Rule(
        "/cobrowse/mode-requests/{control_request.pk}/answer/",
        E(anon=404, own=303, other=404, tab=303, staff=404),
        method="POST",
        data={"answer": "decline"},
    ),
    "cobrowse:answer_extension": Rule(
        "/cobrowse/extensions/{extension.pk}/answer/",
        E(anon=404, own=303, other=404, tab=303, staff=404),
        method="POST",
        data={"answer": "decline"},
    ),
    "cobrowse:active_sessions": Rule("/agent/sessions/", staff_page(200)),
    "cobrowse:approvals": Rule("/manager/approvals/", manager_page(200)),
    "cobrowse:decide_approval": Rule(
        "/manager/approvals/{full_request.pk}/",
        manager_page(303),
        method="POST",
        data={"decision": "decline"},
    ),
    "console:live": Rule("/agent/sessions/{session.pk}/", session_staff(200)),
    "console:connection": Rule("/agent/sessions/{session.pk}/connection/", session_staff(200)),
    "console:fresh_link": Rule(
        "/agent/sessions/{session.pk}/fresh-link/",
        session_staff("303 → /agent/tickets/…"),
        method="POST",
        why="its agent or a manager; this session's page is connected, so the ticket page says why not",
    ),
    "console:callback": Rule(
        "/agent/sessions/{session.pk}/callback/",
        session_staff("303 → /agent/tickets/…"),
        method="POST",
    ),
    "console:browser": Rule(
        "/agent/sessions/{session.pk}/browser/",
        session_staff(200),
        method="POST",
        why="its agent or a manager may end a live page session for a server-side browser: the link page",
    ),
    "browser-viewer": Rule(
        "/browser/{browser_session.pk}/",
        everyone(200),
        why="the page is the same shell for anyone; staff by login and the customer by grant, on the socket",
    ),
    # --- recordings pages -----------------------------------------------------------------------------------
    "recordings:list": Rule("/manager/recordings/", staff_page(200)),
    "recordings:highlights": Rule("/manager/recordings/highlights/", staff_page(200)),
    "recordings:highlight_delete": Rule(
        "/manager/recordings/highlights/{highlight.pk}/delete/",
        session_staff(302, customer=403),
        method="POST",
        why="who may see the recording reaches it; only its author or a manager removes it (else a message)",
    ),
    "recordings:requests": Rule("/manager/recordings/requests/", manager_page(200)),
    "recordings:decide": Rule(
        "/manager/recordings/requests/{access_request.pk}/decide/",
        manager_page(302),
        method="POST",
        data={"decision": "deny"},
    ),
    "recordings:detail": Rule("/manager/recordings/{recording.pk}/", session_staff(200)),
    "recordings:events": (
        Rule("/manager/recordings/{recording.pk}/events/", session_staff(200)),
        Rule(
            "/manager/recordings/{recording.pk}/events/?download=1",
            session_staff(200, l2=403),
            why="saving the whole stream is the managers' download",
        ),
    ),
    "recordings:index": Rule("/manager/recordings/{recording.pk}/index/", session_staff(200)),
    "recordings:chunk": Rule("/manager/recordings/{recording.pk}/chunks/0/", session_staff(200)),
    "recordings:highlight_create": Rule(
        "/manager/recordings/{recording.pk}/highlights/", session_staff(302), method="POST", data={}
    ),
    "recordings:delete": Rule(
        "/manager/recordings/{recording.pk}/delete/",
        session_staff(302) | {"l2": 403},
        method="POST",
        why="only managers delete",
    ),
    "recordings:portal": Rule("/portal/recordings/", E(anon=LOGIN, customer=200, staff=404)),
    "recordings:portal_request": Rule(
        "/portal/recordings/{recording.pk}/request/",
        E(anon=LOGIN, own=302, other=404, staff=404),
        method="POST",
    ),
    "recordings:portal_delete": Rule(
        "/portal/recordings/{recording.pk}/delete/",
        E(anon=LOGIN, own=302, other=404, staff=404),
        method="POST",
    ),
    "recordings:customer_copy": Rule(
        "/portal/recordings/copy/{copy_token}/", E(anon=LOGIN, own=200, other=404, staff=404)
    ),
    # The copy link works for the customer it was issued to, signed in; for anyone else it does
    # not exist.
    "recordings:customer_copy_events": Rule(
        "/portal/recordings/copy/{copy_token}/events/", E(anon=LOGIN, own=200, other=404, staff=404)
    ),
    "recordings:customer_copy_index": Rule(
        "/portal/recordings/copy/{copy_token}/index/", E(anon=LOGIN, own=200, other=404, staff=404)
    ),
    "recordings:customer_copy_chunk": Rule(
        "/portal/recordings/copy/{copy_token}/chunks/0/", E(anon=LOGIN, own=200, other=404, staff=404)
    ),
    # --- outcomes ------------------------------------------------------------------------------------------
    "outcomes:record": Rule(
        "/agent/sessions/{session.pk}/outcome/", staff_page(200) | {"l1": 403, "l1c": 403, "l3": 403}
    ),
    "outcomes:survey": Rule("/survey/{survey_token}/", everyone(200), why="whoever holds the link"),
    "outcomes:survey_answer": Rule(
        "/survey/{survey_token}/answer/",
        E(anon=201, customer=201, staff=403),
        method="POST",
        json=True,
        data={"stars": 5},
        why="whoever holds the link answers, never staff",
    ),
    # --- analytics -------------------------------------------------------------------------------------------
    "analytics:dashboard": Rule("/manager/", manager_page(200)),
    "analytics:performance": Rule("/agent/performance/", staff_page(200)),
    "analytics:roi": Rule("/manager/roi/", manager_page(200)),
    "analytics:quality": Rule("/manager/quality/", manager_page(200)),
    "analytics:report": Rule("/manager/report/", manager_page(200)),
    "analytics:forms": Rule("/manager/forms/", manager_page(200)),
    "analytics:forms_sessions": Rule(
        "/manager/forms/sessions/?kind=stall&page=http://localhost:8001/apply", manager_page(200)
    ),
    "analytics:agents": Rule("/manager/agents/", manager_page(200)),
    "analytics:agent": Rule("/manager/agents/{l1.pk}/", manager_page(200)),
    "analytics:agent_certify": Rule(
        "/manager/agents/{l1.pk}/certify/", manager_page(400), method="POST", data={}
    ),
    "analytics:agent_revoke": Rule(
        "/manager/agents/{l1c.pk}/revoke/", manager_page(400), method="POST", data={}
    ),
}


def http_requests() -> list[tuple[str, Rule]]:
    """Every (route key, rule) pair: one per request to make, unknown objects included."""
    return [
        (key, rule)
        for key, rules in HTTP_RULES.items()
        for rule in (rules if isinstance(rules, tuple) else (rules,))
    ] + list(UNKNOWN.items())


# --- WebSockets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SocketRule:
    """One socket per actor on ``path``, opened from ``origin``, with the actor's login cookie.

    ``hello``: the socket is admitted by a grant in its first frame; the team member and the
    consenting browser present theirs, everyone else an unknown one (what any visitor could send).
    """

    path: str
    expect: dict
    origin: str = "http://localhost"
    hello: bool = False
    # The first frame of an admitted socket; None: an admitted socket says nothing until spoken to.
    admitted: str | None = "welcome"
    why: str = ""


SIGN_IN = ("close", 4401)
REFUSED = ("close", 4403)

# Keyed by route, as ``config/routing.py`` writes it.
WEBSOCKET_RULES: dict[str, SocketRule] = {
    "ws/ping/": SocketRule(
        "/ws/ping/",
        E(anon=("reject", 4401), customer=("reject", 4403), staff=OPEN),
        admitted=None,
        why="the support staff's echo socket",
    ),
    "ws/cobrowse/<int:session_id>/agent/": SocketRule(
        "/ws/cobrowse/{session.pk}/agent/",
        E(anon=SIGN_IN, customer=REFUSED, agents=REFUSED, l2=OPEN, mgr=OPEN),
        why="the session's agent or a manager (an invited colleague too); others closed 4403",
    ),
    "ws/cobrowse/<int:session_id>/customer/": SocketRule(
        "/ws/cobrowse/{session.pk}/customer/",
        E(anon=SIGN_IN, customer=SIGN_IN, staff=SIGN_IN, tab=OPEN),
        origin="http://localhost:8001",
        hello=True,
        why="only the tab grant opens it; a login says nothing, a viewer grant is not a session grant",
    ),
    "ws/cobrowse/<int:session_id>/watch/": SocketRule(
        "/ws/cobrowse/{session.pk}/watch/",
        E(anon=SIGN_IN, customer=SIGN_IN, staff=SIGN_IN, team=OPEN),
        hello=True,
        why="only a viewer grant of this session",
    ),
    "ws/browser/<int:session_id>/": SocketRule(
        "/ws/browser/{browser_session.pk}/",
        E(anon=SIGN_IN, customer=SIGN_IN, agents=REFUSED, l2=OPEN, mgr=OPEN, tab=REFUSED),
        hello=True,
        why="staff by login (its agent, managers); the customer by this session's tab grant only "
        "(the consenting browser's grant is another session's: 4403)",
    ),
    "ws/manager/approvals/": SocketRule(
        "/ws/manager/approvals/",
        E(anon=SIGN_IN, customer=REFUSED, agents=REFUSED, mgr=OPEN),
        admitted="approvals",
        why="every manager page: active managers only",
    ),
}


# --- the admin, as a group ------------------------------------------------------------------------
# Staff only: anyone but a manager (agents are not admin staff) is sent to the admin's sign-in page.
# A manager has what the Managers group gives (docs/active-sessions-and-admin.md, and the migrations
# that widened it: escalation teams, customer profiles, widget site keys): view on every model of
# these apps and on auth groups, never on API tokens; add and change on users, customer accounts and
# those three; change on tickets (the read-only models still show their view page); no delete.

ADMIN_VIEW_APPS = {"accounts", "audit", "tickets", "consent", "cobrowse", "recordings"}
ADMIN_VIEW_MODELS = {"auth.group"}
ADMIN_ADD = {
    "accounts.user",
    "accounts.customeraccount",
    "accounts.customerprofile",
    "accounts.sitekey",
    "tickets.team",
}
ADMIN_CHANGE = {*ADMIN_ADD, "tickets.ticket"}
NOT_ADMIN = E(anon=ADMIN_LOGIN, customer=ADMIN_LOGIN, agents=ADMIN_LOGIN, mgr=None)
# The admin's door checks one thing (admin staff or not): a visitor, a customer, an agent and the
# manager are asked on every page.
ADMIN_SAMPLE = ("anon", "own", "l2", "mgr")


def _admin(mgr: Any) -> dict:
    return NOT_ADMIN | {"mgr": mgr}


def admin_views(label: str) -> bool:
    return label.split(".")[0] in ADMIN_VIEW_APPS or label in ADMIN_VIEW_MODELS


def _sampled(rule: Rule | None) -> Rule | None:
    return rule and replace(rule, sample=ADMIN_SAMPLE)


def admin_site_rules(route: str) -> list[Rule] | None:
    """The admin's own pages (not a model's); None for a route of a model."""
    pages = {
        "admin/": [Rule("/admin/", _admin(200))],
        "admin/login/": [Rule("/admin/login/", E(anon=200, customer=200, agents=200, mgr="302 → /admin/"))],
        "admin/logout/": [
            Rule(
                "/admin/logout/",
                E(anon="302 → /admin/", customer="302 → /admin/", agents="302 → /admin/", mgr=LOGIN),
                method="POST",
                why="signed out to the sign-in page; someone not admin staff back to the admin's door",
            )
        ],
        "admin/password_change/": [Rule("/admin/password_change/", _admin(200))],
        "admin/password_change/done/": [Rule("/admin/password_change/done/", _admin(200))],
        "admin/jsi18n/": [Rule("/admin/jsi18n/", _admin(200))],
        "admin/autocomplete/": [Rule("/admin/autocomplete/", _admin(403), why="no field named")],
        "admin/r/<path:content_type_id>/<path:object_id>/": [Rule("/admin/r/0/0/", _admin(404))],
        "admin/(?P<url>.*)$": [Rule("/admin/no-such-page/", _admin(404))],
    }
    if route.startswith("admin/^(?P<app_label>"):
        return [
            Rule("/admin/tickets/", _admin(200), sample=ADMIN_SAMPLE),
            Rule(
                "/admin/authtoken/",
                _admin(404),
                why="no permission in the app: as if it did not exist",
                sample=ADMIN_SAMPLE,
            ),
        ]
    rules = pages.get(route)
    return rules and [replace(rule, sample=ADMIN_SAMPLE) for rule in rules]


def admin_model_rule(route: str, label: str, pk: int | str | None) -> Rule | None:
    return _sampled(_admin_model_rule(route, label, pk))


def _admin_model_rule(route: str, label: str, pk: int | str | None) -> Rule | None:
    """A model's admin page; ``pk`` an existing row (None: the world has none, "0" is asked for)."""
    app, model = label.split(".")
    base = f"/admin/{app}/{model}/"
    view, obj = admin_views(label), pk if pk is not None else 0
    missing = "302 → /admin/"  # the admin's "no such object" (after the permission check)
    tail = route[len(base) - 1 :]
    if tail == "":
        return Rule(base, _admin(200 if view else 403))
    if tail == "add/":
        return Rule(base + "add/", _admin(200 if label in ADMIN_ADD else 403))
    if tail == "<path:object_id>/":
        return Rule(
            f"{base}{obj}/", _admin(f"302 → {base}{obj}/change/"), why="the old address of a change page"
        )
    if tail == "<path:object_id>/change/":
        ok = view or label in ADMIN_CHANGE
        return Rule(f"{base}{obj}/change/", _admin((200 if pk is not None else missing) if ok else 403))
    if tail == "<path:object_id>/history/":
        ok = view or label in ADMIN_CHANGE
        return Rule(f"{base}{obj}/history/", _admin((200 if pk is not None else missing) if ok else 403))
    if tail == "<path:object_id>/delete/":
        return Rule(f"{base}{obj}/delete/", _admin(403), why="no delete anywhere")
    if tail == "<id>/password/" and label == "accounts.user":
        return Rule(f"{base}{obj}/password/", _admin(200), why="a customer's password: not a superuser's")
    return None


# --- unknown objects and tokens: never a 500 --------------------------------------------------------
# A second request on routes that name an object or carry a token: one that does not exist. Nobody
# learns more than "not found" (404; an unknown link is unknown to staff too), and the sign-in page
# still comes first where signing in does.

UNKNOWN_ID = 987654
UNKNOWN_TOKEN = "n0t-a-real-token-n0t-a-real-token-n0t-a-rea"

UNKNOWN: dict[str, Rule] = {
    "consent:join": Rule(f"/j/{UNKNOWN_TOKEN}/", everyone(404)),
    "consent:watch_join": Rule(f"/w/{UNKNOWN_TOKEN}/", everyone(404)),
    "tickets:satisfaction": Rule(f"/satisfaction/{UNKNOWN_TOKEN}/", everyone(404)),
    "outcomes:survey": Rule(f"/survey/{UNKNOWN_TOKEN}/", everyone(404)),
    "consent:api-widget-help-request": Rule(
        f"/api/widget/help/{UNKNOWN_TOKEN}/", everyone(404), headers=WIDGET
    ),
    "recordings:customer_copy": Rule(
        f"/portal/recordings/copy/{UNKNOWN_TOKEN}/", E(anon=LOGIN, customer=404, staff=404)
    ),
    "api-ticket-detail": Rule(f"/api/tickets/{UNKNOWN_ID}/", E(anon=403, customer=404, staff=404)),
    "tickets:agent_ticket": Rule(f"/agent/tickets/{UNKNOWN_ID}/", staff_page(404)),
    "tickets:portal_ticket": Rule(
        f"/portal/tickets/{UNKNOWN_ID}/",
        E(anon=LOGIN, customer=404, staff=f"302 → /agent/tickets/{UNKNOWN_ID}/"),
    ),
    "api-cobrowse-session": Rule(
        f"/api/cobrowse/sessions/{UNKNOWN_ID}/",
        E(anon=404, customer=404, staff=404, team=401, tab=404),
        grant=True,
    ),
    "console:live": Rule(f"/agent/sessions/{UNKNOWN_ID}/", session_staff(404)),
    "cobrowse:sharing": Rule(f"/cobrowse/sessions/{UNKNOWN_ID}/", everyone(404)),
    "browser-viewer": Rule(f"/browser/{UNKNOWN_ID}/", everyone(404)),
    "recordings:detail": Rule(f"/manager/recordings/{UNKNOWN_ID}/", session_staff(404)),
    "api-recording": Rule(f"/api/recordings/{UNKNOWN_ID}/", E(anon=403, customer=403, staff=404)),
    "analytics:agent": Rule(f"/manager/agents/{UNKNOWN_ID}/", manager_page(404)),
}
