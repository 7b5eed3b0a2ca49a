"""A recording's timeline says what became of an action the customer was asked about."""

from __future__ import annotations

from datetime import timedelta

import pytest

from live import services as live
from recordings import selectors
from tests.recordings.rec_helpers import build_recording, recorded_session, recording_env  # noqa: F401
from tickets.models import TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_env")]


def test_the_timeline_shows_an_approved_action_performed_and_a_denied_one_denied(agent, customer):
    recording = build_recording(recorded_session(agent, customer, mode="controlled"))
    session = recording.session
    steps = [
        ("action_requested", agent),
        ("action_approved", None),
        ("action_performed", None),
        ("action_requested", agent),
        ("action_denied", None),
    ]
    for n, (step, actor) in enumerate(steps):
        live.log_activity(session.pk, actor, step, action="click" if n < 3 else "type", request=n // 3 + 1)
    for n, event in enumerate(TicketEvent.objects.filter(data__step__startswith="action_").order_by("id")):
        TicketEvent.objects.filter(pk=event.pk).update(
            created_at=recording.started_at + timedelta(milliseconds=100 * n)
        )

    labels = [item.label for item in selectors.session_timeline(recording) if item.kind == "activity"]

    assert [label for label in labels if label.endswith((": click", ": type"))] == [
        "Agent asked to act: click",
        "Customer approved an action: click",
        "Action performed: click",
        "Agent asked to act: type",
        "Customer declined an action: type",
    ]
