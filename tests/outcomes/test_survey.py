"""The customer's survey: one question by link or from the portal, one answer per session, clear
errors for bad input, never answered by staff, links that cannot be forged or reused elsewhere."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from cobrowse.models import CoBrowseSession, SessionState
from outcomes import survey
from outcomes.models import SurveyResponse


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.django_db
def test_a_customer_answers_once_by_link(session):
    client = Client()  # the link works without signing in, as from an e-mail
    url = survey.survey_path(session)
    assert 'name="stars"' in client.get(url).content.decode()
    response = client.post(url, {"stars": "4", "comment": "  Quick and clear  "})
    assert response.status_code == 200 and "Thank you" in response.content.decode()
    answer = SurveyResponse.objects.get(session=session)
    assert (answer.stars, answer.comment) == (4, "Quick and clear")
    again = client.post(url, {"stars": "1"})
    assert again.status_code == 409 and "already been answered" in again.content.decode()
    assert "already been answered" in client.get(url).content.decode()
    assert SurveyResponse.objects.get(session=session).stars == 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stars": "0"}, "Choose from 1 to 5 stars."),
        ({"stars": "6"}, "Choose from 1 to 5 stars."),
        ({"stars": "five"}, "Choose from 1 to 5 stars."),
        ({}, "Choose from 1 to 5 stars."),
        ({"stars": "3", "comment": "x" * 2001}, "Keep the comment under 2000 characters."),
    ],
)
def test_bad_input_is_a_clear_400_that_keeps_the_comment(session, data, message):
    response = Client().post(survey.survey_path(session), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_links_that_do_not_hold(session, agent):
    client = Client()
    assert client.get("/survey/not-a-token/").status_code == 404
    forged = signing.dumps(session.pk, salt="another.salt")
    assert client.get(f"/survey/{forged}/").status_code == 404
    gone = signing.dumps(999999, salt=survey.SALT)
    assert client.get(f"/survey/{gone}/").status_code == 404
    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.ACTIVE)
    assert client.get(survey.survey_path(session)).status_code == 409  # not over yet
    assert client.post(survey.survey_path(session), {"stars": "5"}).status_code == 400
    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.ENDED)
    staff = Client()
    staff.force_login(agent)
    assert staff.post(survey.survey_path(session), {"stars": "5"}).status_code == 403
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_the_portal_offers_the_survey_to_the_customer_until_answered(session, customer):
    client = Client()
    client.force_login(customer)
    page = client.get(f"/portal/tickets/{session.ticket.number}/").content.decode()
    # The link's token carries the second it was signed: compare what it opens, not its text.
    tokens = re.findall(r'href="/survey/([^/"]+)/"', page)
    assert 'data-testid="survey-panel"' in page and tokens
    assert {survey.session_for_token(t).pk for t in tokens} == {session.pk}
    client.post(survey.survey_path(session), {"stars": "5"})
    page = client.get(f"/portal/tickets/{session.ticket.number}/").content.decode()
    assert 'data-testid="survey-panel"' not in page
