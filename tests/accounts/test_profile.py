"""A customer's data on file: the model's rules, the portal's "Your details" page, the admin, the
import command and ``crm_data``, the shape the assistant reads."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import services
from accounts.models import CustomerProfile, validate_profile_extra
from accounts.profile import crm_data, parse_extra
from audit.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db

URL = "/portal/details/"


def _profile(user, **fields) -> CustomerProfile:
    profile, _created, _changed = services.save_customer_profile(user, fields, actor=user, source="test")
    return profile


def _form(**overrides) -> dict[str, str]:
    data = {
        "address_line1": "12 MG Road",
        "address_line2": "Flat 4",
        "city": "Bengaluru",
        "postal_code": "560001",
        "phone": "+91 80 1234 5678",
        "date_of_birth": "1985-02-14",
        "extra_text": "known_pin: 560001\npolicy_number: HL-2291",
    }
    data.update(overrides)
    return data


# --- the model's rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"Known PIN": "1"},
        {"": "1"},
        {"k" * 41: "1"},
        {"known_pin": 560001},
        {"known_pin": "x" * 201},
        {f"item_{n}": "x" for n in range(31)},
        {"city": "Pune"},  # has its own field
        ["known_pin"],
    ],
)
def test_extra_items_are_refused_when_malformed(extra):
    with pytest.raises(ValidationError):
        validate_profile_extra(extra)


def test_extra_items_at_the_limits_are_kept(customer):
    extra = {f"item_{n}": "x" * 200 for n in range(30)}
    validate_profile_extra(extra)
    assert _profile(customer, extra=extra).extra == extra


def test_bad_fields_are_refused_with_field_errors(customer):
    with pytest.raises(ValidationError) as caught:
        _profile(
            customer,
            postal_code="56 00 01 !",
            phone="call me",
            date_of_birth=date.today() + timedelta(days=1),
        )
    assert {"postal_code", "phone", "date_of_birth"} <= set(caught.value.message_dict)
    assert not CustomerProfile.objects.exists()


def test_only_customers_have_a_profile(agent):
    with pytest.raises(ValidationError):
        services.save_customer_profile(agent, {"city": "Pune"}, actor=agent, source="test")


def test_saving_is_audited_by_field_name_never_value(customer):
    _profile(customer, city="Bengaluru", postal_code="560001")
    event = AuditEvent.objects.get(action="accounts.profile_saved")
    assert event.details == {
        "user": customer.pk,
        "created": True,
        "fields": ["city", "postal_code"],
        "source": "test",
    }
    assert "560001" not in str(event.details) and "Bengaluru" not in str(event.details)


# --- crm_data ------------------------------------------------------------------------------------


def test_crm_data_flattens_the_profile_to_strings(customer):
    _profile(
        customer,
        address_line1="12 MG Road",
        address_line2="Flat 4",
        city="Bengaluru",
        postal_code="560001",
        phone="+91 80 1234 5678",
        date_of_birth=date(1985, 2, 14),
        extra={"known_pin": "560001", "policy_number": "HL-2291", "blank_item": ""},
    )
    assert crm_data(customer) == {
        "address": "12 MG Road, Flat 4",
        "city": "Bengaluru",
        "postal_code": "560001",
        "phone": "+91 80 1234 5678",
        "date_of_birth": "1985-02-14",
        "known_pin": "560001",
        "policy_number": "HL-2291",
    }


def test_crm_data_leaves_out_empty_items(customer):
    _profile(customer, city="Pune")
    assert crm_data(customer) == {"city": "Pune"}


def test_crm_data_is_empty_without_a_profile_or_for_staff(customer, agent):
    assert crm_data(customer) == {}
    assert crm_data(agent) == {}
    assert crm_data(None) == {}


def test_parse_extra_names_the_bad_line():
    assert parse_extra("a: 1\n\n b : two words \n") == {"a": "1", "b": "two words"}
    with pytest.raises(ValueError, match="Line 2"):
        parse_extra("a: 1\nno colon here")
    with pytest.raises(ValueError, match="Line 2"):
        parse_extra("a: 1\na: 2")


# --- the portal page -----------------------------------------------------------------------------


def test_the_portal_navigation_links_to_your_details(client, customer):
    client.force_login(customer)
    html = client.get("/portal/").content.decode()
    assert 'href="/portal/details/"' in html and "Your details" in html


def test_get_shows_the_customers_own_details(client, customer, other_customer):
    _profile(customer, city="Bengaluru", extra={"known_pin": "560001"})
    _profile(other_customer, city="Chennai")
    client.force_login(customer)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bengaluru" in html and "known_pin: 560001" in html
    assert "Chennai" not in html


def test_post_saves_and_redirects(client, customer):
    client.force_login(customer)
    response = client.post(URL, _form())
    assert response.status_code == 302 and response["Location"] == URL
    profile = CustomerProfile.objects.get(user=customer)
    assert profile.city == "Bengaluru" and profile.date_of_birth == date(1985, 2, 14)
    assert profile.extra == {"known_pin": "560001", "policy_number": "HL-2291"}
    # Saving again updates the one profile.
    assert client.post(URL, _form(city="Mysuru", extra_text="")).status_code == 302
    profile = CustomerProfile.objects.get(user=customer)
    assert profile.city == "Mysuru" and profile.extra == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("postal_code", "<script>"),
        ("phone", "ring me"),
        ("date_of_birth", "14/02/1985"),
        ("date_of_birth", "2999-01-01"),
        ("extra_text", "Known PIN: 1"),
        ("extra_text", "no colon"),
        ("extra_text", "city: Pune"),
    ],
)
def test_bad_input_is_a_400_with_the_fields_error(client, customer, field, value):
    client.force_login(customer)
    response = client.post(URL, _form(**{field: value}))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="field__error"' in response.content.decode()
    assert not CustomerProfile.objects.exists()


def test_the_form_needs_its_csrf_token(customer):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    assert strict.post(URL, _form()).status_code == 403
    assert not CustomerProfile.objects.exists()


def test_a_post_cannot_reach_another_customers_profile(client, customer, other_customer):
    """The page has no id: whatever is posted, only the signed-in customer's profile changes."""
    _profile(other_customer, city="Chennai")
    client.force_login(customer)
    client.post(URL, {**_form(), "user": other_customer.pk, "user_id": other_customer.pk})
    assert CustomerProfile.objects.get(user=other_customer).city == "Chennai"
    assert CustomerProfile.objects.get(user=customer).city == "Bengaluru"


