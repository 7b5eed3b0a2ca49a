"""Manager pages at 1,000,000 sessions: seed with COPY, then time each page end to end.

Run from the repository root (Redis for the cache and the login session):

    env REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/dashboard.py \
        [--sessions 1000000] [--reuse] [--requests 20] [--only dashboard] [--explain]

Uses its own database (``--database-url``, default ``tandem_bench_dashboard`` on the local server):
without ``--reuse`` it is dropped, created, migrated and seeded (:mod:`bench.dashboard_seed`); with
``--reuse`` an already seeded database is kept as it is. COPY bypasses the write hooks that keep the
manager pages' facts, so ``analytics.rollup.rebuild()`` runs after seeding (and with ``--reuse`` when
the session facts do not match the started sessions), timed, and ``analytics.friction.rebuild()``
(the form-friction days; with ``--reuse`` when none are computed). Then ``VACUUM ANALYZE``, and each page is
requested through Django's test client in this process, logged in as a manager (the agent's own page
as an agent): 2 warm-up requests, then ``--requests`` timed ones; prints median and p95 per page.
``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of every query the 30- and 365-day dashboards run
(or the pages ``--only`` picks). Targets: p95 <= 300 ms for 30 days, <= 1 s for a year. Prints
figures; never fails on time (a page that does not answer 200 stops the run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this file is bench/dashboard.py: keep it from shadowing the app

from bench import benchdb  # noqa: E402 - after the path fix above

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/tandem_bench_dashboard"
SEEDED_TABLES = (
    "tickets_ticket", "cobrowse_cobrowsesession", "outcomes_sessionoutcome", "outcomes_surveyresponse",
    "analytics_pagesignal", "analytics_disconnect", "analytics_sessionquality", "tickets_ticketcomment",
    "tickets_satisfactionanswer", "analytics_sessionfact", "analytics_ticketfact",
)  # fmt: skip


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    target_ms: int
    as_agent: bool = False


def _sizes() -> list[tuple[str, int, str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, pg_size_pretty(pg_table_size(relid)),"
            " pg_size_pretty(pg_indexes_size(relid)) FROM pg_stat_user_tables"
            " WHERE relname = ANY(%s) ORDER BY pg_total_relation_size(relid) DESC",
            [list(SEEDED_TABLES)],
        )
        return list(cursor.fetchall())


def _vacuum_analyze() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in SEEDED_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def pages(today: Any, agent_id: int) -> list[Page]:
    year = f"from={today - timedelta(days=364)}&to={today}"
    return [
        Page("dashboard 30 d", "/manager/", 300),
        Page("dashboard 365 d", f"/manager/?{year}", 1000),
        Page("dashboard 30 d, one agent", f"/manager/?agent={agent_id}", 300),
        Page("dashboard 365 d, one agent", f"/manager/?{year}&agent={agent_id}", 1000),
        Page("dashboard 365 d, category", f"/manager/?{year}&category=billing", 1000),
        Page("dashboard 365 d, mode", f"/manager/?{year}&mode=guided", 1000),
        Page("dashboard CSV agents 30 d", "/manager/?format=csv&table=agents", 300),
        Page("dashboard CSV summary 365 d", f"/manager/?{year}&format=csv&table=summary", 1000),
        Page("forms 30 d", "/manager/forms/", 300),
        Page("forms 365 d", f"/manager/forms/?{year}", 1000),
        Page("roi 30 d", "/manager/roi/", 300),
        Page("roi 365 d", f"/manager/roi/?{year}", 1000),
        Page("quality 30 d", "/manager/quality/", 300),
        Page("quality 365 d", f"/manager/quality/?{year}", 1000),
        Page("report last month", "/manager/report/", 1000),
        Page("agents 30 d", "/manager/agents/", 300),
        Page("agent performance 30 d (agent)", "/agent/performance/", 300, as_agent=True),
        Page("agent performance 365 d (agent)", f"/agent/performance/?{year}", 1000, as_agent=True),
    ]


def time_pages(
    chosen: list[Page], clients: dict[bool, Any], requests: int
) -> list[tuple[Page, float, float]]:
    results = []
    for page in chosen:
        client = clients[page.as_agent]
        for _ in range(2):
            response = client.get(page.url)
            if response.status_code != 200:
                raise SystemExit(f"{page.label}: {page.url} answered {response.status_code}")
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            client.get(page.url)
            samples.append((time.perf_counter() - started) * 1000)
        median, p95 = statistics.median(samples), benchdb.p95(samples)
        verdict = "ok" if p95 <= page.target_ms else "MISSED"
        print(f"{page.label:34} {median:9.0f} {p95:9.0f} {page.target_ms:8} {verdict}", flush=True)
        results.append((page, median, p95))
    return results


def explain(page: Page, client: Any) -> None:
    """Every query the page runs on the seeded tables, with its plan as PostgreSQL ran it."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(page.url)
    print(f"\n=== {page.label}: {page.url} ({len(captured.captured_queries)} queries)")
    for query in captured.captured_queries:
        sql = query["sql"]
        if not any(table in sql for table in SEEDED_TABLES):
            continue
        print(f"\n-- {query['time']} s  {sql}")
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            for (line,) in cursor.fetchall():
                print(f"   {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--only", default="", help="time only the pages whose label contains this")
    parser.add_argument("--explain", action="store_true", help="print the plans of the dashboard's queries")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")  # a development secret key; DEBUG goes off below
    benchdb.database(args.database_url, fresh=not args.reuse)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from accounts.models import Role, User
    from analytics import friction, rollup
    from analytics.models import FrictionDayDone, SessionFact
    from bench import dashboard_seed
    from cobrowse.models import CoBrowseSession

    setup_test_environment(debug=False)  # "testserver" allowed, locmem mail, DEBUG off
    call_command("migrate", verbosity=0)
    if args.reuse and CoBrowseSession.objects.exists():
        print(f"reusing {CoBrowseSession.objects.count():,} seeded sessions")
    else:
        started = time.perf_counter()
        spec = dashboard_seed.Spec(sessions=args.sessions)
        dashboard_seed.seed(spec, report=lambda line: print(f"  {line}", flush=True))
        print(f"seeded {args.sessions:,} sessions in {time.perf_counter() - started:.0f} s")
    started_sessions = CoBrowseSession.objects.filter(started_at__isnull=False).count()
    if not args.reuse or SessionFact.objects.count() != started_sessions:
        print(f"VACUUM ANALYZE in {_vacuum_analyze():.1f} s (before the rebuild)", flush=True)
        started = time.perf_counter()
        facts = rollup.rebuild()
        print(f"rollup.rebuild(): {facts[0]:,} session facts, {facts[1]:,} ticket facts "
              f"in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    if not args.reuse or not FrictionDayDone.objects.exists():
        started = time.perf_counter()
        rows = friction.rebuild()
        print(f"friction.rebuild(): {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"VACUUM ANALYZE in {_vacuum_analyze():.1f} s")
    print(f"\n{'table':28} {'rows':>12} {'heap':>10} {'indexes':>10}")
    for name, rows, heap, indexes in _sizes():
        print(f"{name:28} {rows:12,} {heap:>10} {indexes:>10}")

    manager = User.objects.get(username=f"{dashboard_seed.PREFIX}manager")
    recent = (  # an agent of the latest session: active in every period
        CoBrowseSession.objects.filter(agent__role=Role.AGENT)
        .values_list("agent", flat=True)
        .order_by("-started_at")
        .first()
    )
    agent = User.objects.get(pk=recent)
    clients = {False: Client(), True: Client()}
    clients[False].force_login(manager)
    clients[True].force_login(agent)
    chosen = [p for p in pages(timezone.localdate(), agent.pk) if args.only in p.label]

    print(f"\n{'page':34} {'median ms':>9} {'p95 ms':>9} {'target':>8}  ({args.requests} requests)")
    time_pages(chosen, clients, args.requests)
    if args.explain:
        to_explain = (
            chosen if args.only else [p for p in chosen if p.label in ("dashboard 30 d", "dashboard 365 d")]
        )
        for page in to_explain:
            explain(page, clients[page.as_agent])


if __name__ == "__main__":
    main()
