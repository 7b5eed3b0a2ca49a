"""Industry masking presets on a customer account: validated, and extending the account's selectors."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import CustomerAccount
from cobrowse.masking.redactor import Redactor
from live import services as live
from masking.presets import PRESETS, preset_selectors
from masking.selector import parse_selectors
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user


def test_every_preset_selector_is_understood_by_the_server():
    for name, selectors in PRESETS.items():
        assert len(parse_selectors(selectors)) == len(selectors), name


def test_an_unknown_preset_is_refused_with_the_field_named():
    account = CustomerAccount(name="X", masking_presets=["healthcare", "dentistry"])
    with pytest.raises(ValidationError) as exc:
        account.clean()
    assert "dentistry" in str(exc.value.message_dict["masking_presets"])


def test_presets_must_be_a_list_of_names():
    with pytest.raises(ValidationError):
        CustomerAccount(name="X", masking_presets="healthcare").clean()


def test_presets_extend_the_accounts_own_selectors():
    account = CustomerAccount(name="X", redaction_selectors=["#secret"], masking_presets=["finance"])
    account.clean()
    assert account.masking_selectors == ["#secret", *preset_selectors(["finance"])]
    assert CustomerAccount(name="Y").masking_selectors == []


@pytest.mark.django_db
def test_the_live_session_masks_with_the_presets():
    account = make_account("CarePlus Clinics", masking_presets=["healthcare"], redaction_selectors=["#note"])
    customer = make_user("pat", role="customer", account=account)
    agent = make_user("ana", role="agent", agent_level="L2")
    session, _grant = consent(make_ticket(customer), agent)
    selectors = live.current(session.pk).selectors
    assert selectors[0] == "#note"
    assert set(preset_selectors(["healthcare"])) <= set(selectors)


def _field(attrs: dict) -> dict:
    node = {
        "type": 2,
        "tagName": "input",
        "attributes": {**attrs, "value": "A-77"},
        "id": 20,
        "childNodes": [],
    }
    return {"type": 2, "timestamp": 1, "data": {"node": {"type": 0, "id": 1, "childNodes": [node]}}}


@pytest.mark.parametrize(
    ("preset", "attrs"),
    [
        ("healthcare", {"name": "patientMRN"}),
        ("healthcare", {"id": "insurance-member"}),
        ("healthcare", {"name": "DOB", "type": "date"}),
        ("healthcare", {"autocomplete": "bday-year"}),
        ("healthcare", {"aria-label": "Date of Birth"}),
        ("finance", {"name": "AccountNumber"}),
        ("finance", {"placeholder": "Routing number"}),
    ],
)
def test_a_preset_masks_fields_no_pattern_recognises(preset, attrs):
    redactor = Redactor(preset_selectors([preset]), strict=True)
    out = redactor.redact_events([_field(attrs)], "p")
    assert out[0]["data"]["node"]["childNodes"][0]["attributes"]["value"] == "******"
    plain = Redactor(strict=True).redact_events([_field(attrs)], "p")
    assert plain[0]["data"]["node"]["childNodes"][0]["attributes"]["value"] == "A-77"


def test_a_preset_leaves_other_fields_alone():
    redactor = Redactor(preset_selectors(["healthcare", "finance"]), strict=True)
    out = redactor.redact_events([_field({"name": "first_name", "placeholder": "Destination city"})], "p")
    assert out[0]["data"]["node"]["childNodes"][0]["attributes"]["value"] == "A-77"
