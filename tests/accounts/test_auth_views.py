"""Sign in, sign out, password reset and the role-based landing page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_login_page_has_the_form(client):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert '<button type="submit"' in html
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert reverse("password_reset") in html


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@pytest.mark.parametrize(
    ("fixture", "target"),
    [("customer", "/portal/"), ("agent_l1", "/agent/"), ("agent", "/agent/"), ("manager", "/agent/")],
)
def test_login_lands_by_role(client, request, fixture, target):
    user = request.getfixturevalue(fixture)
    response = client.post("/login/", {"username": user.username, "password": "tandem-demo"}, follow=True)
    assert response.redirect_chain[-1][0] == target
    assert response.status_code == 200
    assert user.display_name in response.content.decode()


def test_wrong_password_shows_an_error(client, customer):
    response = client.post("/login/", {"username": customer.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_follows_safe_next_only(client, agent):
    data = {"username": agent.username, "password": "tandem-demo"}
    response = client.post("/login/?next=/agent/?status=new", {**data, "next": "/agent/?status=new"})
    assert response.url == "/agent/?status=new"
    client.logout()
    response = client.post("/login/", {**data, "next": "https://evil.example/"})
    assert response.url == "/"


def test_logout_is_post_only(client, agent):
    client.force_login(agent)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response.url == "/login/"
    assert client.get("/agent/").status_code == 302


def test_pages_show_user_and_role_with_a_sign_out_form(client, agent_l1_certified):
    client.force_login(agent_l1_certified)
    html = client.get("/agent/").content.decode()
    assert agent_l1_certified.display_name in html
    assert "Agent · L1 certified" in html
    assert 'action="/logout/"' in html


def test_password_reset_by_email(client, customer):
    response = client.post(reverse("password_reset"), {"email": customer.email})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.email]
    assert message.subject == "Reset your Tandem password"
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    new = "a-much-better-passphrase-42"
    response = client.post(set_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302 and response.url == reverse("password_reset_complete")
    customer.refresh_from_db()
    assert customer.check_password(new)
    # The link works once.
    assert "This link no longer works" in client.get(link, follow=True).content.decode()


def test_password_reset_for_unknown_email_reveals_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_password_reset_rejects_mismatched_passwords(client, customer):
    client.post(reverse("password_reset"), {"email": customer.email})
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "one-long-passphrase", "new_password2": "another-one"})
    assert response.status_code == 200
    assert "field__error" in response.content.decode()
    customer.refresh_from_db()
    assert customer.check_password("tandem-demo")
