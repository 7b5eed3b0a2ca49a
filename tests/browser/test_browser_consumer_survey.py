"""The customer's viewer socket is told where the survey is when the session ends; staff are not."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from browser import services
from cobrowse.models import CoBrowseSession, SessionState
from tests.browser.test_browser_consumer import _json, _setup, _socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _shared(session_id: int) -> None:
    """The browser ran and the customer watched it: the session started."""
    CoBrowseSession.objects.filter(pk=session_id).update(state=SessionState.ACTIVE, started_at=timezone.now())


async def test_the_customer_viewer_gets_the_survey_link_when_the_session_ends():
    session, grant, agent = await _setup()
    await _shared(session.pk)
    staff = await _socket(session.pk, agent)
    await _json(staff, "welcome")
    customer = await _socket(session.pk)
    await customer.send_to(text_data=json.dumps({"type": "hello", "data": {"grant": grant}}))
    assert (await _json(customer, "welcome"))["role"] == "customer"

    await database_sync_to_async(services.stop_browser_session)(session, actor=agent)
    ended = await _json(customer, "ended")
    assert ended["reason"] == "agent_ended"
    assert ended["survey"]["url"].startswith("http") and "/survey/" in ended["survey"]["url"]
    assert "survey" not in await _json(staff, "ended")
