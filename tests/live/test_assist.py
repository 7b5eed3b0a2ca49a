"""The assistant over the live sockets: a stall on the PIN code field with a postal code on file
reaches the session's staff as an ``assist`` message with an autofill; the same situation again sends
nothing new; the customer and the customer's team never receive it; a masked field never carries a
value; with no agent connected the customer's page gets the prompt as a guidance text."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from accounts.models import CustomerProfile
from cobrowse.assist import dispatch
from tests.cobrowse.assist.pages import SECRETS, field, loan_page
from tests.consent.helpers import consent, team_grant
from tests.factories import make_account, make_ticket, make_user
from tests.live.test_consumers import _agent, _customer, _msg, _receive_type
from tests.live.test_consumers_team import _team

pytestmark = pytest.mark.django_db(transaction=True)

PIN = "560001"
_serial = iter(range(10_000))


@pytest.fixture(autouse=True)
def _no_rate_window(monkeypatch):
    """Each evaluation may run at once (the 2 s cap has its own test); dedupe still holds."""
    monkeypatch.setattr(dispatch, "PROPOSE_EVERY_S", 0)


@database_sync_to_async
def _setup(mode: str = "controlled", selectors: tuple[str, ...] = ()):
    n = next(_serial)
    account = make_account(f"Acme Home Loans {n}", redaction_selectors=list(selectors))
    customer = make_user(f"meera{n}", role="customer", account=account)
    CustomerProfile.objects.create(user=customer, postal_code=PIN, city="Bengaluru")
    agent = make_user(f"priya{n}", role="agent", agent_level="L2", first_name="Priya")
    session, grant = consent(make_ticket(customer), agent, mode=mode)
    return session, grant, agent


def _el(node_id: int, tag: str, attrs: dict, children=()) -> dict:
    return {"type": 2, "id": node_id, "tagName": tag, "attributes": attrs, "childNodes": list(children)}


def _snapshot() -> dict:
    """The loan form's nodes, so the relay knows which node each field is."""
    form = _el(
        20,
        "form",
        {"action": "/apply"},
        [
            _el(21, "input", {"type": "text", "id": "full_name", "name": "full_name"}),
            _el(22, "input", {"type": "text", "id": "property_pin_code", "name": "property_pin_code"}),
            _el(23, "input", {"type": "text", "id": "mothers_name", "name": "mothers_name"}),
        ],
    )
    html = _el(2, "html", {}, [_el(4, "body", {}, [form])])
    return {
        "type": 2,
        "timestamp": 1,
        "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}, "initialOffset": {"top": 0, "left": 0}},
    }


def _stall(**overrides) -> dict:
    page = loan_page(**{"stalled_ms": 25_000, **overrides})
    page["page_id"] = "p1"  # the page load the customer's hello named
    return page


async def _frames(comm, wait: float = 0.6) -> list[dict]:
    """Everything the socket received within ``wait`` seconds (a timed-out receive would cancel
    the application, so the queue is polled instead)."""
    out = []
    deadline = asyncio.get_running_loop().time() + wait
    while asyncio.get_running_loop().time() < deadline:
        if not await comm.receive_nothing(timeout=0.05, interval=0.01):
            out.append(await comm.receive_json_from())
    return out


async def _start(mode: str = "controlled", selectors: tuple[str, ...] = (), with_agent: bool = True):
    session, grant, agent = await _setup(mode, selectors)
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    agent_comm = None
    if with_agent:
        agent_comm = await _agent(session.pk, agent)
        await _receive_type(agent_comm, "welcome")
    await customer.send_json_to(_msg("rrweb", {"events": [_snapshot()], "page_id": "p1"}, 1))
    if agent_comm is not None:
        await _receive_type(agent_comm, "rrweb")
    return session, agent, customer, agent_comm


