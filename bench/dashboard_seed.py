"""Seed years of co-browse history for the manager pages' benchmark with PostgreSQL COPY.

Used by ``bench/dashboard.py`` (and its small-scale test); expects Django to be set up on a
PostgreSQL database. The small tables (users, accounts, certifications) go through the ORM; the big
ones are planned in memory and streamed with ``COPY ... FROM STDIN`` (psycopg ``cursor.copy``), ids
included, so rows can point at each other without reading anything back.

Every big table is one :class:`Table` in :data:`TABLES`: a model, its columns and a function that
yields its rows from the :class:`World` (the planned sessions and the people). A new table is one more
function and one more entry. Foreign keys are not checked while loading (``session_replication_role
= replica``): the plan is consistent by construction, and the test checks it.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AgentLevel, Certification, CustomerAccount, Role, User
from analytics.models import Disconnect, PageSignal, SessionQuality
from bench.seeding import CATEGORIES, DAY, Table, Weighted, copy_rows
from cobrowse.models import CoBrowseSession, ControlMode, EndReason, Initiator, SessionState
from outcomes.models import Outcome, SessionOutcome, SurveyResponse
from tickets.models import (
    Channel,
    SatisfactionAnswer,
    Status,
    Ticket,
    TicketComment,
    TicketCounter,
)

PREFIX = "bench-"  # usernames and account names of seeded people


@dataclass(frozen=True)
class Spec:
    """How much history, and its shape (defaults: the issue's 1M sessions)."""

    sessions: int = 1_000_000
    days: int = 730  # two years ending now; three times denser at the end than at the start
    agents: int = 60
    accounts: int = 300
    customers_per_account: int = 3
    sessions_per_ticket: float = 2.5  # ~400,000 tickets for 1M sessions
    survey_share: float = 0.35
    signals_per_session: float = 3.0
    disconnect_share: float = 0.05
    plain_per_session: float = 0.3  # resolved tickets without co-browse: ~300,000 for 1M sessions
    plain_follow_up_share: float = 0.5  # of those, the requester wrote again after the first reply
    cobrowse_follow_up_share: float = 0.25  # of co-browse tickets, the requester wrote after a session
    ticket_survey_share: float = 0.3  # of tickets without co-browse, answered the ticket survey
    seed: int = 20261210


CHANNELS = Weighted([(Channel.WEB, 4), (Channel.CHAT, 3), (Channel.PHONE, 2), (Channel.EMAIL, 2)])
MODES = Weighted(
    [
        (ControlMode.VIEW_ONLY, 30),
        (ControlMode.GUIDED, 45),
        (ControlMode.CONTROLLED, 20),
        (ControlMode.FULL, 5),
    ]
)
#: How a session ends. Denied and expired sessions never connected: no start, no outcome, no signals.
ENDINGS = Weighted(
    [
        ((SessionState.ENDED, EndReason.AGENT_ENDED), 88),
        ((SessionState.TIMED_OUT, EndReason.INACTIVITY), 4),
        ((SessionState.REVOKED, EndReason.CUSTOMER_REVOKED), 3),
        ((SessionState.DENIED, EndReason.CUSTOMER_DENIED), 3),
        ((SessionState.EXPIRED, EndReason.INVITE_EXPIRED), 2),
    ]
)
OUTCOME_SHARE = 0.93  # of the sessions that connected, those whose agent recorded an outcome
OUTCOMES = Weighted([(Outcome.RESOLVED, 66), (Outcome.FOLLOW_UP, 24), (Outcome.ESCALATED, 10)])
STARS = {
    Outcome.RESOLVED: Weighted([(5, 6), (4, 3), (3, 1), (2, 0.5), (1, 0.3)]),
    Outcome.FOLLOW_UP: Weighted([(5, 1), (4, 2), (3, 3), (2, 2), (1, 1)]),
    Outcome.ESCALATED: Weighted([(5, 0.5), (4, 1), (3, 2), (2, 3), (1, 2)]),
}
#: Signal kinds; the page-level ones carry no field.
KINDS = Weighted(
    [
        ("stall", 30),
        ("validation_error", 25),
        ("intervention", 20),
        ("rage_click", 8),
        ("idle", 7),
        ("exit_intent", 5),
        ("scroll_thrash", 5),
    ]
)
PAGE_LEVEL = frozenset({"idle", "exit_intent", "scroll_thrash"})
DROPS = Weighted([((1006, "network"), 70), ((1001, "page_left"), 20), ((1011, "server_error"), 5),
                  ((1012, "server_restart"), 5)])  # fmt: skip
SITES = ("loans", "cards", "savings", "insure", "billing", "onboard", "portal", "claims")
STEPS = ("start", "details", "income", "documents", "review")
FIELD_POOL = (
    "iban",
    "employer",
    "income",
    "postcode",
    "date_of_birth",
    "email",
    "phone",
    "address_line_1",
    "city",
    "amount",
    "term",
    "card_number",
    "policy_number",
    "upload",
    "tax_id",
    "company",
)
#: The Poisson odds of a session reporting k signals, for ``Spec.signals_per_session``.
MAX_SIGNALS = 12


class Planned(NamedTuple):
    """One session of the plan: enough for every table that hangs off a session."""

    id: int
    ticket_id: int
    agent_id: int
    customer_id: int
    state: str
    end_reason: str
    mode: str
    invited_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str  # "" when none was recorded


class PlainTicket(NamedTuple):
    """A ticket resolved by replies alone: opened, answered, maybe followed up, resolved."""

    id: int
    requester_id: int
    account_id: int
    agent_id: int
    category: str
    channel: str
    created_at: datetime
    replied_at: datetime  # the agent's first public reply: the ticket's contact
    follow_ups: tuple[datetime, ...]  # the requester's messages after that reply
    resolved_at: datetime


@dataclass
class World:
    """The people and the planned sessions every :class:`Table` draws its rows from."""

    spec: Spec
    rng: random.Random
    now: datetime
    manager_id: int
    agent_ids: list[int]
    customers: list[tuple[int, int]]  # (user id, account id)
    pages: list[tuple[str, list[tuple[str, float]]]]  # (page address, [(field, weight)])
    sessions: list[Planned] = field(default_factory=list)
    #: requester, account, agent, category, channel
    tickets: list[tuple[int, int, int, str, str]] = field(default_factory=list)
    #: when each co-browse ticket was opened (index: ticket id - 1), filled by :func:`ticket_rows`
    opened: list[datetime] = field(default_factory=list)
    plain: list[PlainTicket] = field(default_factory=list)


# --- the people (ORM; a few hundred rows) -------------------------------------------------------------


def _people(spec: Spec, rng: random.Random) -> tuple[int, list[int], list[tuple[int, int]]]:
    manager = User.objects.create(
        username=f"{PREFIX}manager",
        role=Role.MANAGER,
        first_name="Bench",
        last_name="Manager",
        email="bench-manager@example.com",
        password="!unusable",
    )
    levels = Weighted([(AgentLevel.L1, 1), (AgentLevel.L2, 1.2), (AgentLevel.L3, 0.8)])
    agents = []
    for i in range(spec.agents):
        level = levels.pick(rng)
        certified = level != AgentLevel.L1 or rng.random() < 0.6
        agents.append(
            User(
                username=f"{PREFIX}agent-{i:03d}",
                role=Role.AGENT,
                agent_level=level,
                first_name=f"Agent{i:03d}",
                last_name="Bench",
                email=f"bench-agent-{i:03d}@example.com",
                password="!unusable",
                cobrowse_certified_at=timezone.now() - timedelta(days=400)
                if level == AgentLevel.L1 and certified
                else None,
            )
        )
    agents = User.objects.bulk_create(agents)
    Certification.objects.bulk_create(
        Certification(agent=a, certified_on=date.today() - timedelta(days=400), certified_by=manager)
        for a in agents
        if a.cobrowse_certified_at is not None
    )
    accounts = CustomerAccount.objects.bulk_create(
        CustomerAccount(
            name=f"{PREFIX}account-{i:04d}", site_url=f"https://{SITES[i % len(SITES)]}.example.com/"
        )
        for i in range(spec.accounts)
    )
    customers = User.objects.bulk_create(
        User(
            username=f"{PREFIX}customer-{a.pk}-{j}",
            role=Role.CUSTOMER,
            account=a,
            email=f"bench-customer-{a.pk}-{j}@example.com",
            password="!unusable",
        )
        for a in accounts
        for j in range(spec.customers_per_account)
    )
    return manager.pk, [a.pk for a in agents], [(c.pk, c.account_id or 0) for c in customers]


def _pages(rng: random.Random) -> list[tuple[str, list[tuple[str, float]]]]:
    """40 pages (8 sites x 5 steps), each with 3-6 fields, a few of them much harder than the rest."""
    pages = []
    for site in SITES:
        for step in STEPS:
            fields = rng.sample(FIELD_POOL, rng.randint(3, 6))
            pages.append(
                (f"https://{site}.example.com/apply/{step}", [(f, rng.paretovariate(1.5)) for f in fields])
            )
    return pages


# --- the plan ---------------------------------------------------------------------------------------


def _starts(spec: Spec, rng: random.Random, now: datetime, n: int) -> list[datetime]:
    """``n`` start times over ``spec.days`` with density 1 + 2t (t from 0 at the start to 1 now): the
    desk grew threefold. Working hours on weekdays mostly; weekends a third as busy."""
    first = now - timedelta(days=spec.days)
    out = []
    while len(out) < n:
        u = rng.random()
        t = (-1 + math.sqrt(1 + 8 * u)) / 2  # inverse of the CDF (t + t^2) / 2
        day = first + timedelta(days=math.floor(t * spec.days))
        if day.weekday() >= 5 and rng.random() < 0.67:
            continue
        seconds = rng.gauss(13 * 3600, 2.6 * 3600)
        at = day.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            seconds=min(max(seconds, 0), DAY - 1)
        )
        if at < now - timedelta(minutes=50):
            out.append(at)
    out.sort()
    return out


