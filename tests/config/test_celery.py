"""Every task a worker may be sent is registered where the workers load them."""

from config.celery import app

EXPECTED = {
    "cobrowse.tasks.sweep_sessions",
    "cobrowse.browser.tasks.run_browser_session",
    "cobrowse.tasks.watch_browser_runners",
    "recordings.tasks.purge_expired_recordings",
    "accounts.mail.send_email",
    "analytics.tasks.email_monthly_report",
}


def test_workers_know_every_task():
    app.loader.import_default_modules()
    assert not EXPECTED - set(app.tasks), EXPECTED - set(app.tasks)


def test_beat_schedule_names_registered_tasks():
    from django.conf import settings

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_only_the_session_runner_goes_to_the_browser_workers():
    """The browser app's tasks kept their names; the routes by name send exactly one to ``browsers``."""
    app.loader.import_default_modules()
    queues = {name: app.amqp.router.route({}, name)["queue"].name for name in app.tasks if "." in name}
    assert queues["cobrowse.browser.tasks.run_browser_session"] == "browsers"
    assert queues["cobrowse.tasks.watch_browser_runners"] == "default"
    assert sorted(name for name, queue in queues.items() if queue == "browsers") == [
        "cobrowse.browser.tasks.run_browser_session"
    ]


def test_the_monthly_report_goes_out_at_six_on_the_first_desk_time():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["analytics-monthly-report"]
    schedule = entry["schedule"]
    assert entry["task"] == "analytics.tasks.email_monthly_report"
    assert (schedule.minute, schedule.hour, schedule.day_of_month) == ({0}, {6}, {1})
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
