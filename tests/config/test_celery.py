"""Every task a worker may be sent is registered where the workers load them."""

from config.celery import app

EXPECTED = {
    "cobrowse.tasks.sweep_sessions",
    "cobrowse.browser.tasks.run_browser_session",
    "recordings.tasks.purge_expired_recordings",
}


def test_workers_know_every_task():
    app.loader.import_default_modules()
    assert not EXPECTED - set(app.tasks), EXPECTED - set(app.tasks)


def test_beat_schedule_names_registered_tasks():
    from django.conf import settings

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