def plan(world: World) -> None:
    """Tickets, then sessions in time order: a ticket's sessions are consecutive (same customer,
    usually the same agent)."""
    spec, rng = world.spec, world.rng
    busy = Weighted([(a, rng.lognormvariate(0, 0.5)) for a in world.agent_ids])
    loyal = Weighted([(c, rng.paretovariate(1.2)) for c in world.customers])
    n_tickets = max(1, round(spec.sessions / spec.sessions_per_ticket))
    world.tickets = [
        (*loyal.pick(rng), busy.pick(rng), CATEGORIES.pick(rng), CHANNELS.pick(rng)) for _ in range(n_tickets)
    ]
    starts = _starts(spec, rng, world.now, spec.sessions)
    sessions = []
    for i, invited in enumerate(starts):
        ticket = i * n_tickets // spec.sessions
        requester, _account, assignee, _category, _channel = world.tickets[ticket]
        state, reason = ENDINGS.pick(rng)
        started = ended = None
        outcome = ""
        if state not in (SessionState.DENIED, SessionState.EXPIRED):
            started = invited + timedelta(seconds=rng.randint(20, 300))
            length = min(max(rng.lognormvariate(6.3, 0.6), 90), 45 * 60)
            ended = started + timedelta(seconds=length)
            if rng.random() < OUTCOME_SHARE:
                outcome = OUTCOMES.pick(rng)
        elif state == SessionState.DENIED:
            ended = invited + timedelta(seconds=rng.randint(10, 120))
        agent = assignee if rng.random() < 0.85 else busy.pick(rng)
        sessions.append(
            Planned(
                i + 1,
                ticket + 1,
                agent,
                requester,
                state,
                reason,
                MODES.pick(rng),
                invited,
                started,
                ended,
                outcome,
            )
        )
    world.sessions = sessions
    world.plain = _plain_tickets(world, busy, loyal, n_tickets)


