"""Random sequences of operations through the session lifecycle and the mode rules.

Invariants after every step:
- the mode never exceeds what the customer granted, and never exceeds the latest consent record;
- ``full`` only with an accepted request a manager approved, and a consent record for it;
- a terminal state never changes again; every state is reachable only via the transition map.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from cobrowse import services
from cobrowse.models import (
    STATE_TRANSITIONS,
    TERMINAL_STATES,
    CoBrowseSession,
    ControlMode,
    ModeRequest,
    ModeRequestState,
    mode_rank,
)
from consent import answers, invitations
from consent import grants as consent_grants
from consent import services as consent_services
from consent.models import ConsentRecord, Decision
from tests.factories import make_ticket

MODES = [m.value for m in ControlMode]
EXPECTED = (ValidationError, PermissionDenied, consent_services.InviteGone, consent_grants.GrantError)


class SessionMachine(RuleBasedStateMachine):
    customer = agent = manager = other_agent = None  # set by the test

    @initialize()
    def start(self):
        ticket = make_ticket(self.customer)
        started = invitations.start_session(ticket, agent=self.agent, channel="copy")
        self.session_id = started.session.pk
        self.raw = started.join_path.split("/")[2]
        self.invite = None
        self.history = [started.session.state]

    def _session(self) -> CoBrowseSession:
        return CoBrowseSession.objects.get(pk=self.session_id)

    def _try(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EXPECTED:
            return None

    def _open_request(self, state):
        return ModeRequest.objects.filter(session_id=self.session_id, state=state).first()

    @rule()
    def claim(self):
        self.invite = self._try(consent_services.claim_invite, self.raw) or self.invite

    @rule(mode=st.sampled_from(["view_only", "guided", "controlled", "full"]), recording=st.booleans())
    def allow(self, mode, recording):
        if self.invite is not None:
            self._try(consent_services.grant_consent, self.invite, mode=mode, recording=recording)

    @rule()
    def deny(self):
        if self.invite is not None:
            self._try(consent_services.deny_consent, self.invite)

    @rule(mode=st.sampled_from(MODES), by_manager=st.booleans())
    def request_mode(self, mode, by_manager):
        actor = self.manager if by_manager else self.agent
        self._try(services.request_mode, self.session_id, actor=actor, mode=mode)

    @rule(mode=st.sampled_from(MODES))
    def outsider_requests_mode(self, mode):
        self._try(services.request_mode, self.session_id, actor=self.other_agent, mode=mode)

    @rule(approve=st.booleans(), real_manager=st.booleans())
    def manager_decides(self, approve, real_manager):
        request = self._open_request(ModeRequestState.PENDING_MANAGER)
        if request is not None:
            approver = self.manager if real_manager else self.other_agent
            self._try(services.decide_full_control, request, manager=approver, approve=approve)

    @rule(accept=st.booleans(), any_request=st.booleans())
    def customer_answers(self, accept, any_request):
        qs = ModeRequest.objects.filter(session_id=self.session_id)
        request = qs.last() if any_request else self._open_request(ModeRequestState.PENDING_CUSTOMER)
        if request is not None:
            self._try(answers.respond_to_mode_request, request, accept=accept)

    @rule(mode=st.sampled_from(MODES))
    def customer_lowers(self, mode):
        self._try(answers.customer_lower_mode, self.session_id, mode=mode)

    @rule()
    def connect(self):
        self._try(services.mark_active, self.session_id)

    @rule()
    def drop(self):
        self._try(services.mark_reconnecting, self.session_id)

    @rule()
    def revoke(self):
        self._try(answers.revoke_session, self.session_id)

    @rule()
    def end(self):
        self._try(services.end_session, self.session_id, actor=self.agent)

    @rule()
    def extend(self):
        request = self._try(services.request_extension, self.session_id, actor=self.agent)
        if request is not None:
            self._try(answers.respond_to_extension, request, accept=True)

    @rule(which=st.sampled_from(["invite", "idle", "deadline"]))
    def time_passes(self, which):
        past = self._session().created_at - timedelta(days=1)
        field = {"invite": "invite_expires_at", "idle": "last_activity_at", "deadline": "deadline_at"}[which]
        if getattr(self._session(), field) is not None:
            CoBrowseSession.objects.filter(pk=self.session_id).update(**{field: past})
            services.refresh_state(self.session_id)

    @invariant()
    def state_follows_the_map(self):
        state = self._session().state
        if state != self.history[-1]:
            assert self.history[-1] not in TERMINAL_STATES, f"left terminal state {self.history[-1]}"
            assert state in STATE_TRANSITIONS[self.history[-1]] or (
                # one operation may pass through an intermediate state (e.g. consented then timed out)
                any(state in STATE_TRANSITIONS[s] for s in STATE_TRANSITIONS[self.history[-1]])
            )
            self.history.append(state)

    @invariant()
    def mode_within_grant(self):
        session = self._session()
        if not session.granted_mode:
            assert session.mode == ControlMode.VIEW_ONLY
            return
        assert mode_rank(session.mode) <= mode_rank(session.granted_mode)
        granted = ConsentRecord.objects.filter(session=session, decision=Decision.GRANTED).exclude(mode="")
        assert granted.exists()
        assert max(mode_rank(r.mode) for r in granted) >= mode_rank(session.mode)

    @invariant()
    def full_needs_manager(self):
        session = self._session()
        if session.mode == ControlMode.FULL:
            approved = ModeRequest.objects.filter(
                session=session, to_mode="full", state=ModeRequestState.ACCEPTED, manager__role="manager"
            )
            assert approved.exists()
            assert ConsentRecord.objects.filter(session=session, full_control=True).exists()
        assert not ModeRequest.objects.filter(
            session=session, to_mode="full", state=ModeRequestState.PENDING_CUSTOMER, manager__isnull=True
        ).exists()


@pytest.mark.django_db
def test_session_state_machine(customer, agent, manager, agent_l3):
    SessionMachine.customer, SessionMachine.agent = customer, agent
    SessionMachine.manager, SessionMachine.other_agent = manager, agent_l3
    run_state_machine_as_test(
        SessionMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
