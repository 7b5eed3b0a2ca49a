"""The messages around the seeded sessions, and tickets answered by message alone, for first contact.

``analytics.contact`` compares tickets with and without co-browse: the contact is the end of the
first session or the first public reply from support, and every public message from the customer
after it is a follow-up. Co-browse tickets get the customer's opening message, and follow-ups when
the session did not settle it (one in seven resolved sessions, every follow-up or escalation; most
follow-ups are then resolved a few hours later). About as many tickets without co-browse, on the
same days, questions, customers and agents, need more rounds: half of them at least one follow-up.
Nothing is dated after now; a ticket whose resolution would be is left pending.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import User
from cobrowse.models import CoBrowseSession
from demo import topics
from outcomes.models import Outcome
from tickets import services as ticket_services
from tickets.models import SatisfactionAnswer, Status, Ticket, TicketComment

RESOLVED_FOLLOW_UP_ODDS = 0.15  # a resolved session's customer writes once more
RESOLVED_LATER_ODDS = 0.6  # a follow-up outcome's ticket is resolved after the call back
WITHOUT_PER_SESSION = 0.8  # tickets without co-browse per co-browse session, day by day
SURVEY_ANSWER_ODDS = 0.35  # requesters who answer the ticket survey
WITHOUT_FOLLOW_UPS = [(0, 50), (1, 28), (2, 14), (3, 8)]  # messages after the first reply
FOLLOW_UPS = [
    "I tried again and it still does not work.",
    "Thanks. One more question about the same screen.",
    "It happened again this morning.",
    "Sorry, I am still stuck on the next step.",
]
REPLIES = [
    "Thanks for the details. Please try again after clearing the form; it should work now.",
    "I have checked your account: the setting is under Profile, then Preferences.",
    "That message means a field above is incomplete. Could you check the highlighted ones?",
    "We have corrected this on our side. Let us know if you still see it.",
]


class _Messages:
    """Comments to write in one go, each with the time it was written (``auto_now_add`` says now)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rows: list[TicketComment] = []
        self.times: list[datetime] = []

    def add(self, ticket: Ticket, author_id: int, body: str, at: datetime) -> bool:
        if at > self.now:
            return False
        self.rows.append(TicketComment(ticket=ticket, author_id=author_id, body=body))
        self.times.append(at)
        return True

    def save(self) -> None:
        TicketComment.objects.bulk_create(self.rows, batch_size=1000)
        for row, at in zip(self.rows, self.times, strict=True):
            row.created_at = at
        TicketComment.objects.bulk_update(self.rows, ["created_at"], batch_size=1000)


def seed_contact_history(
    rng: random.Random,
    sessions: list[CoBrowseSession],
    outcomes: dict[int, str],
    agents: list[User],
    customers: list[User],
) -> None:
    """Messages on the co-browse tickets (``outcomes`` by session id), then tickets without
    co-browse on the same days."""
    messages = _Messages(timezone.now())
    _around_sessions(rng, messages, sessions, outcomes)
    _without_cobrowse(rng, messages, sessions, agents, customers)
    messages.save()


def _around_sessions(
    rng: random.Random, messages: _Messages, sessions: list[CoBrowseSession], outcomes: dict[int, str]
) -> None:
    resolved_later = []
    for session in sessions:
        ticket, end = session.ticket, session.ended_at
        assert end is not None  # seeded sessions all ended
        opened = ticket.created_at + timedelta(minutes=rng.randint(0, 2))
        messages.add(ticket, ticket.requester_id, topics.OPENINGS[ticket.category], opened)
        outcome = outcomes[session.pk]
        if outcome == Outcome.RESOLVED:
            if rng.random() < RESOLVED_FOLLOW_UP_ODDS:  # before the ticket is resolved, an hour on
                at = end + timedelta(minutes=rng.randint(5, 50))
                messages.add(ticket, ticket.requester_id, rng.choice(FOLLOW_UPS), at)
            continue
        at = end
        for _ in range(rng.randint(1, 3)):
            at += timedelta(minutes=rng.randint(60, 20 * 60))
            messages.add(ticket, ticket.requester_id, rng.choice(FOLLOW_UPS), at)
        if outcome == Outcome.FOLLOW_UP and rng.random() < RESOLVED_LATER_ODDS:
            at += timedelta(minutes=rng.randint(30, 24 * 60))
            if messages.add(ticket, session.agent_id, rng.choice(REPLIES), at):
                ticket.status, ticket.resolved_at, ticket.updated_at = Status.RESOLVED, at, at
                resolved_later.append(ticket)
    Ticket.objects.bulk_update(resolved_later, ["status", "resolved_at", "updated_at"], batch_size=500)