def _plain_tickets(world: World, busy: Weighted, loyal: Weighted, after: int) -> list[PlainTicket]:
    """Resolved tickets without co-browse, numbered after the co-browse ones, over the same years:
    a first reply within hours, for ``plain_follow_up_share`` one or two requester messages after
    it, then the resolution."""
    spec, rng = world.spec, world.rng
    out = []
    for i, opened in enumerate(_starts(spec, rng, world.now, round(spec.sessions * spec.plain_per_session))):
        requester, account = loyal.pick(rng)
        replied = opened + timedelta(minutes=min(rng.lognormvariate(4.5, 1.0), 72 * 60))
        follow_ups: list[datetime] = []
        if rng.random() < spec.plain_follow_up_share:
            at = replied
            for _ in range(rng.randint(1, 2)):
                at += timedelta(minutes=rng.uniform(10, 24 * 60))
                follow_ups.append(at)
        resolved = (follow_ups[-1] if follow_ups else replied) + timedelta(hours=rng.uniform(0.1, 30))
        out.append(
            PlainTicket(
                after + i + 1,
                requester,
                account,
                busy.pick(rng),
                CATEGORIES.pick(rng),
                CHANNELS.pick(rng),
                opened,
                replied,
                tuple(follow_ups),
                resolved,
            )
        )
    return out