def test_signed_out_is_sent_to_sign_in_and_staff_to_their_desk(client, agent):
    assert client.get(URL)["Location"].startswith("/login/")
    client.force_login(agent)
    assert client.get(URL)["Location"] == "/"
    assert client.post(URL, _form()).status_code == 302
    assert not CustomerProfile.objects.exists()


def test_nothing_of_the_profile_is_logged(client, customer, caplog):
    client.force_login(customer)
    with caplog.at_level(logging.DEBUG):
        client.post(URL, _form())
        client.post(URL, _form(phone="nope"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "560001" not in logged and "MG Road" not in logged


# --- the admin -----------------------------------------------------------------------------------


@pytest.fixture
def manager_client(client, manager):
    client.force_login(services.set_role(make_user("dana", role="agent"), "manager"))
    return client


def test_a_manager_corrects_a_profile_in_the_admin(manager_client, customer):
    profile = _profile(customer, city="Bengaluru")
    url = f"/admin/accounts/customerprofile/{profile.pk}/change/"
    assert manager_client.get("/admin/accounts/customerprofile/").status_code == 200
    assert manager_client.get(url).status_code == 200
    response = manager_client.post(url, {**_form(city="Mysuru"), "extra_text": "known_pin: 570001"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.city == "Mysuru" and profile.extra == {"known_pin": "570001"}
    event = AuditEvent.objects.filter(action="accounts.profile_saved").latest("id")
    assert event.details["source"] == "admin"


def test_the_admin_refuses_what_the_portal_refuses(manager_client, customer):
    profile = _profile(customer, city="Bengaluru")
    url = f"/admin/accounts/customerprofile/{profile.pk}/change/"
    response = manager_client.post(url, _form(postal_code="!!"))
    assert response.status_code == 200 and "postal_code" in response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert profile.postal_code == ""


def test_the_admin_adds_profiles_for_customers_only(manager_client, customer, agent):
    response = manager_client.post("/admin/accounts/customerprofile/add/", {**_form(), "user": agent.pk})
    assert response.status_code == 200 and "user" in response.context["adminform"].form.errors
    response = manager_client.post("/admin/accounts/customerprofile/add/", {**_form(), "user": customer.pk})
    assert response.status_code == 302
    assert CustomerProfile.objects.get(user=customer).city == "Bengaluru"


# --- the import command --------------------------------------------------------------------------


def _import(tmp_path, text: str, *args: str) -> str:
    path = tmp_path / "profiles.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("import_customer_profiles", str(path), *args, stdout=out)
    return out.getvalue()


def test_import_creates_and_updates_by_username_or_email(tmp_path, customer, other_customer):
    _profile(other_customer, city="Chennai", phone="+91 44 1111 2222", extra={"a": "1"})
    out = _import(
        tmp_path,
        "username,city,postal_code,date_of_birth,extra.known_pin\n"
        "customer1,Bengaluru,560001,1985-02-14,560001\n"
        "customer2,Pune,,,411001\n",
    )
    assert "line 2: created" in out and "line 3: updated (city, extra)" in out
    assert "1 created, 1 updated, 0 unchanged, 0 skipped." in out
    assert crm_data(customer) == {
        "city": "Bengaluru",
        "postal_code": "560001",
        "date_of_birth": "1985-02-14",
        "known_pin": "560001",
    }
    # Empty cells left the other customer's phone as it was; extra items merged.
    assert crm_data(other_customer) == {
        "city": "Pune",
        "phone": "+91 44 1111 2222",
        "a": "1",
        "known_pin": "411001",
    }
    assert AuditEvent.objects.filter(action="accounts.profiles_imported").get().details == {
        "created": 1,
        "updated": 1,
        "skipped": 0,
    }
    out = _import(tmp_path, "email,city\nCUSTOMER1@example.com,Bengaluru\n")
    assert "0 created, 0 updated, 1 unchanged, 0 skipped." in out


def test_import_skips_bad_rows_with_line_and_reason_never_the_value(tmp_path, customer, agent):
    out = _import(
        tmp_path,
        "username,postal_code,phone,extra.Bad Name\n"
        "customer1,560001,+91 80 1234 5678,\n"
        "nobody-here,560001,,\n"
        "agent2,560001,,\n"
        "customer1,!!bad!!,,\n"
        "customer1,560001,,x\n"
        ",560001,,\n"
        "customer1,560001,,,surplus\n",
    )
    assert "line 2: created" in out
    assert "line 3: skipped: no user with that username" in out
    assert "line 4: skipped: that user is not a customer" in out
    assert "line 5: skipped: postal_code:" in out
    assert "line 6: skipped: extra:" in out
    assert "line 7: skipped: no username given" in out
    assert "line 8: skipped: more cells than columns" in out
    assert "1 created, 0 updated, 0 unchanged, 6 skipped." in out
    assert "!!bad!!" not in out and "nobody-here" not in out
    assert CustomerProfile.objects.get(user=customer).postal_code == "560001"


def test_import_dry_run_saves_nothing(tmp_path, customer):
    out = _import(tmp_path, "username,city\ncustomer1,Bengaluru\n", "--dry-run")
    assert "line 2: would be created" in out and out.strip().endswith(
        "1 created, 0 updated, 0 unchanged, 0 skipped."
    )
    assert "Dry run, nothing saved" in out
    assert not CustomerProfile.objects.exists()
    assert not AuditEvent.objects.filter(action="accounts.profiles_imported").exists()


def test_import_atomic_saves_nothing_when_a_row_is_bad(tmp_path, customer, other_customer):
    with pytest.raises(CommandError, match="nothing was saved"):
        _import(tmp_path, "username,city,phone\ncustomer1,Bengaluru,\ncustomer2,Pune,bad phone\n", "--atomic")
    assert not CustomerProfile.objects.exists()
    out = _import(tmp_path, "username,city\ncustomer1,Bengaluru\ncustomer2,Pune\n", "--atomic")
    assert "2 created" in out and CustomerProfile.objects.count() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("city,phone\nPune,\n", "username"),
        ("username,email,city\n", "username"),
        ("username,favourite_colour\n", "Unknown column"),
    ],
)
def test_import_refuses_a_bad_header(tmp_path, customer, text, message):
    with pytest.raises(CommandError, match=message):
        _import(tmp_path, text)


def test_import_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_customer_profiles", str(tmp_path / "absent.csv"), stdout=StringIO())
