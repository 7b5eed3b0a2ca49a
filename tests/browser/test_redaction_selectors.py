"""The server browser's boxes cover what the account's masking covers: its own selectors and those
of its industry presets."""

from __future__ import annotations

import pytest

from browser import redaction
from masking.presets import PRESETS
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user


@pytest.mark.django_db
def test_boxes_cover_the_accounts_selectors_and_its_presets():
    account = make_account(
        "CarePlus Clinics", redaction_selectors=["#member-notes"], masking_presets=["healthcare"]
    )
    customer = make_user("pat", role="customer", account=account)
    agent = make_user("agent2", role="agent", agent_level="L2")
    session, _token = start(make_ticket(customer), agent)
    selectors = redaction.account_selectors(session)
    assert selectors[0] == "#member-notes"
    assert set(PRESETS["healthcare"]) <= set(selectors)