# --- the tables ---------------------------------------------------------------------------------------


def ticket_rows(world: World) -> Iterator[Sequence[Any]]:
    rng = world.rng
    for ticket_id, group in itertools.groupby(world.sessions, key=lambda s: s.ticket_id):
        runs = list(group)
        requester, account, assignee, category, channel = world.tickets[ticket_id - 1]
        first, last = runs[0], runs[-1]
        created = first.invited_at - timedelta(minutes=rng.randint(5, 240))
        world.opened.append(created)
        finished = last.ended_at or last.invited_at
        resolved = closed = None
        status = Status.PENDING if last.outcome == Outcome.FOLLOW_UP else Status.OPEN
        escalation = "L2" if last.outcome == Outcome.ESCALATED else "L1"
        if last.outcome == Outcome.RESOLVED or (not last.outcome and rng.random() < 0.5):
            resolved = finished + timedelta(hours=rng.uniform(0.1, 30))
            status = Status.CLOSED if resolved < world.now - timedelta(days=3) else Status.RESOLVED
            closed = resolved if status == Status.CLOSED else None
        updated = resolved or finished
        yield (
            ticket_id,
            100_000 + ticket_id,
            f"Seeded {category.replace('_', ' ')} request",
            "[bench] A co-browse session from seeded history.",
            status,
            "normal",
            category,
            channel,
            created,
            updated,
            first.invited_at,
            resolved,
            closed,
            None,
            account,
            assignee,
            requester,
            escalation,
            None,
        )
    for t in world.plain:
        status = Status.CLOSED if t.resolved_at < world.now - timedelta(days=3) else Status.RESOLVED
        yield (
            t.id,
            100_000 + t.id,
            f"Seeded {t.category.replace('_', ' ')} request",
            "[bench] A request answered by replies alone.",
            status,
            "normal",
            t.category,
            t.channel,
            t.created_at,
            t.resolved_at,
            t.replied_at,
            t.resolved_at,
            t.resolved_at if status == Status.CLOSED else None,
            None,
            t.account_id,
            t.agent_id,
            t.requester_id,
            "L1",
            None,
        )


def session_rows(world: World) -> Iterator[Sequence[Any]]:
    rng = world.rng
    for s in world.sessions:
        granted = "" if s.started_at is None else (s.mode if rng.random() < 0.8 else ControlMode.FULL)
        yield (
            s.id,
            "dom",
            s.state,
            s.mode,
            granted,
            rng.random() < 0.2,
            "",
            s.end_reason,
            s.invited_at,
            s.invited_at + timedelta(minutes=30),
            s.started_at,
            s.started_at,
            s.ended_at,
            s.started_at + timedelta(hours=1) if s.started_at else None,
            s.ended_at,
            s.agent_id,
            s.customer_id,
            s.agent_id if s.state == SessionState.ENDED else None,
            s.ticket_id,
            Initiator.CUSTOMER if rng.random() < 0.2 else Initiator.AGENT,
        )


