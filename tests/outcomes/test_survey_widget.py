"""The end card's JSON answer: ``POST /survey/<token>/answer/``. One answer per session, field errors
as 400 ``{field: [...]}``, 409 once answered, 404/410 for a link that does not hold, never a 500;
CORS only for the widget's allowed origins."""

from __future__ import annotations

import json

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client

from cobrowse.models import CoBrowseSession, SessionState
from outcomes import survey
from outcomes.models import SurveyResponse

ALLOWED = "http://localhost:8001"  # the customer account's allowed origin (tests/factories.py)


def answer_url(session) -> str:
    return survey.survey_path(session) + "answer/"


def post(url: str, body, *, origin: str = "", content_type: str = "application/json", client=None):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return (client or Client()).post(url, data, content_type=content_type, **headers)


@pytest.fixture(autouse=True)
def _fresh_origins():
    cache.clear()  # the allowed origins are cached for a minute


@pytest.mark.django_db
def test_a_good_answer_is_stored_once_and_a_second_is_a_409(session):
    response = post(answer_url(session), {"stars": 4, "comment": "  Quick and clear  "})
    assert response.status_code == 201
    assert response.json()["detail"] == "Your answer helps the support team do better."
    answer = SurveyResponse.objects.get(session=session)
    assert (answer.stars, answer.comment) == (4, "Quick and clear")

    again = post(answer_url(session), {"stars": 1})
    assert again.status_code == 409
    assert again.json()["code"] == "answered"
    assert SurveyResponse.objects.get(session=session).stars == 4


@pytest.mark.django_db
def test_stars_may_come_as_a_string_and_the_comment_is_optional(session):
    assert post(answer_url(session), {"stars": "5"}).status_code == 201
    assert SurveyResponse.objects.get(session=session).comment == ""


@pytest.mark.django_db
@pytest.mark.parametrize("stars", [0, 6, -1, "five", None, 4.5, True, [3], {"n": 3}])
def test_bad_stars_are_a_field_error(session, stars):
    response = post(answer_url(session), {"stars": stars})
    assert response.status_code == 400
    assert response.json() == {"stars": ["Choose from 1 to 5 stars."]}
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_a_long_comment_is_a_field_error_and_a_comment_of_the_limit_is_kept(session):
    response = post(answer_url(session), {"stars": 3, "comment": "x" * 2001})
    assert response.status_code == 400
    assert response.json() == {"comment": ["Keep the comment under 2000 characters."]}
    assert not SurveyResponse.objects.exists()
    assert post(answer_url(session), {"stars": 3, "comment": "é" * 2000}).status_code == 201
    assert SurveyResponse.objects.get(session=session).comment == "é" * 2000


@pytest.mark.django_db
def test_both_fields_wrong_name_both(session):
    response = post(answer_url(session), {"stars": 9, "comment": {"text": "hi"}})
    assert response.status_code == 400
    assert set(response.json()) == {"comment"}  # a comment that is not text is refused first
    response = post(answer_url(session), {"stars": 9, "comment": "y" * 2001})
    assert set(response.json()) == {"stars", "comment"}


@pytest.mark.django_db
@pytest.mark.parametrize("body", [" ", "not json", "[1, 2]", '"4"', "null", "{", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_clear_400(session, body):
    response = post(answer_url(session), body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_only_a_json_post(session):
    url = answer_url(session)
    assert Client().get(url).status_code == 405
    assert Client().put(url, "{}", content_type="application/json").status_code == 405
    form = Client().post(url, {"stars": "5"})  # a form post: the page at /survey/<token>/ takes those
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    assert post(url, "stars=5", content_type="text/plain").status_code == 415
    assert not SurveyResponse.objects.exists()
    # JSON with a charset parameter is still JSON.
    assert post(url, {"stars": 2}, content_type="application/json; charset=utf-8").status_code == 201


@pytest.mark.django_db
def test_links_that_do_not_hold_are_404_or_410(session, monkeypatch):
    assert post("/survey/not-a-token/answer/", {"stars": 5}).status_code == 404
    forged = signing.dumps(session.pk, salt="another.salt")
    assert post(f"/survey/{forged}/answer/", {"stars": 5}).json()["code"] == "not_found"
    tampered = survey.survey_token(session)[:-2] + "xx"
    assert post(f"/survey/{tampered}/answer/", {"stars": 5}).status_code == 404
    gone = signing.dumps(999999, salt=survey.SALT)
    assert post(f"/survey/{gone}/answer/", {"stars": 5}).status_code == 404

    url = answer_url(session)
    monkeypatch.setattr(survey, "LINK_MAX_AGE_S", -1)  # every link is older than that
    expired = post(url, {"stars": 5})
    assert expired.status_code == 410 and expired.json()["code"] == "expired"
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_a_session_not_over_is_a_409_and_staff_cannot_answer(session, agent):
    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.ACTIVE)
    not_yet = post(answer_url(session), {"stars": 5})
    assert not_yet.status_code == 409 and not_yet.json()["code"] == "not_ended"
    CoBrowseSession.objects.filter(pk=session.pk).update(state=SessionState.ENDED)
    staff = Client()
    staff.force_login(agent)
    assert post(answer_url(session), {"stars": 5}, client=staff).status_code == 403
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_cors_headers_for_an_allowed_origin_and_none_for_others(session, settings):
    settings.TANDEM_WIDGET_ORIGINS = []
    url = answer_url(session)
    preflight = Client().options(
        url,
        HTTP_ORIGIN=ALLOWED,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight  # never cookies cross-origin

    error = post(url, {"stars": 0}, origin=ALLOWED)
    assert error.status_code == 400 and error["Access-Control-Allow-Origin"] == ALLOWED  # readable

    other = "https://evil.example"
    refused_preflight = Client().options(url, HTTP_ORIGIN=other, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in refused_preflight
    assert "Access-Control-Allow-Origin" not in post(url, {"stars": 0}, origin=other)

    # The survey page itself is not opened to other sites: only the widget's answer call is.
    assert "Access-Control-Allow-Origin" not in Client().get(survey.survey_path(session), HTTP_ORIGIN=ALLOWED)

    ok = post(url, {"stars": 5}, origin=ALLOWED)
    assert ok.status_code == 201 and ok["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.django_db
def test_offered_url_is_absolute_and_only_while_it_may_be_answered(session, settings):
    settings.TANDEM_BASE_URL = "https://desk.example/"
    url = survey.offered_url(session.pk)
    assert url.startswith("https://desk.example/survey/")  # the token itself carries its second
    assert survey.session_for_token(url.rstrip("/").rsplit("/", 1)[1]) == session
    CoBrowseSession.objects.filter(pk=session.pk).update(started_at=None)  # never shared
    assert survey.offered_url(session.pk) is None
    CoBrowseSession.objects.filter(pk=session.pk).update(started_at=session.started_at)
    SurveyResponse.objects.create(session=session, stars=3)
    assert survey.offered_url(session.pk) is None
    assert survey.offered_url(999999) is None
