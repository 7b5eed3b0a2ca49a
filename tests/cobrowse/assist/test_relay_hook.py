"""The relay keeps each session's latest page context, redacted, for the assistant."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from cobrowse.assist import context, store
from config.asgi import application
from tests.cobrowse.assist.pages import SECRETS, field, loan_page
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _session():
    account = make_account("Acme Home Loans", redaction_selectors=["[name=mothers_name]"])
    customer = make_user("meera", role="customer", account=account)
    agent = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    return consent(make_ticket(customer), agent, mode="guided")


def _msg(msg_type: str, data: dict, seq: int) -> dict:
    return {"type": msg_type, "seq": seq, "ts": 1_700_000_000_000 + seq, "data": data}


async def _until(check, timeout: float = 5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (found := check()):
        assert asyncio.get_running_loop().time() < deadline, "the page context was not kept"
        await asyncio.sleep(0.02)
    return found


async def test_a_page_message_is_kept_as_the_sessions_context_redacted():
    session, grant = await _session()
    comm = WebsocketCommunicator(
        application, f"/ws/cobrowse/{session.pk}/customer/", headers=[(b"origin", b"http://localhost:8001")]
    )
    assert (await comm.connect())[0]
    hello = {
        "grant": grant,
        "page_id": "p-loan",
        "last_acked_seq": -1,
        "url": "http://localhost:8001/apply",
        "title": "Apply",
    }
    await comm.send_json_to(_msg("hello", hello, 0))
    page = loan_page(
        stalled_ms=21_000,
        fields=[
            field("mother", name="mothers_name", label="Mother's name", value=SECRETS["mother"]),
            field("pan", label="Tax id", value=SECRETS["pan"]),
            field("property_pin_code", label="PIN code", status="active"),
        ],
    )
    await comm.send_json_to(_msg("page", page, 1))
    kept = await _until(lambda: store.load_page(session.pk))
    assert kept["stalled_ms"] == 21_000 and kept["focused"] == "property_pin_code"
    # Stored as the agents saw it: the relay's redactor ran before the write.
    assert {f["id"]: f.get("value") for f in kept["fields"]} == {
        "mother": None,
        "pan": None,
        "property_pin_code": "",
    }
    assert SECRETS["pan"] not in str(kept) and SECRETS["mother"] not in str(kept)
    built = await database_sync_to_async(context.session_context)(session.pk)
    assert built["page"]["form_state"]["current_field_focus"] == "property_pin_code"
    await comm.disconnect()