def outcome_rows(world: World) -> Iterator[Sequence[Any]]:
    rng = world.rng
    ids = itertools.count(1)
    for s in world.sessions:
        if not s.outcome:
            continue
        assert s.ended_at is not None
        follow = s.outcome == Outcome.FOLLOW_UP
        yield (
            next(ids),
            s.outcome,
            "Call back" if follow else "",
            "L2" if s.outcome == Outcome.ESCALATED else "",
            "",
            "Seeded outcome.",
            s.ended_at + timedelta(minutes=rng.randint(1, 90)),
            None,
            s.agent_id if follow else None,
            s.agent_id,
            s.id,
            None,
        )


def survey_rows(world: World) -> Iterator[Sequence[Any]]:
    rng = world.rng
    answered = sum(1 for s in world.sessions if s.outcome)
    odds = world.spec.survey_share * len(world.sessions) / answered if answered else 0
    ids = itertools.count(1)
    for s in world.sessions:
        if s.outcome and rng.random() < odds:
            assert s.ended_at is not None
            at = s.ended_at + timedelta(minutes=rng.randint(2, 600))
            yield next(ids), STARS[s.outcome].pick(rng), "", at, s.id


def signal_rows(world: World) -> Iterator[Sequence[Any]]:
    """~``signals_per_session`` signals per session that connected, on one page (or two), the
    hard fields of a page drawing most of them."""
    rng, spec = world.rng, world.spec
    connected = sum(1 for s in world.sessions if s.started_at)
    mean = spec.signals_per_session * len(world.sessions) / connected if connected else 0
    counts = Weighted([(k, math.exp(-mean) * mean**k / math.factorial(k)) for k in range(MAX_SIGNALS + 1)])
    popular = Weighted([(i, 1 / (i + 1) ** 0.8) for i in range(len(world.pages))])
    fields = [Weighted(f) for _, f in world.pages]
    ids = itertools.count(1)
    for s in world.sessions:
        if s.started_at is None or s.ended_at is None:
            continue
        n = counts.pick(rng)
        if not n:
            continue
        span = (s.ended_at - s.started_at).total_seconds()
        visited = [popular.pick(rng) for _ in range(1 if rng.random() < 0.7 else 2)]
        for _ in range(n):
            page = visited[0] if len(visited) == 1 or rng.random() < 0.6 else visited[1]
            kind = KINDS.pick(rng)
            name = "" if kind in PAGE_LEVEL else fields[page].pick(rng)
            at = s.started_at + timedelta(seconds=rng.random() * span)
            yield next(ids), kind, world.pages[page][0], name, "", at, s.id


def disconnect_rows(world: World) -> Iterator[Sequence[Any]]:
    rng = world.rng
    connected = sum(1 for s in world.sessions if s.started_at)
    odds = world.spec.disconnect_share * len(world.sessions) / connected if connected else 0
    ids = itertools.count(1)
    for s in world.sessions:
        if s.started_at and s.ended_at and rng.random() < odds:
            code, cause = DROPS.pick(rng)
            at = s.started_at + timedelta(seconds=rng.random() * (s.ended_at - s.started_at).total_seconds())
            yield next(ids), code, cause, at, s.id


