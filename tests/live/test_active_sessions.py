"""The "Active sessions" page: an agent's own live and waiting sessions, the ones they were invited
to watch, and for managers every live session with its state, mode, duration and last known quality,
each with a link to watch it — in a fixed number of queries however many sessions are live."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from browser import services as browser_services
from cobrowse import services as session_services
from cobrowse.models import CoBrowseSession
from live import selectors as live_selectors
from live.relay_state import _key
from tests.consent.helpers import consent, start
from tests.factories import make_ticket, make_user

pytestmark = pytest.mark.django_db

URL = "/agent/sessions/"


def _page(client, user) -> str:
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, testid: str) -> str:
    start_at = html.index(f'data-testid="{testid}"')
    return html[start_at : html.index("</table>", start_at)]


def _store_quality(session_id: int, value: str) -> None:
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(_key(session_id, "quality"), value)
    client.close()


@pytest.fixture
def sharing(customer, agent):
    session, _grant = consent(make_ticket(customer), agent, mode="guided")
    return session


@pytest.fixture
def waiting(customer, agent):
    session, _raw = start(make_ticket(customer, subject="Second"), agent)
    return session


def test_the_url_is_named_and_in_the_navigation(client, agent):
    assert reverse("cobrowse:active_sessions") == URL
    html = _page(client, agent)
    assert f'href="{URL}" aria-current="page" data-testid="nav-active-sessions"' in html


def test_an_agent_sees_their_live_and_waiting_sessions_with_a_watch_link(client, agent, sharing, waiting):
    own = _section(_page(client, agent), "active-own")
    for session in (sharing, waiting):
        assert f'data-session="{session.pk}"' in own
        assert f'href="/agent/sessions/{session.pk}/" data-testid="active-watch"' in own
    assert 'data-state="active"' in own or 'data-state="consented"' in own
    assert 'data-state="invited"' in own and "waiting" in own
    assert "Guidance" in own


def test_an_agent_does_not_see_others_sessions_nor_the_managers_list(client, agent_l3, sharing):
    html = _page(client, agent_l3)
    assert f'data-session="{sharing.pk}"' not in html
    assert 'data-testid="active-all"' not in html


def test_an_invited_colleague_sees_the_session_they_may_watch(client, agent, agent_l3, sharing):
    session_services.invite_viewer(sharing, actor=agent, user=agent_l3)
    html = _page(client, agent_l3)
    assert f'data-session="{sharing.pk}"' in _section(html, "active-invited")
    assert f'data-session="{sharing.pk}"' not in _section(html, "active-own")


def test_ended_and_overdue_sessions_are_not_listed(client, agent, manager, sharing, waiting):
    session_services.end_session(sharing, actor=agent)
    CoBrowseSession.objects.filter(pk=waiting.pk).update(
        invite_expires_at=timezone.now() - timedelta(seconds=1)
    )
    html = _page(client, manager)
    for session in (sharing, waiting):
        assert f'data-session="{session.pk}"' not in html


def test_a_manager_sees_every_live_session_with_quality_or_a_dash(client, manager, sharing, waiting):
    _store_quality(sharing.pk, "poor:480")
    everyone = _section(_page(client, manager), "active-all")
    assert f'data-session="{sharing.pk}"' in everyone and f'data-session="{waiting.pk}"' in everyone
    row = everyone[everyone.index(f'data-session="{sharing.pk}"') :]
    assert 'data-testid="active-quality">poor <span class="muted small">480 ms</span>' in row
    waiting_row = everyone[everyone.index(f'data-session="{waiting.pk}"') :]
    assert 'data-testid="active-quality">—</td>' in waiting_row


def test_a_browser_session_is_watched_in_the_viewer(client, manager, customer, agent):
    started = browser_services.start_browser_session(
        make_ticket(customer), agent=agent, start_url="http://localhost:8001/apply", channel="copy"
    )
    everyone = _section(_page(client, manager), "active-all")
    assert f'href="/browser/{started.session.pk}/" data-testid="active-watch"' in everyone


def test_customers_are_refused(client, customer, sharing):
    client.force_login(customer)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_quality_survives_redis_being_unreachable(settings, sharing):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert live_selectors.relay_qualities([sharing.pk]) == {}


def test_the_query_count_does_not_grow_with_the_number_of_sessions(
    client, manager, customer, agent, agent_l3
):
    def count() -> int:
        client.force_login(manager)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    consent(make_ticket(customer), agent)
    few = count()
    for n in range(4):
        lead = make_user(f"lead{n}", role="agent", agent_level="L2")
        session, _grant = consent(make_ticket(customer, subject=f"More {n}"), lead)
        session_services.invite_viewer(session, actor=lead, user=agent_l3)
    many = count()
    assert many == few
    assert many <= 6, many  # session, user, the three lists, the Approvals count in the navigation


# --- by clicking, in Chromium -------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("built_bundles")
def test_the_live_view_is_reached_by_clicking_from_the_navigation_and_the_ticket(live_server_asgi, browser):
    from tests.cobrowse.test_e2e_live import off_loop
    from tests.live_server import login

    base = live_server_asgi.url
    customer = make_user("dana", role="customer")
    lead = make_user("priya", role="agent", agent_level="L2")
    boss = make_user("morgan", role="manager")
    ticket = make_ticket(customer)
    session, _raw = off_loop(start, ticket, lead)
    console = f"{base}/agent/sessions/{session.pk}/"
    violations: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
        login(page, base, boss.username)
        page.click("[data-testid=nav-active-sessions]")
        page.wait_for_url(f"{base}{URL}")
        row = page.locator(f"[data-testid=active-all] tr[data-session='{session.pk}']")
        assert "Invited" in row.inner_text() and "—" in row.inner_text()
        row.locator("[data-testid=active-watch]").click()
        page.wait_for_url(console)
        page.wait_for_selector("[data-testid=console-state]")

        context.clear_cookies()
        login(page, base, lead.username)
        page.goto(f"{base}/agent/tickets/{ticket.number}/")
        page.click("[data-testid=cobrowse-watch]")
        page.wait_for_url(console)
        page.wait_for_selector("[data-testid=console-state]")
    finally:
        context.close()
    assert violations == []
