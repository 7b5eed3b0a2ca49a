"""Months of believable co-browse history for the demo, so every manager page has something to say.

Rows are written in bulk (a few thousand sessions in seconds, on SQLite as on PostgreSQL), spread
over the demo's agents, customers, categories and working hours, with outcomes, survey answers,
friction signals on the demo loan form (the IBAN field needs help in about four sessions in ten:
the friction page flags it), the odd network drop, connection quality (demo.history_quality), about
one session in five the customer asked for, and the messages first-contact resolution counts, with
tickets answered without co-browse to compare against (demo.history_contact). The random generators
are seeded: the same history every time. Each ticket says it is seeded history.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from analytics import friction, rollup
from analytics.models import Disconnect, PageSignal
from cobrowse.models import CoBrowseSession, ControlMode, EndReason, Initiator, SessionState
from demo import topics
from demo.history_contact import seed_contact_history
from demo.history_quality import seed_quality
from outcomes.models import Outcome, SessionOutcome, SurveyResponse
from tickets import counts as queue_counts
from tickets import services as ticket_services
from tickets.models import Status, Ticket

SESSIONS_PER_DAY = 33
PAGE = "http://localhost:8001/apply"
FIELDS = {"iban": 0.42, "employer": 0.18, "income": 0.12, "postcode": 0.06}  # intervention odds
MODES = [
    (ControlMode.VIEW_ONLY, 30),
    (ControlMode.GUIDED, 45),
    (ControlMode.CONTROLLED, 20),
    (ControlMode.FULL, 5),
]
CUSTOMER_INITIATED_ODDS = 0.22  # the customer asked for a screen share before the agent offered one


@transaction.atomic
def seed_history(days: int, agents: list[User], customers: list[User]) -> int:
    """``days`` of history ending yesterday; returns the number of sessions created (0 if seeded)."""
    if days <= 0 or not agents or not customers:
        return 0
    if Ticket.objects.filter(description__startswith="[seeded history]").exists():
        return 0
    rng = random.Random(20261204)  # noqa: S311 - demo data, not secrets
    # The later additions draw from their own generators, so the figures above them stay put.
    initiators, quality_rng, contact_rng = (random.Random(20261204 + i) for i in (1, 2, 3))  # noqa: S311
    today = timezone.localdate()
    plan: list[tuple[datetime, int]] = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        count = SESSIONS_PER_DAY // 3 if day.weekday() >= 5 else SESSIONS_PER_DAY + rng.randint(-6, 6)
        for _ in range(max(count, 0)):
            minutes = rng.randint(8 * 60, 18 * 60)
            start = timezone.make_aware(datetime.combine(day, time.min)) + timedelta(minutes=minutes)
            length_s = int(min(max(rng.lognormvariate(6.3, 0.6), 90), 45 * 60))
            plan.append((start, length_s))
    numbers = ticket_services.reserve_numbers(len(plan))
    tickets = []
    for number in numbers:
        customer = rng.choice(customers)
        category = topics.pick(rng, topics.CATEGORIES)
        tickets.append(
            Ticket(
                number=number,
                subject=topics.SUBJECTS[category],
                description="[seeded history] A co-browse session from the demo's history.",
                requester=customer,
                account=customer.account,
                assignee=None,
                status=Status.CLOSED,
                category=category,
                channel=rng.choice(topics.CHANNELS),
            )
        )
    # Drawn before the insert, so that only the two automatic timestamps need writing after it.
    opened, modes = [], []
    for ticket, (start, length_s) in zip(tickets, plan, strict=True):
        opened.append(start - timedelta(minutes=rng.randint(5, 240)))
        ticket.closed_at = ticket.resolved_at = start + timedelta(seconds=length_s, hours=1)
        ticket.first_response_at = start
        ticket.assignee = rng.choice(agents)
        modes.append(topics.pick(rng, MODES))
    Ticket.objects.bulk_create(tickets, batch_size=500)
    drafts, tickets = tickets, list(Ticket.objects.filter(number__in=numbers).order_by("number"))
    sessions = []
    for ticket, draft, (start, length_s), created, mode in zip(
        tickets, drafts, plan, opened, modes, strict=True
    ):
        end = start + timedelta(seconds=length_s)
        ticket.created_at, ticket.updated_at = created, end + timedelta(hours=1)  # resolved then
        sessions.append(
            CoBrowseSession(
                ticket=ticket,
                agent=draft.assignee,  # the ticket was read back without its users
                customer=draft.requester,
                state=SessionState.ENDED,
                mode=mode,
                granted_mode=ControlMode.GUIDED,
                consented_at=start,
                started_at=start,
                last_activity_at=end,
                ended_at=end,
                end_reason=EndReason.AGENT_ENDED,
                initiated_by=Initiator.CUSTOMER
                if initiators.random() < CUSTOMER_INITIATED_ODDS
                else Initiator.AGENT,
            )
        )
    Ticket.objects.bulk_update(tickets, ["created_at", "updated_at"], batch_size=500)
    CoBrowseSession.objects.bulk_create(sessions, batch_size=500)
    outcomes, dropped = _seed_outcomes_and_signals(rng, sessions)
    seed_quality(quality_rng, sessions, dropped)
    seed_contact_history(contact_rng, sessions, outcomes, agents, customers)
    rollup.rebuild()  # written in bulk, past the write hooks: the manager pages' facts from scratch
    friction.rebuild()
    queue_counts.rebuild()  # the same for the queue's counters (tickets.counts)
    return len(sessions)


def _seed_outcomes_and_signals(
    rng: random.Random, sessions: list[CoBrowseSession]
) -> tuple[dict[int, str], set[int]]:
    """Returns each session's outcome and the sessions whose page dropped off the network."""
    outcomes, answers, signals, drops = [], [], [], []
    for session in sessions:
        roll = rng.random()
        outcome = Outcome.RESOLVED if roll < 0.66 else Outcome.FOLLOW_UP if roll < 0.9 else Outcome.ESCALATED
        outcomes.append(
            SessionOutcome(
                session=session,
                outcome=outcome,
                summary="Seeded history.",
                recorded_by=session.agent,
                next_step="Call back" if outcome == Outcome.FOLLOW_UP else "",
                follow_up_owner=session.agent if outcome == Outcome.FOLLOW_UP else None,
                escalated_to="L2" if outcome == Outcome.ESCALATED else "",
            )
        )
        if rng.random() < 0.42:
            good = outcome == Outcome.RESOLVED
            stars = rng.choices([5, 4, 3, 2, 1], weights=[6, 3, 1, 0.5, 0.3] if good else [1, 2, 3, 2, 1])[0]
            answers.append(SurveyResponse(session=session, stars=stars))
        for name, odds in FIELDS.items():
            if rng.random() < odds + 0.15:
                signals.append(PageSignal(session=session, kind="stall", page_url=PAGE, field=name))
            if rng.random() < odds * 0.8:
                signals.append(
                    PageSignal(session=session, kind="validation_error", page_url=PAGE, field=name)
                )
            if rng.random() < odds:
                signals.append(PageSignal(session=session, kind="intervention", page_url=PAGE, field=name))
        if rng.random() < 0.08:
            signals.append(PageSignal(session=session, kind="exit_intent", page_url=PAGE))
        if rng.random() < 0.035:
            drops.append(Disconnect(session=session, code=1006, cause="network"))
    SessionOutcome.objects.bulk_create(outcomes, batch_size=500)
    # Only resolved sessions leave their ticket resolved; the others wait for the next step.
    unresolved = {o.session.ticket_id: o.outcome for o in outcomes if o.outcome != Outcome.RESOLVED}
    Ticket.objects.filter(pk__in=[k for k, v in unresolved.items() if v == Outcome.FOLLOW_UP]).update(
        status=Status.PENDING, resolved_at=None, closed_at=None
    )
    Ticket.objects.filter(pk__in=[k for k, v in unresolved.items() if v == Outcome.ESCALATED]).update(
        status=Status.OPEN, resolved_at=None, closed_at=None, escalation_level="L2", assignee=None
    )
    SurveyResponse.objects.bulk_create(answers, batch_size=500)
    PageSignal.objects.bulk_create(signals, batch_size=1000)
    Disconnect.objects.bulk_create(drops, batch_size=500)
    # Timestamps the bulk writes set to now: move each to its session's time.
    when = {s.pk: s.started_at or timezone.now() for s in sessions}
    for outcome_row in outcomes:
        outcome_row.recorded_at = when[outcome_row.session_id] + timedelta(minutes=30)
    SessionOutcome.objects.bulk_update(outcomes, ["recorded_at"], batch_size=500)
    for answer in answers:
        answer.created_at = when[answer.session_id] + timedelta(minutes=30)
    SurveyResponse.objects.bulk_update(answers, ["created_at"], batch_size=500)
    for signal_rows in (signals, drops):
        for row in signal_rows:
            row.created_at = when[row.session_id] + timedelta(seconds=rng.randint(30, 600))
    PageSignal.objects.bulk_update(signals, ["created_at"], batch_size=1000)
    Disconnect.objects.bulk_update(drops, ["created_at"], batch_size=500)
    return {o.session_id: o.outcome for o in outcomes}, {d.session_id for d in drops}
