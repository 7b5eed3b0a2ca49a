"""The help desk at 1,000,000 tickets: seed with COPY, then time the queue, search, ticket and portal
pages and the ticket API end to end.

Run from the repository root (Redis for the cache and the login session):

    env REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/desk.py \\
        [--tickets 1000000] [--reuse] [--requests 20] [--only search] [--explain] [--baseline]

Uses its own database (``--database-url``, default ``tandem_bench_desk`` on the local server): without
``--reuse`` it is dropped, created, migrated and seeded (:mod:`bench.desk_seed`); with ``--reuse`` an
already seeded database is kept (and migrated). COPY bypasses the write paths, so what they keep next to
the tickets is rebuilt afterwards by ``manage.py rebuild_desk_indexes`` when that command exists (timed;
``--skip-rebuild`` to leave it). Then ``VACUUM ANALYZE``, and each page is requested through Django's
test client in this process, as an agent or as the requester with the most tickets: 2 warm-up requests,
then ``--requests`` timed ones; prints median and p95 per page. Deep pages follow the page's own "next"
links (keyset pagination) or, when the links are page numbers, jump to page 200.

``--baseline`` first runs the same pages against a small database seeded the way ``make run`` seeds
the demo (``seed_demo --history 90``; ``--baseline-database-url``, default ``tandem_bench_desk_demo``)
in a child process, and prints the ratio of each page's p95 to the demo's. ``--explain`` prints
``EXPLAIN (ANALYZE, BUFFERS)`` of every query a page runs on the ticket tables (the pages ``--only``
picks, or the default queue and the common-word search). Targets: p95 <= 50 ms for a page or a list,
<= 150 ms for a search. Prints figures; never fails on time (a page that does not answer 200 stops the
run).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":
    sys.path[0] = str(ROOT)  # run as bench/desk.py: keep this directory from shadowing the app

from bench import benchdb  # noqa: E402 - after the path fix above

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tandem_bench_desk"
DEMO_URL = "postgres://postgres@127.0.0.1:5432/tandem_bench_desk_demo"
#: Tables listed with their sizes and analysed: the people, and every table of the tickets app (so
#: counters or search tables added next to the tickets are shown too).
PEOPLE_TABLES = ("accounts_user", "accounts_customeraccount")
PAGE_TARGET_MS, SEARCH_TARGET_MS = 50, 150
DEEP_PAGE = 200  # where a deep page lands when the pages are numbered
FOLLOW_HTML, FOLLOW_API = 8, 20  # "next" links followed to a deep page otherwise (and on the API)


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    target_ms: int
    who: str = "agent"  # "agent" or "customer" (the requester with the most tickets)
    deep: str = ""  # "html" or "api": time the page reached by following its "next" links


@dataclass(frozen=True)
class Cast:
    """Who the pages are requested as, and what they point at (found in the data, demo or seeded)."""

    agent: int
    customer: int
    ticket: int  # number of the customer's latest ticket
    team: int | None


def _tables() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE relname LIKE 'tickets\\_%%' OR relname = ANY(%s)",
            [list(PEOPLE_TABLES)],
        )
        return sorted(name for (name,) in cursor.fetchall())


def _sizes() -> list[tuple[str, int, str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, pg_size_pretty(pg_table_size(relid)),"
            " pg_size_pretty(pg_indexes_size(relid)) FROM pg_stat_user_tables"
            " WHERE relname = ANY(%s) ORDER BY pg_total_relation_size(relid) DESC",
            [_tables()],
        )
        return list(cursor.fetchall())


def _vacuum_analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f'VACUUM ANALYZE "{table}"')
    return time.perf_counter() - started


def _rebuild(skip: bool) -> None:
    """Run ``rebuild_desk_indexes`` when the code has it: COPY and the demo's bulk paths skip the write
    paths that keep counters and search columns."""
    from django.core.management import call_command, get_commands

    if "rebuild_desk_indexes" not in get_commands():
        print("rebuild_desk_indexes: no such command in this code (nothing to rebuild)", flush=True)
        return
    if skip:
        print("rebuild_desk_indexes: skipped (--skip-rebuild)", flush=True)
        return
    started = time.perf_counter()
    call_command("rebuild_desk_indexes")
    print(f"rebuild_desk_indexes in {time.perf_counter() - started:.1f} s", flush=True)


def cast() -> Cast:
    """The agent with the most active tickets, the requester with the most tickets and their latest
    answered ticket (a conversation to show), and the busiest team: the same roles on the demo and on
    the seeded desk."""
    from django.db.models import Count, Exists, OuterRef

    from accounts.models import Role
    from tickets.models import Status, Team, Ticket, TicketComment

    active = Ticket.objects.exclude(status__in=[Status.RESOLVED, Status.CLOSED])
    agent = (
        active.filter(assignee__role=Role.AGENT)
        .values("assignee")
        .annotate(n=Count("pk"))
        .order_by("-n", "assignee")
        .values_list("assignee", flat=True)
        .first()
    )
    customer = (
        Ticket.objects.values("requester")
        .annotate(n=Count("pk"))
        .order_by("-n", "requester")
        .values_list("requester", flat=True)
        .first()
    )
    if agent is None or customer is None:
        raise SystemExit("No active assigned ticket or no ticket at all: is the database seeded?")
    theirs = Ticket.objects.filter(requester=customer).order_by("-created_at", "-id")
    answered = theirs.filter(Exists(TicketComment.objects.filter(ticket=OuterRef("pk"))))
    ticket = answered.values_list("number").first() or theirs.values_list("number").first()
    assert ticket is not None  # the customer was found through their tickets
    team = Team.objects.annotate(n=Count("tickets")).order_by("-n", "pk").values_list("pk", flat=True).first()
    return Cast(agent, customer, ticket[0], team)


def pages(c: Cast) -> list[Page]:
    from bench.desk_seed import COMMENT_WORD, COMMON_WORD, PARTIAL_WORD, RARE_WORD

    search = SEARCH_TARGET_MS
    out = [
        Page("queue (active)", "/agent/", PAGE_TARGET_MS),
        Page("queue mine", "/agent/?mine=on", PAGE_TARGET_MS),
        Page("queue unassigned", "/agent/?unassigned=on", PAGE_TARGET_MS),
        *(Page(f"queue status={s}", f"/agent/?status={s}", PAGE_TARGET_MS)
          for s in ("new", "open", "pending", "resolved", "closed")),
        Page("queue priority=urgent", "/agent/?priority=urgent", PAGE_TARGET_MS),
        Page("queue category=billing", "/agent/?category=billing", PAGE_TARGET_MS),
        Page("queue level=L2", "/agent/?level=L2", PAGE_TARGET_MS),
        Page("queue team", f"/agent/?team={c.team}", PAGE_TARGET_MS),
        Page("queue deep page", "/agent/", PAGE_TARGET_MS, deep="html"),
        Page("search number", f"/agent/?status=&q={c.ticket}", search),
        Page("search rare word", f"/agent/?status=&q={RARE_WORD}", search),
        Page("search common word", f"/agent/?status=&q={COMMON_WORD}", search),
        Page("search common word (active)", f"/agent/?q={COMMON_WORD}", search),
        Page("search comment-only word", f"/agent/?status=&q={COMMENT_WORD}", search),
        Page("search partial word", f"/agent/?status=&q={PARTIAL_WORD}", search),
        Page("agent ticket page", f"/agent/tickets/{c.ticket}/", PAGE_TARGET_MS),
        Page("portal (heavy customer)", "/portal/", PAGE_TARGET_MS, "customer"),
        Page("portal deep page", "/portal/", PAGE_TARGET_MS, "customer", deep="html"),
        Page("portal ticket page", f"/portal/tickets/{c.ticket}/", PAGE_TARGET_MS, "customer"),
        Page("api tickets (agent)", "/api/tickets/", PAGE_TARGET_MS),
        Page("api tickets (heavy customer)", "/api/tickets/", PAGE_TARGET_MS, "customer"),
        Page("api deep page (agent)", "/api/tickets/", PAGE_TARGET_MS, deep="api"),
        Page("api deep page (customer)", "/api/tickets/", PAGE_TARGET_MS, "customer", deep="api"),
    ]  # fmt: skip
    return [p for p in out if c.team is not None or p.label != "queue team"]


class _NextLink(HTMLParser):
    """The first ``<a rel="next">`` of a page (the pagination's "Next"/"Older" link)."""

    def __init__(self) -> None:
        super().__init__()
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and self.href is None and "next" in (found.get("rel") or "").split():
            self.href = found.get("href")


def _get(client: Any, url: str, label: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{label}: {url} answered {response.status_code}")
    return response


def deep_url(page: Page, client: Any) -> tuple[str, str]:
    """The URL a deep page lands on, and how it got there."""
    url = page.url
    if page.deep == "api":
        for hop in range(FOLLOW_API):
            following = _get(client, url, page.label).json().get("next")
            if not following:
                return url, f"end of the list after {hop} next links"
            url = following
        return url, f"{FOLLOW_API} next links"
    for hop in range(FOLLOW_HTML):
        parser = _NextLink()
        parser.feed(_get(client, url, page.label).content.decode())
        if not parser.href:
            return url, f"end of the list after {hop} next links"
        following = urljoin(url, parser.href)
        query = dict(parse_qsl(urlsplit(following).query, keep_blank_values=True))
        if query.get("page", "").isdecimal():  # numbered pages: jump
            query["page"] = str(DEEP_PAGE)
            return f"{urlsplit(following).path}?{urlencode(query)}", f"page={DEEP_PAGE}"
        url = following
    return url, f"{FOLLOW_HTML} next links"


def time_pages(
    chosen: list[Page],
    clients: dict[str, Any],
    requests: int,
    baseline: dict[str, list[float]],
    budget: float = 60.0,
) -> dict[str, list[float]]:
    """Median and p95 of each page; a page slower than ``budget`` seconds in all gets fewer requests
    (at least 3), so a slow page does not hold the run for many minutes."""
    results: dict[str, list[float]] = {}
    for page in chosen:
        client = clients[page.who]
        url, how = deep_url(page, client) if page.deep else (page.url, "")
        for _ in range(2):
            _get(client, url, page.label)
        samples: list[float] = []
        deadline = time.perf_counter() + budget
        while len(samples) < requests and (len(samples) < 3 or time.perf_counter() < deadline):
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        if len(samples) < requests:
            how = f"{how}; " if how else ""
            how += f"{len(samples)} requests: over the {budget:.0f} s budget"
        median, p95 = statistics.median(samples), benchdb.p95(samples)
        verdict = "ok" if p95 <= page.target_ms else "MISSED"
        demo = baseline.get(page.label)
        ratio = f"{p95 / demo[1]:8.1f}x" if demo else f"{'':9}"
        note = f"  ({how})" if how else ""
        print(
            f"{page.label:30} {median:9.1f} {p95:9.1f} {ratio} {page.target_ms:7} {verdict}{note}", flush=True
        )
        results[page.label] = [median, p95]
    return results


def explain(page: Page, client: Any) -> None:
    """Every query the page runs on the ticket tables, with its plan as PostgreSQL ran it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = deep_url(page, client)[0] if page.deep else page.url
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    print(f"\n=== {page.label}: {url} ({len(captured.captured_queries)} queries)")
    for query in captured.captured_queries:
        sql = query["sql"]
        if '"tickets_' not in sql:
            continue
        print(f"\n-- {query['time']} s  {sql}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            for (line,) in cursor.fetchall():
                print(f"   {line}")


def _baseline(args: argparse.Namespace) -> dict[str, list[float]]:
    """The same pages on the demo's data, in a child process (its own database and settings)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, __file__, "--demo", "--database-url", args.baseline_database_url,
                   "--requests", str(args.requests), "--only", args.only, "--budget", str(args.budget),
                   "--results", out.name]  # fmt: skip
        if args.reuse:
            command.append("--reuse")
        env = {**os.environ, "CACHE_KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "tandem") + "-demo"}
        print("--- baseline: the demo's data (seed_demo --history 90) ---", flush=True)
        subprocess.run(command, check=True, env=env)
        print("--- end of the baseline ---\n", flush=True)
        return json.loads(Path(out.name).read_text() or "{}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--skip-rebuild", action="store_true", help="do not run rebuild_desk_indexes")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of timed requests per page")
    parser.add_argument("--only", default="", help="time only the pages whose label contains this")
    parser.add_argument("--explain", action="store_true", help="print the plans of the pages' queries")
    parser.add_argument("--baseline", action="store_true", help="also time the demo's data, print ratios")
    parser.add_argument("--baseline-database-url", default=DEMO_URL)
    parser.add_argument("--demo", action="store_true", help=argparse.SUPPRESS)  # the baseline's child
    parser.add_argument("--results", default="", help=argparse.SUPPRESS)  # where the child writes figures
    args = parser.parse_args()

    baseline = _baseline(args) if args.baseline and not args.demo else {}
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")  # a development secret key; DEBUG goes off below
    benchdb.database(args.database_url, fresh=not args.reuse)

    import django

    django.setup()
    logging.getLogger("axes").setLevel(logging.WARNING)  # one sign-in line per client otherwise
    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic needed here
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from bench import desk_seed
    from tickets.models import Ticket

    setup_test_environment(debug=False)  # "testserver" allowed, locmem mail, DEBUG off
    call_command("migrate", verbosity=0)
    if args.reuse and Ticket.objects.exists():
        print(f"reusing {Ticket.objects.count():,} seeded tickets")
    elif args.demo:
        started = time.perf_counter()
        call_command("seed_demo", history=90, verbosity=0)
        print(f"seed_demo --history 90 in {time.perf_counter() - started:.0f} s")
    else:
        started = time.perf_counter()
        desk_seed.seed(
            desk_seed.Spec(tickets=args.tickets), report=lambda line: print(f"  {line}", flush=True)
        )
        print(f"seeded {args.tickets:,} tickets in {time.perf_counter() - started:.0f} s", flush=True)
    _rebuild(args.skip_rebuild)
    print(f"VACUUM ANALYZE in {_vacuum_analyze():.1f} s")
    print(f"\n{'table':32} {'rows':>12} {'heap':>10} {'indexes':>10}")
    for name, rows, heap, indexes in _sizes():
        print(f"{name:32} {rows:12,} {heap:>10} {indexes:>10}")

    who = cast()
    heavy = Ticket.objects.filter(requester=who.customer).count()
    print(f"\nagent #{who.agent}, heavy customer #{who.customer} ({heavy:,} tickets), ticket {who.ticket}, "
          f"team #{who.team}; load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")  # fmt: skip
    clients = {"agent": Client(), "customer": Client()}
    clients["agent"].force_login(User.objects.get(pk=who.agent))
    clients["customer"].force_login(User.objects.get(pk=who.customer))
    chosen = [p for p in pages(who) if args.only in p.label]

    print(
        f"\n{'page':30} {'median ms':>9} {'p95 ms':>9} {'/demo':>9} {'target':>7}  ({args.requests} requests)"
    )
    results = time_pages(chosen, clients, args.requests, baseline, args.budget)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    if args.results:
        Path(args.results).write_text(json.dumps(results))
    if args.explain:
        defaults = ("queue (active)", "search common word")
        for page in chosen if args.only else [p for p in chosen if p.label in defaults]:
            explain(page, clients[page.who])


if __name__ == "__main__":
    main()