async def test_a_pin_code_stall_reaches_the_agent_as_an_autofill_from_data_on_file_once():
    session, agent, customer, agent_comm = await _start()
    manager = await database_sync_to_async(make_user)("mgr-assist", role="manager")
    manager_comm = await _agent(session.pk, manager)
    await _receive_type(manager_comm, "welcome")
    _viewer, viewer_grant = await database_sync_to_async(team_grant)(session)
    team = await _team(session.pk, viewer_grant)
    await _receive_type(team, "welcome")

    await customer.send_json_to(_msg("page", _stall(), 2))
    assist = (await _receive_type(agent_comm, "assist"))["data"]
    fills = [p for p in assist["proposals"] if p["kind"] == "autofill"]
    assert fills == [
        {"kind": "autofill", "field": "property_pin_code", "value": PIN, "source": "crm_data.postal_code"}
    ]
    assert {"kind": "highlight", "field": "property_pin_code"} in assist["proposals"]
    summary = assist["context_summary"]
    assert (summary["field"], summary["trigger"], summary["completion_pct"]) == (
        "property_pin_code",
        "stall",
        50,
    )
    assert summary["url"] == "http://localhost:8001/apply" and summary["stall_ms"] == 25_000
    # A manager watching is staff: the same message.
    assert (await _receive_type(manager_comm, "assist"))["data"] == assist

    # The same stall five seconds on (the widget's heartbeat): nothing new is sent; asked afresh
    # (as a reloaded page's socket would), the proposals did not change: nothing to send either.
    await customer.send_json_to(_msg("page", _stall(stalled_ms=30_000), 3))
    assert [f for f in await _frames(agent_comm, 1.0) if f["type"] == "assist"] == []
    assert await database_sync_to_async(dispatch.evaluate)(session.pk) == dispatch.Outcome()

    # The customer and the customer's team never hear of it.
    assert "assist" not in {f["type"] for f in await _frames(team, 0.2)}
    customer_frames = await _frames(customer, 0.2)
    assert "assist" not in {f["type"] for f in customer_frames}
    # An agent is here: no prompt goes to the page on its own.
    assert "annotate" not in {f["type"] for f in customer_frames}

    # A console that reconnects starts from the last proposals.
    rejoined = await _agent(session.pk, agent)
    await _receive_type(rejoined, "welcome")
    assert (await _receive_type(rejoined, "assist"))["data"] == assist
    for comm in (customer, agent_comm, manager_comm, team, rejoined):
        await comm.disconnect()


async def test_a_new_situation_sends_new_proposals():
    session, agent, customer, agent_comm = await _start()
    await customer.send_json_to(_msg("page", _stall(), 2))
    first = (await _receive_type(agent_comm, "assist"))["data"]
    await customer.send_json_to(_msg("page", _stall(rage_clicks=1), 3))
    second = (await _receive_type(agent_comm, "assist"))["data"]
    assert second != first
    assert any(p.get("trigger") == "rage_click" for p in second["proposals"])
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_masked_field_never_appears_with_a_value():
    # The account masks the PIN code by selector, and the page marks another field masked itself.
    session, agent, customer, agent_comm = await _start(selectors=("[name=property_pin_code]",))
    page = _stall(
        fields=[
            field("full_name", label="Full name", value="Meera Iyer", status="complete"),
            field("property_pin_code", label="Property PIN code", value=SECRETS["aadhaar"], status="active"),
            field("pin", label="PIN code", masked=True, type="text"),
        ]
    )
    await customer.send_json_to(_msg("page", page, 2))
    assist = (await _receive_type(agent_comm, "assist"))["data"]
    kinds = {p["kind"] for p in assist["proposals"]}
    assert "autofill" not in kinds and "prompt" in kinds
    assert all("value" not in p for p in assist["proposals"])
    assert SECRETS["aadhaar"] not in str(assist) and PIN not in str(assist)
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_with_no_agent_connected_the_customer_gets_the_prompt():
    session, agent, customer, _ = await _start(mode="guided", with_agent=False)
    await customer.send_json_to(_msg("page", _stall(), 2))
    annotate = (await _receive_type(customer, "annotate"))["data"]
    assert annotate["kind"] == "text" and annotate["page_id"] == "p1"
    assert annotate["node_id"] == 22  # pointed at the PIN code field the page reported
    # The offer to fill in is the agent's to make: the page gets the plain question.
    assert annotate["text"] == "Need help with this field?"
    # The same situation again: no second prompt.
    await customer.send_json_to(_msg("page", _stall(stalled_ms=30_000), 3))
    assert "annotate" not in {f["type"] for f in await _frames(customer, 0.8)}
    await customer.disconnect()


async def test_with_no_agent_and_view_only_the_page_gets_nothing():
    session, agent, customer, _ = await _start(mode="view_only", with_agent=False)
    await customer.send_json_to(_msg("page", _stall(), 2))
    assert "annotate" not in {f["type"] for f in await _frames(customer, 1.0)}
    await customer.disconnect()


async def test_typing_into_a_field_masked_by_the_accounts_selector_is_refused():
    session, agent, customer, agent_comm = await _start(selectors=("[name=mothers_name]",))
    await agent_comm.send_json_to(
        _msg("action", {"kind": "autofill", "node_id": 23, "page_id": "p1", "value": "Asha"}, 0)
    )
    error = await _receive_type(agent_comm, "error")
    assert error["data"]["message"] == "masked fields can never be read or changed"
    assert "action_request" not in {f["type"] for f in await _frames(customer, 0.3)}
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_evaluations_are_capped_per_session(monkeypatch):
    monkeypatch.setattr(dispatch, "PROPOSE_EVERY_S", 2)
    session, agent, customer, agent_comm = await _start()
    await database_sync_to_async(dispatch.evaluate)(session.pk)  # takes the session's window
    calls = []
    monkeypatch.setattr(dispatch, "propose", lambda context: calls.append(context) or [])
    assert await database_sync_to_async(dispatch.evaluate)(session.pk) == dispatch.Outcome()
    assert calls == []
    await customer.disconnect()
    await agent_comm.disconnect()
