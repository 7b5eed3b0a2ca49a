"""Bench data for :mod:`bench.relay`: N consented co-browse sessions with grants and signed-in agents.

Runs in the benchmark's parent process against the bench database (``DATABASE_URL``); every run
creates fresh users, tickets and sessions under its own tag, so runs never share state.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CUSTOMER_ORIGIN = "http://localhost:8001"


def _django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def create_sessions(n: int, tag: str, *, recording: bool = False) -> list[dict]:
    """Create ``n`` sessions; returns ``[{"id", "grant", "cookie"}]`` (cookie: the agent's ``sessionid``).

    ``recording``: the customers also consent to recording (and the bench account allows it), so the
    relay records every session (``recordings.live``)."""
    _django()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.module_loading import import_string

    from accounts.models import CustomerAccount, User
    from consent import grants as consent_grants
    from consent import invitations
    from consent import services as consent_services
    from tickets import services as ticket_services

    account, _ = CustomerAccount.objects.get_or_create(
        name="Bench Home Loans",
        defaults={"site_url": f"{CUSTOMER_ORIGIN}/", "allowed_origins": [CUSTOMER_ORIGIN]},
    )
    if recording and not account.recording_allowed:
        account.recording_allowed = True
        account.save(update_fields=["recording_allowed"])
    # The backend a real sign-in records: the first that can load a user (the login throttle in
    # front of it only checks sign-ins and has no get_user).
    backend = next(
        path for path in settings.AUTHENTICATION_BACKENDS if hasattr(import_string(path), "get_user")
    )
    out = []
    for i in range(n):
        customer = User(
            username=f"bench-{tag}-c{i}",
            email=f"bench-{tag}-c{i}@example.com",
            role="customer",
            account=account,
        )
        agent = User(
            username=f"bench-{tag}-a{i}",
            email=f"bench-{tag}-a{i}@example.com",
            first_name=f"Agent{i}",
            role="agent",
            agent_level="L2",
        )
        for user in (customer, agent):
            user.set_unusable_password()
            user.save()
        ticket = ticket_services.create_ticket(
            requester=customer, subject="Cannot finish the loan application", description="Step 3 fails."
        )
        started = invitations.start_session(ticket, agent=agent, channel="copy")
        invite = consent_services.claim_invite(started.join_path.split("/")[2])
        outcome = consent_services.grant_consent(invite, mode="guided", recording=recording)
        # The consent screen's grant only describes the request: the page's owner allows it on the
        # page itself, which issues the tab grant the customer's socket says hello with.
        decision = consent_grants.confirm_grant(outcome.grant, allow=True, origin=CUSTOMER_ORIGIN)
        store = SessionStore()
        store[SESSION_KEY] = str(agent.pk)
        store[BACKEND_SESSION_KEY] = backend
        store[HASH_SESSION_KEY] = agent.get_session_auth_hash()
        store.create()
        out.append({"id": outcome.session.pk, "grant": decision.grant, "cookie": store.session_key})
    return out


def recording_totals(session_ids: list[int]) -> dict:
    """What the relay recorded for these sessions: recordings, chunks and bytes in the blob store, and
    the events in the stored chunks (decrypted and verified: what a replay would show)."""
    _django()
    import orjson

    from recordings.blobstore import BlobStore
    from recordings.capture import open_recording
    from recordings.models import Recording

    store = BlobStore()
    out = {"recordings": 0, "chunks": 0, "stored_bytes": 0, "events": 0, "unreadable": 0}
    for recording in Recording.objects.filter(session_id__in=session_ids):
        out["recordings"] += 1
        out["stored_bytes"] += store.stored_bytes(recording.pk)
        try:
            for opened in open_recording(recording.pk, bytes(recording.wrapped_key)).payloads():
                out["chunks"] += 1
                out["events"] += len(orjson.loads(opened.payload))
        except Exception:  # reported, not raised: a damaged recording is a result
            out["unreadable"] += 1
    return out