def comment_rows(world: World) -> Iterator[Sequence[Any]]:
    """Public replies: every ticket opens with the requester's message; a co-browse ticket sometimes
    gets an agent's reply before its first invite and, for ``cobrowse_follow_up_share``, one or two
    requester messages after its last session; a ticket without co-browse gets the agent's first
    reply and its planned follow-ups."""
    rng, spec = world.rng, world.spec
    ids = itertools.count(1)
    for ticket_id, group in itertools.groupby(world.sessions, key=lambda s: s.ticket_id):
        runs = list(group)
        requester, _account, assignee, _category, _channel = world.tickets[ticket_id - 1]
        opened = world.opened[ticket_id - 1]
        yield next(ids), ticket_id, requester, "[bench] Opening message.", False, opened
        if rng.random() < 0.3:
            at = opened + (runs[0].invited_at - opened) * rng.random()
            yield next(ids), ticket_id, assignee, "[bench] Reply before the invite.", False, at
        ends = [s.ended_at for s in runs if s.started_at and s.ended_at]
        if ends and rng.random() < spec.cobrowse_follow_up_share:
            at = max(ends)
            for _ in range(rng.randint(1, 2)):
                at += timedelta(minutes=rng.uniform(5, 24 * 60))
                yield next(ids), ticket_id, requester, "[bench] Follow-up message.", False, at
    for t in world.plain:
        yield next(ids), t.id, t.requester_id, "[bench] Opening message.", False, t.created_at
        yield next(ids), t.id, t.agent_id, "[bench] First reply.", False, t.replied_at
        for at in t.follow_ups:
            yield next(ids), t.id, t.requester_id, "[bench] Follow-up message.", False, at


#: Stars of the ticket survey, by whether the requester had to write again.
TICKET_STARS = {
    False: Weighted([(5, 5), (4, 3), (3, 1.2), (2, 0.5), (1, 0.3)]),
    True: Weighted([(5, 1.5), (4, 2.5), (3, 2.5), (2, 1.5), (1, 1)]),
}


def satisfaction_rows(world: World) -> Iterator[Sequence[Any]]:
    """The ticket survey's answers, for ``ticket_survey_share`` of the tickets without co-browse."""
    rng = world.rng
    ids = itertools.count(1)
    for t in world.plain:
        if rng.random() < world.spec.ticket_survey_share:
            at = t.resolved_at + timedelta(minutes=rng.randint(2, 600))
            yield next(ids), t.id, TICKET_STARS[bool(t.follow_ups)].pick(rng), "", at


#: Network profiles of a session: the round-trip histogram's shape (weights per bucket of
#: ``RTT_BOUNDS_MS`` and over) and the profile's share. Most sessions are on good networks.
PROFILES = Weighted(
    [
        ((30, 40, 20, 7, 2, 0.7, 0.2, 0.1), 70),  # office or home broadband
        ((3, 12, 35, 30, 14, 4, 1.5, 0.5), 22),  # mobile or a distant region
        ((0, 2, 8, 20, 30, 22, 12, 6), 8),  # a poor link
    ]
)
#: Seconds between the relay's heartbeats.
HEARTBEAT_S = 5
BUCKET_TOPS = (*(25, 50, 100, 200, 400, 800, 1600), 3000)


def quality_rows(world: World) -> Iterator[Sequence[Any]]:
    """One row per session that started: heartbeats every few seconds of the connected time, spread
    over the histogram by the session's network profile; good <= 200 ms, fair <= 600 ms, poor above
    (``live.consumers.customer``), so the histogram adds up to good + fair + poor."""
    rng = world.rng
    for s in world.sessions:
        if s.started_at is None or s.ended_at is None:
            continue
        weights = PROFILES.pick(rng)
        drops = 1 if rng.random() < 0.9 else rng.randint(2, 4)
        seconds = (s.ended_at - s.started_at).total_seconds() * rng.uniform(0.9, 1.0)
        beats = max(1, int(seconds / HEARTBEAT_S))
        total = sum(weights)
        buckets = [int(beats * w / total * rng.uniform(0.7, 1.3)) for w in weights]
        buckets[weights.index(max(weights))] += max(0, beats - sum(buckets))
        top = max(i for i, n in enumerate(buckets) if n)
        low = 0 if top == 0 else BUCKET_TOPS[top - 1] + 1
        rtt_max = rng.randint(low, BUCKET_TOPS[top])
        between = buckets[5]  # 401-800 ms: fair up to 600, poor above
        fair_part = round(between * rng.uniform(0.4, 0.6))
        good = sum(buckets[:4])
        fair = buckets[4] + fair_part
        poor = between - fair_part + buckets[6] + buckets[7]
        gaps = 0 if rng.random() < 0.85 else rng.randint(1, 3 + 3 * (weights[0] == 0))
        lost = sum(rng.randint(1, 40) for _ in range(gaps))
        resyncs = gaps + (1 if rng.random() < 0.05 else 0)
        yield (
            s.id, drops, round(seconds, 1), *buckets, rtt_max, good, fair, poor, gaps, lost, resyncs,
            s.ended_at,
        )  # fmt: skip


