"""A runner that vanished (its worker was killed) is queued again while someone watches, and after
MAX_RELAUNCHES the session ends with ``browser_lost`` — it never waits for the inactivity timeout."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from browser import selectors, services, tasks
from browser.services import lifecycle
from cobrowse.models import CoBrowseSession, SessionState
from tests.browser.test_worker import _consented_browser_session
from tickets.models import TicketEvent


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(tasks.run_browser_session, "delay", lambda session_id: calls.append(session_id))
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_vanished_runner_is_relaunched_then_the_session_ends(queued, settings):
    settings.BROWSER_EGRESS_ALLOW_HOSTS = ["127.0.0.1:9"]
    session = _consented_browser_session("http://127.0.0.1:9")
    services.browser_started(session.pk)
    services.register_runner(session.pk, {"channel": "x", "pid": 1})
    assert services.watch_runner(session.pk) == "running"

    for attempt in range(1, services.MAX_RELAUNCHES + 1):
        cache.delete(selectors.runner_key(session.pk))  # the heartbeat stopped: the entry expired
        cache.delete(selectors.launching_key(session.pk))  # and the last launch was a minute ago
        assert services.watch_runner(session.pk) == "relaunched"
        assert queued == [session.pk] * attempt
        assert CoBrowseSession.objects.get(pk=session.pk).state == SessionState.RECONNECTING
        assert selectors.runtime_state(session.pk)["browser"] == "reconnecting"
        assert services.watch_runner(session.pk) == "starting"  # queued: not again within the minute

    cache.delete(selectors.launching_key(session.pk))
    assert services.watch_runner(session.pk) == "ended"
    ended = CoBrowseSession.objects.get(pk=session.pk)
    assert ended.state == SessionState.ENDED and ended.end_reason == services.BROWSER_LOST
    assert len(queued) == services.MAX_RELAUNCHES
    steps = list(TicketEvent.objects.filter(ticket=session.ticket).values_list("data__step", flat=True))
    assert steps.count("browser_relaunched") == services.MAX_RELAUNCHES and "browser_lost" in steps
    assert services.watch_runner(session.pk) == "ended"


@pytest.mark.django_db(transaction=True)
def test_the_beat_watch_relaunches_a_vanished_runner_with_nobody_watching(queued, settings):
    from browser.tasks import WATCH_LOCK_KEY, watch_browser_runners

    settings.BROWSER_EGRESS_ALLOW_HOSTS = ["127.0.0.1:9"]
    session = _consented_browser_session("http://127.0.0.1:9")
    services.browser_started(session.pk)
    services.register_runner(session.pk, {"channel": "x", "pid": 1})
    assert watch_browser_runners() == {"running": 1}
    assert queued == []

    cache.delete(selectors.runner_key(session.pk))  # the worker was killed: no heartbeat any more
    cache.delete(selectors.launching_key(session.pk))
    assert watch_browser_runners() == {"relaunched": 1}
    assert queued == [session.pk]

    cache.add(WATCH_LOCK_KEY, "1", 25)  # another beat instance is at it: this one does nothing
    assert watch_browser_runners() == {}
    cache.delete(WATCH_LOCK_KEY)

    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.ENDED)
    assert watch_browser_runners() == {}  # ended sessions are not watched
    assert queued == [session.pk]


@pytest.mark.django_db(transaction=True)
def test_a_relaunch_someone_else_queued_first_is_not_counted_again(queued, settings, monkeypatch):
    settings.BROWSER_EGRESS_ALLOW_HOSTS = ["127.0.0.1:9"]
    session = _consented_browser_session("http://127.0.0.1:9")
    services.browser_started(session.pk)
    cache.delete(selectors.launching_key(session.pk))
    monkeypatch.setattr(lifecycle, "ensure_runner", lambda session_id: False)  # lost the race to queue
    for _ in range(services.MAX_RELAUNCHES + 2):
        assert services.watch_runner(session.pk) == "starting"
    assert cache.get(f"browser:{session.pk}:relaunches") == 0
    assert CoBrowseSession.objects.get(pk=session.pk).state != SessionState.ENDED


@pytest.mark.django_db(transaction=True)
def test_a_runner_task_that_starts_late_counts_as_starting(queued, settings):
    settings.BROWSER_EGRESS_ALLOW_HOSTS = ["127.0.0.1:9"]
    session = _consented_browser_session("http://127.0.0.1:9")
    cache.delete(selectors.launching_key(session.pk))  # queued long ago: the first grace ran out
    services.runner_starting(session.pk)  # the task began now, after a long wait in the queue
    assert services.watch_runner(session.pk) == "starting"
    assert queued == []


@pytest.mark.django_db
def test_one_runner_at_a_time_holds_a_session():
    a, b = {"channel": "runner-a"}, {"channel": "runner-b"}
    assert services.claim_runner(7, a) is True
    assert services.claim_runner(7, a) is True  # the holder again
    assert services.claim_runner(7, b) is False  # a second runner never joins the control group
    assert services.renew_runner(7, b) is False
    assert services.renew_runner(7, a) is True
    cache.delete(selectors.runner_key(7))  # a's worker died: its seat expired
    assert services.claim_runner(7, b) is True
    assert services.renew_runner(7, a) is False  # a, if it were still alive somewhere, stops
