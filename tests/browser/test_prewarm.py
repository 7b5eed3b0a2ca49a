"""Browser workers launch Chromium when they start: which worker, which process, which hook."""

from __future__ import annotations

import types

import pytest
from celery.signals import worker_process_init, worker_ready

from browser import prewarm


class _Queues:
    def __init__(self, names):
        self.consume_from = {name: object() for name in names}


class _Router:
    def route(self, options, name):
        assert name == prewarm.TASK_NAME
        return {"queue": types.SimpleNamespace(name="browsers")}


def _app(*queues):
    return types.SimpleNamespace(amqp=types.SimpleNamespace(queues=_Queues(queues), router=_Router()))


class _Consumer:  # hashable, as Celery's signal cache needs
    def __init__(self, pool_module, *queues):
        self.pool = type("TaskPool", (), {"__module__": pool_module})()
        self.app = _app(*queues)


@pytest.fixture
def warmed(monkeypatch):
    """Record warm-ups instead of launching Chromium; the thread is real."""
    calls = []
    monkeypatch.setattr(prewarm, "warm", lambda: calls.append("warm"))
    return calls


def _join(thread):
    if thread is not None:
        thread.join(timeout=5)


def test_a_browser_worker_is_warmed_and_others_are_not(warmed):
    _join(prewarm.start(_app("browsers")))
    assert warmed == ["warm"]
    assert prewarm.start(_app("default")) is None
    assert warmed == ["warm"]


def test_the_setting_turns_it_off(warmed, settings):
    settings.BROWSER_PREWARM = False
    assert prewarm.start(_app("browsers")) is None
    assert warmed == []


def test_the_queue_comes_from_the_task_routes():
    from config.celery import app

    assert prewarm.browser_queue(app) == "browsers"


def test_worker_ready_warms_a_threads_worker_but_not_a_prefork_parent(warmed, monkeypatch):
    threads = []
    monkeypatch.setattr(prewarm, "start", lambda app: threads.append(app) or None)
    worker_ready.send(sender=_Consumer("celery.concurrency.thread", "browsers"))
    assert len(threads) == 1  # connected (from BrowserConfig.ready) and started
    worker_ready.send(sender=_Consumer("celery.concurrency.prefork", "browsers"))
    assert len(threads) == 1  # the prefork parent runs no task: each child warms itself


def test_each_process_that_runs_tasks_warms_itself(monkeypatch):
    started = []
    monkeypatch.setattr(prewarm, "start", lambda app: started.append(app))
    monkeypatch.setattr(prewarm, "_current_app", lambda: "the app")
    worker_process_init.send(sender="browsers@host")
    assert started == ["the app"]


def test_a_failed_launch_is_logged_not_raised(monkeypatch, caplog):
    from browser import tasks

    def boom():
        raise RuntimeError("no chromium here")

    monkeypatch.setattr(tasks, "runtime", boom)
    assert prewarm.warm() is None
    assert "prewarm failed" in caplog.text


def test_a_missing_browser_user_is_named_at_start_up(monkeypatch, caplog):
    from browser import tasks
    from browser.launch import BrowserUserError

    def missing():
        raise BrowserUserError("browser user 'tandem-browser' (BROWSER_RUN_AS_USER) does not exist")

    monkeypatch.setattr(tasks, "runtime", missing)
    assert prewarm.warm() is None
    [record] = [r for r in caplog.records if r.name == prewarm.__name__]
    assert record.levelname == "ERROR" and record.exc_info is None
    assert "cannot start Chromium sandboxed" in record.getMessage()
    assert "BROWSER_RUN_AS_USER" in record.getMessage()


def test_warm_starts_the_process_runtime(monkeypatch):
    from browser import tasks

    calls = []
    monkeypatch.setattr(tasks, "runtime", lambda: calls.append(1))
    assert prewarm.warm() is not None
    assert calls == [1]
