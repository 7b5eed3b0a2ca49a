"""Site keys and ``POST /api/widget/identify/``: the signature check behind ``Tandem.init({site, user})``."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.conf import settings
from django.test import override_settings

from accounts import services, site_keys
from accounts.models import SiteKey
from audit.models import AuditEvent
from tests.factories import make_account, make_user

pytestmark = pytest.mark.django_db

URL = "/api/widget/identify/"


def sign(secret: str, user_id: str) -> str:
    """What the customer's backend computes (docs/widget-sdk.md)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def issued():
    return site_keys.create_site_key(make_account(), "acme-home-loans")


def identify(client, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **extra)


def test_a_valid_signature_with_the_current_secret_is_ok(client, issued):
    response = identify(
        client, {"site": "acme-home-loans", "user_id": "u-42", "signature": sign(issued.secret, "u-42")}
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_after_a_rotation_the_previous_secret_still_verifies_and_the_one_before_does_not(client, issued):
    second = site_keys.rotate_site_key(issued.site_key)
    body = {"site": "acme-home-loans", "user_id": "u-42"}
    assert identify(client, {**body, "signature": sign(second.secret, "u-42")}).status_code == 200
    assert identify(client, {**body, "signature": sign(issued.secret, "u-42")}).status_code == 200
    site_keys.rotate_site_key(issued.site_key)
    assert identify(client, {**body, "signature": sign(issued.secret, "u-42")}).status_code == 403
    assert identify(client, {**body, "signature": sign(second.secret, "u-42")}).status_code == 200


def test_a_bad_signature_is_403(client, issued):
    for signature in (sign(issued.secret, "someone-else"), sign("tsk_guess", "u-42"), "0" * 64):
        response = identify(client, {"site": "acme-home-loans", "user_id": "u-42", "signature": signature})
        assert response.status_code == 403
        assert response.json()["code"] == "bad_signature"


def test_an_unknown_site_is_404(client, issued):
    response = identify(
        client, {"site": "nobody", "user_id": "u-42", "signature": sign(issued.secret, "u-42")}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_site"


@pytest.mark.parametrize(
    "body",
    [
        {"site": "acme-home-loans", "user_id": "u-42"},  # missing signature
        {"site": "acme-home-loans", "signature": "a" * 64},  # missing user id
        {"user_id": "u-42", "signature": "a" * 64},  # missing site
        {"site": "acme-home-loans", "user_id": "u-42", "signature": "not-hex"},
        {"site": "acme-home-loans", "user_id": 42, "signature": "a" * 64},
        {"site": "acme-home-loans", "user_id": "u" * 257, "signature": "a" * 64},
        {"site": "acme-home-loans", "user_id": "u-42", "signature": "a" * 64, "role": "admin"},
        # A NUL reached PostgreSQL and was a 500 (found by the API fuzzer).
        {"site": "acme\u0000", "user_id": "u-42", "signature": "a" * 64},
        {"site": "acme-home-loans", "user_id": "u\u000042", "signature": "a" * 64},
        ["acme-home-loans", "u-42"],
        "{not json",
        "",
    ],
)
def test_malformed_input_is_a_clear_400(client, issued, body):
    response = identify(client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert response.json()["detail"]


@override_settings(WIDGET_IDENTIFY_RATE_LIMIT="3/m")
def test_identify_calls_are_rate_limited_per_address(client, issued):
    body = {"site": "acme-home-loans", "user_id": "u-42", "signature": sign(issued.secret, "u-42")}
    assert [identify(client, body).status_code for _ in range(3)] == [200, 200, 200]
    limited = identify(client, body)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    other = identify(client, body, REMOTE_ADDR="10.9.8.7")
    assert other.status_code == 200


@override_settings(TANDEM_WIDGET_ORIGINS=["https://shop.example"])
def test_the_widget_may_call_it_cross_origin_without_cookies(client, issued):
    preflight = client.options(
        URL, HTTP_ORIGIN="https://shop.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert preflight.status_code == 204
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]
    body = {"site": "acme-home-loans", "user_id": "u-42", "signature": sign(issued.secret, "u-42")}
    response = identify(client, body, HTTP_ORIGIN="https://shop.example")
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "Access-Control-Allow-Credentials" not in response


def test_secrets_are_sealed_at_rest_and_bound_to_their_account(issued):
    row = SiteKey.objects.get(pk=issued.site_key.pk)
    assert issued.secret.encode() not in bytes(row.current_secret)
    assert site_keys.unseal(row.current_secret, row.account_id) == issued.secret
    with pytest.raises(site_keys.SiteKeyError):
        site_keys.unseal(row.current_secret, row.account_id + 1)


def test_a_new_master_key_keeps_secrets_readable_and_reseal_moves_them(issued):
    new_ring = ["next:" + "A" * 43, *settings.RECORDING_KEYS]
    with override_settings(RECORDING_KEYS=new_ring):
        row = SiteKey.objects.get(pk=issued.site_key.pk)
        assert site_keys.sealed_key_id(row.current_secret) != "next"
        assert site_keys.verify(row, "u-42", sign(issued.secret, "u-42"))
        assert site_keys.reseal_all() == 1
        row.refresh_from_db()
        assert site_keys.sealed_key_id(row.current_secret) == "next"
    with override_settings(RECORDING_KEYS=["next:" + "A" * 43]):
        row.refresh_from_db()
        assert site_keys.verify(row, "u-42", sign(issued.secret, "u-42"))


def test_creation_and_rotation_are_audited_without_the_secret(issued):
    site_keys.rotate_site_key(issued.site_key)
    events = AuditEvent.objects.filter(action__startswith="accounts.site_key_").order_by("pk")
    assert [e.action for e in events] == ["accounts.site_key_created", "accounts.site_key_rotated"]
    assert all(issued.secret not in json.dumps(e.details) for e in events)


def test_a_manager_creates_and_rotates_in_the_admin_and_sees_each_secret_once(client):
    manager = services.set_role(make_user("dana", role="agent", agent_level="L3"), "manager")
    client.force_login(manager)
    account = make_account()
    created = client.post("/admin/accounts/sitekey/add/", {"account": account.pk, "site": "acme-home-loans"})
    assert created.status_code == 200
    assert created["Cache-Control"].startswith("max-age=0") or "no-store" in created["Cache-Control"]
    key = SiteKey.objects.get(site="acme-home-loans")
    first = site_keys.unseal(key.current_secret, key.account_id)
    assert first in created.content.decode()
    assert first not in client.get(f"/admin/accounts/sitekey/{key.pk}/change/").content.decode()

    rotated = client.post(
        "/admin/accounts/sitekey/", {"action": "rotate_secret", "_selected_action": [key.pk]}
    )
    key.refresh_from_db()
    second = site_keys.unseal(key.current_secret, key.account_id)
    assert second != first and second in rotated.content.decode()
    assert site_keys.unseal(key.previous_secret, key.account_id) == first


def test_the_admin_refuses_a_malformed_site_id(client):
    manager = services.set_role(make_user("dana", role="agent", agent_level="L3"), "manager")
    client.force_login(manager)
    response = client.post(
        "/admin/accounts/sitekey/add/", {"account": make_account().pk, "site": "Not a slug!"}
    )
    assert response.status_code == 200
    assert not SiteKey.objects.exists()


def test_a_secret_whose_master_key_was_dropped_is_refused_not_a_500(client, issued):
    with override_settings(RECORDING_KEYS=["other:" + "B" * 43]):
        body = {"site": "acme-home-loans", "user_id": "u-42", "signature": sign(issued.secret, "u-42")}
        assert identify(client, body).status_code == 403
