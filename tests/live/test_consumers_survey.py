"""The customer's ``ended`` envelope carries the survey link when the session may be answered: the
customer shared the page and it is over. The agent's does not; an answered session offers none."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from cobrowse import services as session_services
from outcomes import survey
from outcomes.models import SurveyResponse
from tests.live.test_consumers import _msg, _pair, _receive_type

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_agent_ends_and_the_customer_is_offered_the_survey(settings):
    settings.TANDEM_BASE_URL = "https://desk.example/"
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await database_sync_to_async(session_services.end_session)(session.pk, actor=agent)
    ended = (await _receive_type(customer, "ended"))["data"]
    assert ended["reason"] == "agent_ended"
    url = ended["survey"]["url"]
    assert url.startswith("https://desk.example/survey/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert (await database_sync_to_async(survey.session_for_token)(token)).pk == session.pk
    assert "survey" not in (await _receive_type(agent_comm, "ended"))["data"]  # the customer's alone
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_stop_sharing_is_an_end_too():
    session, grant, agent, customer, agent_comm, _ = await _pair()
    await customer.send_json_to(_msg("stop", {"reason": "done"}, 1))
    ended = (await _receive_type(customer, "ended"))["data"]
    assert ended["reason"] == "customer_revoked" and "/survey/" in ended["survey"]["url"]
    await agent_comm.disconnect()


async def test_no_survey_once_answered():
    session, grant, agent, customer, agent_comm, _ = await _pair()

    @database_sync_to_async
    def end_and_answer():
        with transaction.atomic():  # the sockets hear of the end once both committed
            session_services.end_session(session.pk, actor=agent)
            SurveyResponse.objects.create(session_id=session.pk, stars=4)

    await end_and_answer()
    assert "survey" not in (await _receive_type(customer, "ended"))["data"]
    await agent_comm.disconnect()