def _without_cobrowse(
    rng: random.Random,
    messages: _Messages,
    sessions: list[CoBrowseSession],
    agents: list[User],
    customers: list[User],
) -> None:
    per_day: dict[datetime, int] = {}
    for session in sessions:
        assert session.started_at is not None  # seeded sessions all started
        day = timezone.make_aware(datetime.combine(timezone.localtime(session.started_at).date(), time.min))
        per_day[day] = per_day.get(day, 0) + 1
    opened_at = [
        day + timedelta(minutes=rng.randint(8 * 60, 18 * 60))
        for day, count in sorted(per_day.items())
        for _ in range(round(count * WITHOUT_PER_SESSION))
    ]
    numbers = ticket_services.reserve_numbers(len(opened_at))
    # Everything but the two automatic timestamps is known before the insert: one narrow update.
    tickets, threads = [], []
    for number, opened in zip(numbers, opened_at, strict=True):
        customer, agent = rng.choice(customers), rng.choice(agents)
        category = topics.pick(rng, topics.CATEGORIES)
        at = first_reply = opened + timedelta(minutes=rng.randint(10, 6 * 60))
        thread = [(customer.pk, topics.OPENINGS[category], opened), (agent.pk, rng.choice(REPLIES), at)]
        for _ in range(topics.pick(rng, WITHOUT_FOLLOW_UPS)):
            at += timedelta(minutes=rng.randint(60, 20 * 60))
            thread.append((customer.pk, rng.choice(FOLLOW_UPS), at))
            at += timedelta(minutes=rng.randint(10, 4 * 60))
            thread.append((agent.pk, rng.choice(REPLIES), at))
        resolved = at + timedelta(minutes=30)
        done = resolved <= messages.now  # otherwise still being worked on
        tickets.append(
            Ticket(
                number=number,
                subject=topics.SUBJECTS[category],
                description="[seeded history] A ticket answered by message, without co-browse.",
                requester=customer,
                account=customer.account,
                assignee=agent,
                status=Status.CLOSED if done else Status.PENDING,
                category=category,
                channel=rng.choice(topics.CHANNELS),
                first_response_at=first_reply,
                resolved_at=resolved if done else None,
                closed_at=resolved if done else None,
            )
        )
        threads.append(thread)
    Ticket.objects.bulk_create(tickets, batch_size=500)
    tickets = list(Ticket.objects.filter(number__in=numbers).order_by("number"))
    for ticket, thread in zip(tickets, threads, strict=True):
        ticket.created_at, ticket.updated_at = thread[0][2], ticket.resolved_at or messages.now
        for author_id, body, at in thread:
            messages.add(ticket, author_id, body, at)
    Ticket.objects.bulk_update(tickets, ["created_at", "updated_at"], batch_size=500)
    _ticket_survey(tickets, threads)


def _ticket_survey(tickets: list[Ticket], threads: list[list[tuple[int, str, datetime]]]) -> None:
    """About a third of the requesters answer the survey sent at resolution; a thread that needed
    follow-ups rates lower. Its own generator: the rows above stay what they were."""
    rng = random.Random(20261205)  # noqa: S311 - demo data, not secrets
    answers = []
    for ticket, thread in zip(tickets, threads, strict=True):
        if ticket.resolved_at is None:
            continue
        ticket.satisfaction_requested_at = ticket.resolved_at
        if rng.random() < SURVEY_ANSWER_ODDS:
            smooth = len(thread) <= 2  # the first reply settled it
            weights = [4, 4, 2, 0.5, 0.3] if smooth else [1, 2, 3, 2, 1]
            answers.append(SatisfactionAnswer(ticket=ticket, stars=rng.choices([5, 4, 3, 2, 1], weights)[0]))
    Ticket.objects.bulk_update(tickets, ["satisfaction_requested_at"], batch_size=500)
    SatisfactionAnswer.objects.bulk_create(answers, batch_size=500)
    for answer in answers:
        assert answer.ticket.resolved_at is not None
        answer.created_at = answer.ticket.resolved_at + timedelta(hours=rng.randint(1, 30))
    SatisfactionAnswer.objects.bulk_update(answers, ["created_at"], batch_size=500)
