import pytest
from django.core.exceptions import ValidationError

from accounts.models import CustomerAccount
from live.services import usable_selectors


def test_account_rejects_selectors_the_redactor_cannot_parse():
    account = CustomerAccount(name="X", redaction_selectors=["#ok", "div > p ~ span::after"])
    with pytest.raises(ValidationError) as exc:
        account.clean()
    assert "redaction_selectors" in exc.value.message_dict


def test_account_rejects_origins_that_are_not_urls():
    account = CustomerAccount(name="X", allowed_origins=["app.example.com"])
    with pytest.raises(ValidationError):
        account.clean()


def test_valid_account_passes():
    CustomerAccount(
        name="X", redaction_selectors=["#ssn", ".secret, [data-x]"], allowed_origins=["https://a.example"]
    ).clean()


def test_live_relay_skips_unparseable_selectors_instead_of_failing():
    assert usable_selectors(["#ssn", "div > p ~ span::after", ".x"]) == ("#ssn", ".x")