TICKET_COLUMNS = (
    "id",
    "number",
    "subject",
    "description",
    "status",
    "priority",
    "category",
    "channel",
    "created_at",
    "updated_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "screen_share_requested_at",
    "account_id",
    "assignee_id",
    "requester_id",
    "escalation_level",
    "team_id",
)
SESSION_COLUMNS = (
    "id",
    "kind",
    "state",
    "mode",
    "granted_mode",
    "recording",
    "target_url",
    "end_reason",
    "created_at",
    "invite_expires_at",
    "started_at",
    "consented_at",
    "last_activity_at",
    "deadline_at",
    "ended_at",
    "agent_id",
    "customer_id",
    "ended_by_id",
    "ticket_id",
    "initiated_by",
)

QUALITY_COLUMNS = (
    "session_id", "connections", "connected_seconds", *SessionQuality.RTT_FIELDS, "rtt_max_ms",
    "good", "fair", "poor", "gaps", "lost_events", "resyncs", "updated_at",
)  # fmt: skip

#: Loaded in this order. A per-session table is one more (model, columns, rows) entry.
TABLES: list[Table] = [
    Table(Ticket, TICKET_COLUMNS, ticket_rows),
    Table(CoBrowseSession, SESSION_COLUMNS, session_rows),
    Table(
        SessionOutcome,
        (
            "id",
            "outcome",
            "next_step",
            "escalated_to",
            "note",
            "summary",
            "recorded_at",
            "escalated_team_id",
            "follow_up_owner_id",
            "recorded_by_id",
            "session_id",
            "summary_comment_id",
        ),
        outcome_rows,
    ),
    Table(SurveyResponse, ("id", "stars", "comment", "created_at", "session_id"), survey_rows),
    Table(PageSignal, ("id", "kind", "page_url", "field", "detail", "created_at", "session_id"), signal_rows),
    Table(Disconnect, ("id", "code", "cause", "created_at", "session_id"), disconnect_rows),
    Table(SessionQuality, QUALITY_COLUMNS, quality_rows),
    Table(TicketComment, ("id", "ticket_id", "author_id", "body", "is_internal", "created_at"), comment_rows),
    Table(SatisfactionAnswer, ("id", "ticket_id", "stars", "comment", "created_at"), satisfaction_rows),
]


def seed(spec: Spec, *, report: Callable[[str], None] = lambda _line: None) -> dict[str, int]:
    """Seed ``spec`` into the (empty) database in one transaction; returns the rows per table."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The dashboard bench seeds PostgreSQL (COPY).")
    rng = random.Random(spec.seed)
    counts: dict[str, int] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers while loading
        started = time.perf_counter()
        manager, agents, customers = _people(spec, rng)
        world = World(spec, rng, timezone.now(), manager, agents, customers, _pages(rng))
        plan(world)
        report(f"planned {len(world.sessions):,} sessions in {time.perf_counter() - started:.1f} s")
        for table in TABLES:
            started = time.perf_counter()
            counts[table.model._meta.db_table] = copy_rows(table, world)
            report(f"{table.model._meta.db_table}: {counts[table.model._meta.db_table]:,} rows "
                   f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [t.model for t in TABLES]):
                cursor.execute(sql)
            cursor.execute("SET LOCAL session_replication_role = origin")
        TicketCounter.objects.update_or_create(
            name="ticket", defaults={"last_number": 100_000 + len(world.tickets) + len(world.plain)}
        )
    return counts
