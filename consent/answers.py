"""The customer's decisions during a live session: Stop sharing, answers to a request for more
control or more time, and taking control back.

Each is a consent record first, written in the same transaction that changes the session through
the core (``cobrowse.services``): no decision without its record, no record without its effect.
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from audit import services as audit
from cobrowse import services as session_services
from cobrowse.models import (
    SHARING_STATES,
    CoBrowseSession,
    ControlMode,
    EndReason,
    ExtensionRequest,
    ModeRequest,
    SessionState,
    mode_rank,
)
from consent.models import ConsentKind, Decision
from consent.prompts import escalation_prompt, extension_prompt
from consent.records import ClientInfo, record_consent


def revoke_session(
    session: CoBrowseSession | int, *, customer: User | None = None, client: ClientInfo | None = None
) -> CoBrowseSession:
    """The customer pressed Stop sharing. Ends the session at once and records the revocation.

    The caller has authenticated the customer (logged in, bound browser or grant).
    """
    current = session_services.refresh_state(session)
    if current.is_terminal:
        return current
    with transaction.atomic():
        locked = session_services.lock(current)
        if locked.is_terminal:
            return locked  # ended meanwhile (the socket's stop, a timer): the end stands
        if locked.state not in SHARING_STATES:
            raise session_services.IllegalTransition(locked.state, SessionState.REVOKED)
        record = record_consent(
            locked,
            kind=ConsentKind.REVOCATION,
            decision=Decision.REVOKED,
            prompt_text="Stop sharing",
            customer=customer,
            client=client,
        )
        locked = session_services.transition(
            locked,
            SessionState.REVOKED,
            reason=EndReason.CUSTOMER_REVOKED,
            actor=customer,
            extra={"consent": record.pk},
        )
        audit.record(
            "cobrowse.revoked",
            actor=customer,
            obj=locked,
            details={"session": locked.pk, "consent": record.pk},
        )
        return locked


def respond_to_mode_request(
    request: ModeRequest | int,
    *,
    accept: bool,
    customer: User | None = None,
    client: ClientInfo | None = None,
) -> ModeRequest:
    """The customer's answer. A yes is a new consent record; only then does the mode change."""
    # The caller's row already names its session: only a bare id costs a query.
    if isinstance(request, int):
        pk = request
        session_id = ModeRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    else:
        pk, session_id = request.pk, request.session_id
    session_services.refresh_state(session_id)
    with transaction.atomic():
        locked, session = session_services.lock_for_customer_answer(pk)
        record = record_consent(
            session,
            kind=ConsentKind.ESCALATION,
            decision=Decision.GRANTED if accept else Decision.DENIED,
            prompt_text=escalation_prompt(session, locked.to_mode),
            mode=locked.to_mode if accept else "",
            recording=session.recording,
            customer=customer,
            client=client,
        )
        audit.record(
            "consent.escalation_" + ("granted" if accept else "declined"),
            obj=session,
            details={"session": session.pk, "request": locked.pk, "consent": record.pk, "to": locked.to_mode},
        )
        return session_services.apply_customer_answer(locked, session, accept=accept, consent=record.pk)


def customer_lower_mode(
    session: CoBrowseSession | int,
    *,
    mode: str,
    customer: User | None = None,
    client: ClientInfo | None = None,
) -> CoBrowseSession:
    """The customer takes back some control, at any time. Recorded as a consent record."""
    if mode not in ControlMode.values:
        raise session_services.CoBrowseError({"mode": f"Unknown mode '{mode}'."})
    session_services.refresh_state(session)
    with transaction.atomic():
        locked = session_services.lock(session)
        session_services.require_sharing(locked)
        if mode_rank(mode) >= mode_rank(locked.mode):
            raise session_services.CoBrowseError({"mode": "You can only lower the mode here."})
        record = record_consent(
            locked,
            kind=ConsentKind.LOWERING,
            decision=Decision.GRANTED,
            prompt_text=f"Lower to {ControlMode(mode).label}",
            mode=mode,
            recording=locked.recording,
            customer=customer,
            client=client,
        )
        return session_services.set_mode(locked, mode, actor=customer, by="customer", consent=record.pk)


def respond_to_extension(
    request: ExtensionRequest | int,
    *,
    accept: bool,
    customer: User | None = None,
    client: ClientInfo | None = None,
) -> ExtensionRequest:
    """The customer's answer to a request for more time; a yes moves the deadline."""
    # The caller's row already names its session: only a bare id costs a query.
    if isinstance(request, int):
        pk = request
        session_id = ExtensionRequest.objects.values_list("session_id", flat=True).get(pk=pk)
    else:
        pk, session_id = request.pk, request.session_id
    session_services.refresh_state(session_id)
    with transaction.atomic():
        locked, session = session_services.lock_extension_for_answer(pk)
        record = record_consent(
            session,
            kind=ConsentKind.EXTENSION,
            decision=Decision.GRANTED if accept else Decision.DENIED,
            prompt_text=extension_prompt(session, locked.seconds),
            mode=session.mode if accept else "",
            recording=session.recording,
            customer=customer,
            client=client,
            extension_seconds=locked.seconds if accept else 0,
        )
        session_services.apply_extension_answer(locked, session, accept=accept, consent=record.pk)
        audit.record(
            "consent.extension_" + ("granted" if accept else "declined"),
            obj=session,
            details={
                "session": session.pk,
                "request": locked.pk,
                "consent": record.pk,
                "seconds": locked.seconds,
            },
        )
        return locked
