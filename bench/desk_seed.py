"""Seed two years of a busy help desk for the desk benchmark with PostgreSQL COPY.

Used by ``bench/desk.py`` (and its small-scale test); expects Django to be set up on an empty, migrated
PostgreSQL database. The people and teams (tens of thousands of rows) go through the ORM; tickets,
their comments and their "created" events are planned in memory and streamed with ``COPY ... FROM
STDIN``, ids included, so rows point at each other without reading anything back. Foreign keys (and
any trigger) are not run while loading (``session_replication_role = replica``): the plan is
consistent by construction, and the test checks it. Whatever the write paths keep next to a ticket
(counters, search columns) is therefore not kept here: ``bench/desk.py`` rebuilds it afterwards.

The shape, at the default 1,000,000 tickets: ~200 customer accounts of which a few enterprise ones
with tens of thousands of tickets, ~20,000 requesters of whom one opened 50,000 tickets, 60 agents
(L1-L3) and 3 managers, ~3 % of the tickets still active (new, open, pending: mostly the recent
ones), the rest resolved or closed; ~3 comments a ticket, ~20 % of them internal notes. Texts are
drawn from a vocabulary of a few thousand words with a Zipf spread, so "payment" is common, and a few
marker words are planted where a search needs them (:data:`RARE_WORD`, :data:`COMMENT_WORD`).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AgentLevel, CustomerAccount, Role, User
from bench.seeding import CATEGORIES, DAY, Table, Weighted, copy_rows
from tickets.models import (
    Category,
    Channel,
    EscalationLevel,
    EventKind,
    Priority,
    Status,
    Team,
    Ticket,
    TicketComment,
    TicketCounter,
    TicketEvent,
)

PREFIX = "desk-"  # usernames and account names of seeded people
PASSWORD = "desk-bench"  # only the people the bench signs in as get it (see :func:`_people`)
HOUR = 3_600.0

#: In ~50 descriptions at 1M tickets: a search that matches almost nothing.
RARE_WORD = "kerberos"
#: Only ever written in comments (~0.5 % of them), never in a subject or a description.
COMMENT_WORD = "hotfix"
#: Common support words: "payment" must be a common word, "invoi" a partial one.
COMMON_WORD = "payment"
PARTIAL_WORD = "invoi"


@dataclass(frozen=True)
class Spec:
    """How big the desk is, and its shape (defaults: 1M tickets, ~3M comments)."""

    tickets: int = 1_000_000
    days: int = 730  # two years ending now; three times busier at the end than at the start
    accounts: int = 200
    enterprise_accounts: int = 5  # each holds a fifth of the customers between them
    customers: int = 20_000
    heavy_tickets: int = 50_000  # tickets of the one requester who opens the most
    agents: int = 60
    managers: int = 3
    comments_per_ticket: float = 3.0  # tickets that were answered; new ones have none
    internal_share: float = 0.2
    seed: int = 20261204


CHANNELS = Weighted(
    [(Channel.WEB, 4), (Channel.EMAIL, 3), (Channel.CHAT, 3), (Channel.PHONE, 1.5), (Channel.IN_APP, 1)]
)
PRIORITIES = Weighted([(Priority.LOW, 20), (Priority.NORMAL, 55), (Priority.HIGH, 18), (Priority.URGENT, 7)])
LEVELS = Weighted([(EscalationLevel.L1, 85), (EscalationLevel.L2, 11), (EscalationLevel.L3, 4)])
TEAMS = ("Billing", "Identity & access", "Integrations", "Reporting", "Platform")
#: The words a subject starts with, by category: billing tickets talk about payments.
TOPICS: dict[str, tuple[str, ...]] = {
    Category.ACCOUNT_CONFIGURATION: ("settings", "profile", "permissions", "workspace", "account"),
    Category.INTEGRATION_SETUP: ("webhook", "integration", "api", "sync", "connector"),
    Category.DEBUGGING_ERRORS: ("error", "crash", "timeout", "exception", "failure"),
    Category.PRODUCT_ONBOARDING: ("onboarding", "setup", "tutorial", "import", "trial"),
    Category.SSO_AUTHENTICATION: ("login", "sso", "password", "saml", "2fa"),
    Category.REPORT_CONFIGURATION: ("report", "dashboard", "export", "chart", "filter"),
    Category.BILLING: ("payment", "invoice", "refund", "subscription", "charge"),
    Category.OTHER: ("question", "feedback", "request", "help", "issue"),
}

# --- the vocabulary ---------------------------------------------------------------------------------

#: Most frequent first (Zipf ranks). Support words are spread among the filler so that "payment",
#: "invoice", "login" and "error" land in a few per cent of the tickets, not in all of them.
STOPWORDS = ("the", "to", "i", "a", "and", "is", "it", "we", "not", "my", "on", "for", "with", "in", "of",
             "this", "can", "you", "our", "be", "when", "have", "but", "after", "from", "again")  # fmt: skip
SUPPORT_WORDS = (
    "please", "error", "page", "login", "account", "user", "working", "help", "customer", "payment",
    "problem", "issue", "today", "invoice", "email", "update", "form", "access", "data", "team",
    "report", "screen", "still", "since", "button", "password", "message", "browser", "order", "link",
    "sign", "settings", "card", "charged", "missing", "export", "upload", "file", "shows", "load",
    "loading", "slow", "blank", "subscription", "refund", "invoices", "billing", "plan", "upgrade",
    "renewal", "receipt", "bank", "transfer", "declined", "pending", "checkout", "reset", "locked",
    "session", "expired", "token", "sso", "saml", "directory", "admin", "role", "permission", "invite",
    "onboarding", "import", "csv", "api", "webhook", "integration", "sync", "calendar", "crm",
    "dashboard", "chart", "filter", "widget", "mobile", "app", "android", "iphone", "chrome", "firefox",
    "safari", "edge", "timeout", "crash", "exception", "failure", "stuck", "spinner", "retry", "twice",
    "duplicate", "wrong", "amount", "currency", "tax", "vat", "address", "company", "contract", "quote",
    "discount", "coupon", "trial", "cancel", "cancellation", "downgrade", "seat", "seats", "license",
    "usage", "limit", "quota", "storage", "attachment", "pdf", "download", "print", "notification",
    "alert", "reminder", "schedule", "workflow", "automation", "rule", "field", "custom", "template",
    "language", "translation", "timezone", "date", "format", "number", "phone", "verification", "code",
    "sms", "2fa", "authenticator", "device", "network", "vpn", "firewall", "proxy", "certificate",
    "domain", "dns", "redirect", "url", "cookie", "cache", "clear", "logout", "profile", "avatar",
    "name", "change", "delete", "remove", "restore", "backup", "history", "audit", "log", "logs",
    "records", "search", "results", "sort", "column", "table", "row", "missing", "empty", "zero",
    "negative", "balance", "statement", "overdue", "reminder", "collections", "paid", "unpaid", "credit",
    "debit", "mandate", "iban", "swift", "wire", "paypal", "stripe", "gateway", "processor", "merchant",
    "invoicing", "purchase", "order", "po", "approval", "manager", "approve", "reject", "escalate",
    "urgent", "asap", "blocked", "production", "outage", "down", "incident", "degraded", "latency",
    "performance", "memory", "cpu", "server", "deploy", "release", "version", "bug", "regression",
    "feature", "request", "question", "feedback", "documentation", "guide", "tutorial", "training",
    "webinar", "demo", "call", "meeting", "ticket", "case", "reply", "response", "waiting", "thanks",
)  # fmt: skip
SYLLABLES = ("ka", "lo", "mi", "ra", "ten", "vo", "sil", "dor", "pe", "an", "qui", "zu", "bel", "mar", "ox",
             "tri", "len", "sa", "gor", "ve", "nim", "pa", "tu", "rel")  # fmt: skip


def vocabulary(size: int = 3000) -> list[str]:
    """Stop words, then the support words interleaved with made-up words, ``size`` in all; the words
    planted on purpose (:data:`RARE_WORD`, :data:`COMMENT_WORD`) are never in it."""
    rng = random.Random(7)
    support = list(dict.fromkeys(SUPPORT_WORDS))
    made_up: list[str] = []
    seen = set(STOPWORDS) | set(support) | {RARE_WORD, COMMENT_WORD}
    while len(made_up) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen and PARTIAL_WORD not in word:
            seen.add(word)
            made_up.append(word)
    words = list(STOPWORDS)
    for i, word in enumerate(support):  # one support word in every few ranks: common but not everywhere
        words.append(word)
        words.extend(made_up[i * 3 : i * 3 + 3])
    words.extend(made_up[len(support) * 3 :])
    return words[:size]


class Text:
    """Draws sentences from the vocabulary with a Zipf spread (rank r has weight 1 / r)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary()
        self.cumulative = list(itertools.accumulate(1 / (r + 1) for r in range(len(self.words))))

    def pick_words(self, n: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=n)

    def sentence(self, low: int, high: int, *, lead: str = "") -> str:
        words = self.pick_words(self.rng.randint(low, high))
        if lead:
            words.insert(self.rng.randint(0, min(2, len(words))), lead)
        return " ".join(words).capitalize() + "."


