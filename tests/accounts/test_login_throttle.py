"""Repeated sign-in failures lock out per account and per client address, on every sign-in surface."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.crypto import pseudonym
from audit.models import AuditEvent
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LIMIT = 5


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.PASSWORD_RESET_LIMIT = 3


def _login(client: Client, username: str, password: str = "wrong", **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def _locked(response) -> bool:
    return response.status_code == 429 and "Too many failed attempts" in response.content.decode()


def test_account_locks_after_repeated_failures_even_from_many_addresses(customer):
    codes = [
        _login(Client(REMOTE_ADDR=f"198.51.100.{i}"), customer.username).status_code for i in range(LIMIT)
    ]
    assert codes == [200] * (LIMIT - 1) + [429]
    # The right password from a fresh address does not get in while the account is locked.
    response = _login(Client(REMOTE_ADDR="203.0.113.50"), customer.username, PASSWORD)
    assert _locked(response) and response["Retry-After"] == "900"
    assert "sign-in is paused for 15 minutes" in response.content.decode()
    # Another account from another address is unaffected.
    other = make_user("someone", role="customer")
    ok = _login(Client(REMOTE_ADDR="203.0.113.51"), other.username, PASSWORD)
    assert ok.status_code == 302


def test_address_locks_after_failures_across_many_accounts(customer):
    client = Client(REMOTE_ADDR="198.51.100.20")
    codes = [_login(client, f"guess{i}").status_code for i in range(LIMIT)]
    assert codes[-1] == 429
    # A real account with its right password, from that address: refused.
    assert _locked(_login(client, customer.username, PASSWORD))
    # The same account from another address: fine.
    assert _login(Client(REMOTE_ADDR="198.51.100.21"), customer.username, PASSWORD).status_code == 302


def test_signing_in_to_an_own_account_does_not_reset_the_address_count(customer):
    client = Client(REMOTE_ADDR="198.51.100.25")
    for i in range(LIMIT - 1):
        _login(client, f"guess{i}")
    assert _login(client, customer.username, PASSWORD).status_code == 302
    client.post("/logout/")
    assert _login(client, "guess-next").status_code == 429


def test_a_spoofed_forwarded_for_does_not_escape_the_address_lockout(settings, customer):
    client = Client(REMOTE_ADDR="198.51.100.30")
    for i in range(LIMIT):
        _login(client, f"guess{i}", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    assert _locked(_login(client, customer.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9"))


def test_behind_one_proxy_only_the_address_it_appended_counts(settings, customer):
    settings.NUM_PROXIES = 1
    proxy = Client(REMOTE_ADDR="10.0.0.1")  # every request arrives from the load balancer
    for i in range(LIMIT):
        # The client forges entries on the left; the proxy appends the address it saw.
        _login(proxy, f"guess{i}", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 198.51.100.40")
    assert _locked(_login(proxy, customer.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.40"))
    # Another real client behind the same proxy is not locked out with it.
    response = _login(proxy, customer.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.41")
    assert response.status_code == 302


def test_lockout_is_audited_once_with_ids_and_pseudonyms_only(customer):
    client = Client(REMOTE_ADDR="198.51.100.60")
    for _ in range(LIMIT + 2):
        _login(client, customer.username)
    events = list(AuditEvent.objects.filter(action="accounts.login_locked_out"))
    assert len(events) == 1
    event = events[0]
    assert event.object_id == str(customer.pk) and event.details["user"] == customer.pk
    assert event.details["surface"] == "login"
    assert event.details["account"] == pseudonym(customer.username)
    blob = json.dumps(event.details) + event.actor_label
    for secret in (customer.username, customer.email, "198.51.100"):
        assert secret not in blob


def test_lockout_logs_carry_no_login_names_or_addresses(caplog, customer):
    caplog.set_level(logging.INFO, logger="axes")
    client = Client(REMOTE_ADDR="198.51.100.61")
    for _ in range(LIMIT):
        _login(client, customer.username)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "login failure" in text  # axes did log the failures…
    assert customer.username not in text and "198.51.100" not in text  # …without who or where


def test_admin_login_locks_out(manager):
    manager.is_staff = manager.is_superuser = True
    manager.save()
    client = Client(REMOTE_ADDR="198.51.100.70")
    url = reverse("admin:login")
    for _ in range(LIMIT):
        response = client.post(url, {"username": manager.username, "password": "wrong"})
    assert response.status_code == 429
    response = client.post(url, {"username": manager.username, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 429
    event = AuditEvent.objects.get(action="accounts.login_locked_out")
    assert event.details["surface"] == "admin"


def test_api_token_endpoint_locks_out_with_a_json_message(customer):
    client = APIClient(REMOTE_ADDR="198.51.100.80")
    codes = [
        client.post(
            "/api/auth/token/", {"username": customer.username, "password": "wrong"}, format="json"
        ).status_code
        for _ in range(LIMIT)
    ]
    assert codes == [400] * (LIMIT - 1) + [429]
    response = APIClient(REMOTE_ADDR="198.51.100.81").post(
        "/api/auth/token/", {"username": customer.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 429
    assert "Too many failed attempts" in response.json()["detail"]
    assert AuditEvent.objects.get(action="accounts.login_locked_out").details["surface"] == "api_token"


def test_test_client_login_without_a_request_still_works(client, customer):
    assert client.login(username=customer.username, password="wrong") is False
    assert client.login(username=customer.username, password=PASSWORD) is True


def test_password_reset_requests_are_throttled_per_email(customer):
    codes = [
        Client(REMOTE_ADDR=f"198.51.100.{90 + i}")
        .post(reverse("password_reset"), {"email": customer.email})
        .status_code
        for i in range(4)
    ]
    assert codes == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    event = AuditEvent.objects.get(action="accounts.password_reset_locked_out")
    assert event.object_id == str(customer.pk) and customer.email not in json.dumps(event.details)


def test_password_reset_requests_are_throttled_per_address(db):
    client = Client(REMOTE_ADDR="198.51.100.99")
    codes = [
        client.post(reverse("password_reset"), {"email": f"x{i}@example.com"}).status_code for i in range(4)
    ]
    assert codes == [302, 302, 302, 429]
    assert (
        "Too many password reset requests"
        in client.post(reverse("password_reset"), {"email": "y@example.com"}).content.decode()
    )


def test_guessing_reset_links_is_throttled(customer):
    Client().post(reverse("password_reset"), {"email": customer.email})
    good = re.search(r"https?://[^/\s]+(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    client = Client(REMOTE_ADDR="198.51.100.100")
    uid = good.split("/")[2]
    codes = [client.get(f"/password-reset/{uid}/guess-{i}/").status_code for i in range(7)]
    assert codes == [200] * 6 + [429]
    assert AuditEvent.objects.filter(action="accounts.password_reset_link_locked_out").count() == 1
    # Another address with the real link is unaffected.
    assert Client(REMOTE_ADDR="198.51.100.101").get(good, follow=True).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_lockout_page_under_the_asgi_handler():
    """The web processes run Django's async handler, where axes' middleware takes another path."""
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    user = await sync_to_async(make_user)("asyncuser", role="customer")
    client = AsyncClient(REMOTE_ADDR="198.51.100.110")
    for _ in range(LIMIT):
        response = await client.post("/login/", {"username": user.username, "password": "wrong"})
    assert _locked(response)
    response = await client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert _locked(response)
