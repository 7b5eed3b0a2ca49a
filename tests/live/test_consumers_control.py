"""Guidance and control over the live sockets: forged agent messages are refused by the server
whatever the widget would do; approvals, hand-over, rate limits and the viewer cap."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async

from cobrowse.models import ActionRequest, ActionRequestState
from live.consumers import agent as agent_consumer
from tests.factories import make_user
from tests.live.test_consumers import _agent, _msg, _pair, _receive_type

pytestmark = pytest.mark.django_db(transaction=True)


def _form_page() -> dict:
    """A page with a form: a name field, a password, a card field and a submit button."""

    def el(node_id, tag, attrs, children=()):
        return {"type": 2, "id": node_id, "tagName": tag, "attributes": attrs, "childNodes": list(children)}

    form = el(
        20,
        "form",
        {"action": "/apply"},
        [
            el(21, "input", {"type": "text", "name": "full_name"}),
            el(22, "input", {"type": "password", "name": "pw"}),
            el(23, "input", {"type": "text", "autocomplete": "cc-number"}),
            el(24, "button", {}, [{"type": 3, "id": 25, "textContent": "Continue"}]),
            el(26, "select", {"name": "property"}),
            el(27, "input", {"type": "file", "name": "payslip"}),
        ],
    )
    body = el(4, "body", {}, [form, el(30, "button", {"type": "button"})])
    html = el(2, "html", {}, [body])
    return {
        "type": 2,
        "timestamp": 1,
        "data": {"node": {"type": 0, "id": 1, "childNodes": [html]}, "initialOffset": {"top": 0, "left": 0}},
    }


async def _pair_with_page(mode: str):
    session, grant, agent, customer, agent_comm, _ = await _pair(mode)
    await customer.send_json_to(_msg("rrweb", {"events": [_form_page()], "page_id": "p1"}, 1))
    await _receive_type(agent_comm, "rrweb")
    return session, agent, customer, agent_comm


def _action(kind: str, node_id: int, value: str | None = None, seq: int = 0) -> dict:
    data = {"kind": kind, "node_id": node_id, "page_id": "p1"}
    if value is not None:
        data["value"] = value
    return _msg("action", data, seq)


@pytest.mark.parametrize("mode", ["view_only", "guided"])
async def test_actions_above_the_mode_are_refused(mode):
    session, agent, customer, agent_comm = await _pair_with_page(mode)
    await agent_comm.send_json_to(_action("type", 21, "Asha"))
    error = await _receive_type(agent_comm, "error")
    assert error["data"]["code"] == "not_allowed"
    assert "control" in error["data"]["message"]
    await customer.disconnect()
    await agent_comm.disconnect()


@pytest.mark.parametrize(
    ("kind", "node_id", "value", "expected"),
    [
        ("type", 22, "hunter2", "never"),  # password field
        ("type", 23, "4111111111111111", "never"),  # card field
        ("click", 24, None, "submit"),  # a button in a form submits by default
        ("click", 27, None, "never"),  # file input
        ("type", 21, "Asha\n", "Enter"),  # Enter in a field that submits
        ("type", 999, "x", "not on the customer's current page"),  # unknown or stale node
        ("select", 21, "x", "drop-down"),
    ],
)
async def test_forged_actions_are_refused_even_in_full_control(kind, node_id, value, expected):
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    await database_sync_to_async(type(session).objects.filter(pk=session.pk).update)(mode="full")
    await agent_comm.send_json_to(_action(kind, node_id, value))
    error = await _receive_type(agent_comm, "error")
    assert expected in error["data"]["message"]
    count = await database_sync_to_async(ActionRequest.objects.filter(session_id=session.pk).count)()
    assert count == 0
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_controlled_action_is_put_to_the_customer_and_the_answer_reaches_the_agent():
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    await agent_comm.send_json_to(_action("type", 21, "Asha Rao"))
    request = await _receive_type(customer, "action_request")
    assert request["data"]["value"] == "Asha Rao" and request["data"]["agent_name"] == "Priya"
    await customer.send_json_to(
        _msg("decision", {"request_id": request["data"]["request_id"], "approved": True}, 2)
    )
    decision = await _receive_type(agent_comm, "decision")
    assert decision["data"]["approved"] is True
    state = await database_sync_to_async(lambda: ActionRequest.objects.get(session_id=session.pk).state)()
    assert state == ActionRequestState.APPROVED
    await customer.send_json_to(
        _msg("action_result", {"request_id": request["data"]["request_id"], "ok": True, "detail": "typed"}, 3)
    )
    assert (await _receive_type(agent_comm, "action_result"))["data"]["ok"] is True
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_click_on_a_plain_button_is_allowed_in_full_control_without_a_prompt():
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    await database_sync_to_async(type(session).objects.filter(pk=session.pk).update)(mode="full")
    await agent_comm.send_json_to(_action("click", 30))
    action = await _receive_type(customer, "action")
    assert action["data"]["node_id"] == 30
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_a_customer_cannot_answer_another_sessions_request():
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    await customer.send_json_to(_msg("decision", {"request_id": "action:999999", "approved": True}, 2))
    assert (await _receive_type(customer, "error"))["data"]["code"] == "unknown_request"
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_more_than_ten_actions_a_second_are_rate_limited(monkeypatch):
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    # The consumer's clock stands still: all eleven arrive within one second, however slowly a
    # busy machine delivers them (the event loop keeps its own clock).
    monkeypatch.setattr(agent_consumer, "time", SimpleNamespace(monotonic=lambda: 1000.0))
    for i in range(11):
        await agent_comm.send_json_to(_action("click", 30, seq=i))
    error = await _receive_type(agent_comm, "error", code="rate_limited")
    assert "10" in error["data"]["message"]
    await customer.disconnect()
    await agent_comm.disconnect()


async def test_fourth_viewer_is_refused_and_control_is_handed_over_explicitly():
    session, agent, customer, agent_comm = await _pair_with_page("controlled")
    managers = [
        await database_sync_to_async(make_user)(f"m{session.pk}-{i}", role="manager") for i in range(3)
    ]
    second = await _agent(session.pk, managers[0])
    await _receive_type(second, "welcome")
    third = await _agent(session.pk, managers[1])
    await _receive_type(third, "welcome")
    fourth = await _agent(session.pk, managers[2])
    error = await _receive_type(fourth, "error")
    assert "maximum" in error["data"]["message"]
    assert (await fourth.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4409}

    # A viewer cannot act while the agent holds control.
    await second.send_json_to(_action("click", 30))
    assert (await _receive_type(second, "error"))["data"]["code"] == "not_allowed"
    # The agent hands control to the first manager; the customer sees who holds it.
    await agent_comm.send_json_to(_msg("handover", {"to_user_id": managers[0].pk}, 1))
    control = await _receive_type(customer, "control")
    assert control["data"]["holder"] == managers[0].display_name
    # Whoever joins now is told who holds control.
    await third.disconnect()
    third = await _agent(session.pk, managers[1])
    assert (await _receive_type(third, "welcome"))["data"]["controller"] == managers[0].first_name
    await second.send_json_to(_action("type", 21, "Asha", seq=1))
    assert (await _receive_type(customer, "action_request"))["data"]["value"] == "Asha"
    await agent_comm.send_json_to(_action("click", 30, seq=2))
    assert (
        "holds control" in (await _receive_type(agent_comm, "error", code="not_allowed"))["data"]["message"]
    )
    for comm in (customer, agent_comm, second, third):
        await comm.disconnect()


async def test_an_invited_colleague_joins_as_a_viewer_and_others_are_refused():
    from cobrowse import services as session_services

    session, agent, customer, agent_comm = await _pair_with_page("guided")
    colleague = await database_sync_to_async(make_user)(
        f"colleague{session.pk}", role="agent", agent_level="L1"
    )
    refused = await _agent(session.pk, colleague)
    await _receive_type(refused, "error")
    assert (await refused.receive_output(timeout=5)) == {"type": "websocket.close", "code": 4403}
    await database_sync_to_async(session_services.invite_viewer)(session.pk, actor=agent, user=colleague)
    watching = await _agent(session.pk, colleague)
    assert (await _receive_type(watching, "welcome"))["data"]["role"] == "viewer"
    for comm in (customer, agent_comm, watching):
        await comm.disconnect()