# --- the plan ---------------------------------------------------------------------------------------


class Planned(NamedTuple):
    """One ticket of the plan (times are Unix seconds): enough for its comments and its event."""

    requester: int
    account: int
    assignee: int | None
    status: str
    level: str
    category: str
    priority: str
    channel: str
    created: float
    first_response: float | None
    resolved: float | None
    closed: float | None
    comments: tuple[float, ...]  # when each comment was written; the first is the agent's reply


@dataclass
class World:
    spec: Spec
    rng: random.Random
    now: float
    text: Text
    agents: dict[str, list[int]]  # by level
    managers: list[int]
    customers: list[tuple[int, int]]  # (user id, account id)
    heavy: int  # user id of the requester with the most tickets
    teams: list[int]
    tickets: list[Planned] = field(default_factory=list)


def _people(spec: Spec, rng: random.Random) -> tuple[dict[str, list[int]], list[int], list[tuple[int, int]]]:
    """Agents by level, managers, and customers spread over accounts (a few enterprise accounts hold a
    fifth of them). The first agent of each level, the first manager and the first customer (the heavy
    requester) can sign in with :data:`PASSWORD`; everybody else has an unusable password."""
    usable = make_password(PASSWORD)
    levels = (
        [AgentLevel.L1] * (spec.agents // 2)
        + [AgentLevel.L2] * (spec.agents // 3)
        + [AgentLevel.L3] * (spec.agents - spec.agents // 2 - spec.agents // 3)
    )
    staff = [
        User(
            username=f"{PREFIX}agent-{i:03d}",
            role=Role.AGENT,
            agent_level=level,
            first_name=f"Agent{i:03d}",
            last_name="Desk",
            email=f"{PREFIX}agent-{i:03d}@example.com",
            password=usable if i == 0 or level != levels[i - 1] else "!unusable",
            cobrowse_certified_at=timezone.now() - timedelta(days=400),
        )
        for i, level in enumerate(levels)
    ]
    staff += [
        User(
            username=f"{PREFIX}manager-{i}",
            role=Role.MANAGER,
            first_name=f"Manager{i}",
            last_name="Desk",
            email=f"{PREFIX}manager-{i}@example.com",
            password=usable if i == 0 else "!unusable",
        )
        for i in range(spec.managers)
    ]
    staff = User.objects.bulk_create(staff)
    agents: dict[str, list[int]] = {}
    for user in staff:
        if user.role == Role.AGENT:
            agents.setdefault(user.agent_level, []).append(user.pk)
    managers = [u.pk for u in staff if u.role == Role.MANAGER]
    sites = ("app", "portal", "shop", "billing", "console")
    accounts = CustomerAccount.objects.bulk_create(
        CustomerAccount(
            name=f"{PREFIX}{'enterprise' if i < spec.enterprise_accounts else 'account'}-{i:04d}",
            site_url=f"https://{sites[i % len(sites)]}.example.com/",
        )
        for i in range(spec.accounts)
    )
    small = len(accounts) - spec.enterprise_accounts
    share = 0.2  # of the customers, in the enterprise accounts (the mean small weight is e^0.18)
    enterprise_weight = share / (1 - share) * small * math.exp(0.18) / max(1, spec.enterprise_accounts)
    spread = Weighted(
        [(a.pk, enterprise_weight if i < spec.enterprise_accounts else rng.lognormvariate(0, 0.6))
         for i, a in enumerate(accounts)]
    )  # fmt: skip
    customers = User.objects.bulk_create(
        (
            User(
                username=f"{PREFIX}customer-{j:05d}",
                role=Role.CUSTOMER,
                account_id=accounts[0].pk if j == 0 else spread.pick(rng),
                first_name=f"Customer{j:05d}",
                last_name="Desk",
                email=f"{PREFIX}customer-{j:05d}@example.com",
                password=usable if j == 0 else "!unusable",
            )
            for j in range(spec.customers)
        ),
        batch_size=2000,
    )
    return agents, managers, [(c.pk, c.account_id or 0) for c in customers]


def _created_times(spec: Spec, rng: random.Random, now: float) -> list[float]:
    """``spec.tickets`` opening times over ``spec.days`` with density 1 + 2t (t from 0 two years ago to
    1 now: the desk grew threefold); working hours on weekdays mostly, weekends a third as busy."""
    first = now - spec.days * DAY
    first_midnight = first - first % DAY
    out: list[float] = []
    span = spec.days + 1  # the partial days at both ends
    while len(out) < spec.tickets:
        t = (-1 + math.sqrt(1 + 8 * rng.random())) / 2  # inverse of the CDF (t + t^2) / 2
        day = first_midnight + math.floor(t * span) * DAY
        if datetime.fromtimestamp(day, UTC).weekday() >= 5 and rng.random() < 0.67:
            continue
        at = day + min(max(rng.gauss(13 * HOUR, 2.8 * HOUR), 0), DAY - 1)
        if first <= at < now - 60:
            out.append(at)
    out.sort()
    return out


def _active_odds(age_days: float) -> float:
    """Recent tickets are still being worked; a few old ones were forgotten in pending or open."""
    if age_days < 2:
        return 0.9
    if age_days < 7:
        return 0.5
    if age_days < 30:
        return 0.3
    return 0.007


def plan(world: World) -> None:
    """Tickets in time order (their number follows): requester, state, people and times, and the
    times of their comments."""
    spec, rng, now = world.spec, world.rng, world.now
    times = _created_times(spec, rng, now)
    heavy_share = min(spec.heavy_tickets, spec.tickets // 5)
    heavy_at = set(rng.sample(range(spec.tickets), heavy_share))
    loyal = Weighted([(c, rng.lognormvariate(0, 1.0)) for c in world.customers if c[0] != world.heavy])
    heavy = next(c for c in world.customers if c[0] == world.heavy)
    workers = {
        EscalationLevel.L1: Weighted([(a, rng.lognormvariate(0, 0.4)) for a in world.agents[AgentLevel.L1]
                                      + world.agents[AgentLevel.L2]]),
        EscalationLevel.L2: Weighted([(a, rng.lognormvariate(0, 0.4)) for a in world.agents[AgentLevel.L2]
                                      + world.agents[AgentLevel.L3]]),
        EscalationLevel.L3: Weighted([(a, 1.0) for a in world.agents[AgentLevel.L3]]),
    }  # fmt: skip
    # Comments after the first reply: geometric, so that a ticket has comments_per_ticket on average
    # and a few have dozens.
    log_keep = math.log(1 - 1 / spec.comments_per_ticket)
    tickets = []
    for i, created in enumerate(times):
        requester, account = heavy if i in heavy_at else loyal.pick(rng)
        age = (now - created) / DAY
        level = LEVELS.pick(rng)
        first_response = resolved = closed = None
        if rng.random() < _active_odds(age):
            fresh = age < 2
            roll = rng.random()
            status = (
                (Status.NEW if roll < 0.5 else Status.OPEN if roll < 0.85 else Status.PENDING)
                if fresh
                else (Status.NEW if roll < 0.1 else Status.OPEN if roll < 0.55 else Status.PENDING)
            )
        else:
            status = Status.RESOLVED  # closed below when it has been resolved for a week
        assignee: int | None = workers[level].pick(rng)
        if status == Status.NEW:
            if rng.random() < 0.8:
                assignee = None
            comments: tuple[float, ...] = ()
        else:
            if status == Status.OPEN and rng.random() < 0.15:
                assignee = None  # handed back to the queue
            first_response = created + min(rng.lognormvariate(math.log(2 * HOUR), 1.2), 3 * DAY)
            first_response = min(first_response, now - 30)
            if status == Status.RESOLVED:
                resolved = first_response + min(rng.lognormvariate(math.log(20 * HOUR), 1.1), 40 * DAY)
                resolved = min(resolved, now - 20)
                if resolved < now - 7 * DAY and rng.random() < 0.9:
                    status = Status.CLOSED
                    closed = min(resolved + 7 * DAY + rng.uniform(0, 2 * HOUR), now - 10)
            extra = min(int(math.log(1 - rng.random()) / log_keep), 60)
            until = resolved if resolved is not None else now - 10
            comments = (first_response, *sorted(rng.uniform(first_response, until) for _ in range(extra)))
        tickets.append(
            Planned(
                requester,
                account,
                assignee,
                status,
                level,
                CATEGORIES.pick(rng),
                PRIORITIES.pick(rng),
                CHANNELS.pick(rng),
                created,
                first_response,
                resolved,
                closed,
                comments,
            )
        )
    world.tickets = tickets


# --- the tables ---------------------------------------------------------------------------------------


def _at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def ticket_rows(world: World) -> Iterator[Sequence[Any]]:
    rng, text = world.rng, world.text
    start = settings.TANDEM_TICKET_NUMBER_START
    rare_odds = max(50 / 1_000_000, 3 / max(1, len(world.tickets)))  # ~50 at 1M, a few in a test
    for i, t in enumerate(world.tickets):
        subject = text.sentence(3, 8, lead=rng.choice(TOPICS[t.category]))[:-1]
        description = " ".join(text.sentence(5, 14) for _ in range(rng.randint(1, 4)))
        if rng.random() < rare_odds:
            description += f" Our {RARE_WORD} ticket keeps expiring."
        team = None
        if (t.level != EscalationLevel.L1 and rng.random() < 0.9) or rng.random() < 0.1:
            team = rng.choice(world.teams)
        updated = max(x for x in (t.created, t.resolved, t.closed, *t.comments[-1:]) if x is not None)
        asked = t.resolved + 60 if t.resolved is not None else None  # the satisfaction question
        yield (
            i + 1, start + i, subject[:200], description, t.status, t.priority, t.category, t.channel,
            _at(t.created), _at(updated), _at(t.first_response), _at(t.resolved), _at(t.closed), None,
            _at(asked), t.account, t.assignee, t.requester, t.level, team,
        )  # fmt: skip


def comment_rows(world: World) -> Iterator[Sequence[Any]]:
    """The agent's first public reply, then requester and agent in turn, with internal notes between
    (by the assignee, another agent or a manager); :data:`COMMENT_WORD` in ~0.5 % of the comments."""
    rng, text, spec = world.rng, world.text, world.spec
    ids = itertools.count(1)
    everyone = [a for level in world.agents.values() for a in level]
    # The first comment is always public: later ones are notes often enough for the overall share.
    later = max(spec.comments_per_ticket - 1, 0.01)
    note_odds = min(spec.internal_share * spec.comments_per_ticket / later, 0.9)
    for ticket_id, t in enumerate(world.tickets, start=1):
        agent = t.assignee or rng.choice(everyone)
        customer_turn = True
        for n, at in enumerate(t.comments):
            internal = n > 0 and rng.random() < note_odds
            if internal:
                author = agent if rng.random() < 0.7 else rng.choice(everyone + world.managers)
            elif n == 0 or not customer_turn:
                author, customer_turn = agent, True
            else:
                author, customer_turn = t.requester, False
            body = " ".join(text.sentence(4, 14) for _ in range(rng.randint(1, 3)))
            if rng.random() < 0.005:
                body += f" The {COMMENT_WORD} is scheduled."
            yield next(ids), ticket_id, author, body, internal, _at(at)


def event_rows(world: World) -> Iterator[Sequence[Any]]:
    """The "created" event every ticket gets from ``tickets.services.create_ticket`` (its activity)."""
    data = {c: json.dumps({"channel": c}) for c in Channel.values}
    for ticket_id, t in enumerate(world.tickets, start=1):
        yield ticket_id, ticket_id, t.requester, EventKind.CREATED, data[t.channel], False, _at(t.created)


TICKET_COLUMNS = (
    "id", "number", "subject", "description", "status", "priority", "category", "channel", "created_at",
    "updated_at", "first_response_at", "resolved_at", "closed_at", "screen_share_requested_at",
    "satisfaction_requested_at", "account_id", "assignee_id", "requester_id", "escalation_level", "team_id",
)  # fmt: skip

#: Loaded in this order.
TABLES: list[Table] = [
    Table(Ticket, TICKET_COLUMNS, ticket_rows),
    Table(TicketComment, ("id", "ticket_id", "author_id", "body", "is_internal", "created_at"), comment_rows),
    Table(TicketEvent, ("id", "ticket_id", "actor_id", "kind", "data", "internal", "created_at"), event_rows),
]


def seed(spec: Spec, *, report: Callable[[str], None] = lambda _line: None) -> dict[str, int]:
    """Seed ``spec`` into the (empty) database in one transaction; returns the rows per table."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The desk bench seeds PostgreSQL (COPY).")
    rng = random.Random(spec.seed)
    counts: dict[str, int] = {}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")  # no FK triggers while loading
        started = time.perf_counter()
        agents, managers, customers = _people(spec, rng)
        teams = [Team.objects.create(name=name).pk for name in TEAMS]
        heavy = customers[0][0]  # the first customer, in the first enterprise account
        world = World(
            spec, rng, timezone.now().timestamp(), Text(rng), agents, managers, customers, heavy, teams
        )
        report(f"{len(customers):,} customers, {sum(map(len, agents.values()))} agents "
               f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        started = time.perf_counter()
        plan(world)
        report(f"planned {len(world.tickets):,} tickets in {time.perf_counter() - started:.1f} s")
        for table in TABLES:
            started = time.perf_counter()
            name = table.model._meta.db_table
            counts[name] = copy_rows(table, world)
            report(f"{name}: {counts[name]:,} rows in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [t.model for t in TABLES]):
                cursor.execute(sql)
            cursor.execute("SET LOCAL session_replication_role = origin")
        TicketCounter.objects.update_or_create(
            name="ticket",
            defaults={"last_number": settings.TANDEM_TICKET_NUMBER_START - 1 + len(world.tickets)},
        )
    return counts
