"""Friction signals and disconnects the relay sees are kept for the manager pages, by page and field,
through the interface the analytics app subscribes to; a failing subscriber never breaks the relay."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from analytics.models import Disconnect, PageSignal
from cobrowse import page_signals
from tests.live.test_consumers import _msg, _pair, _receive_type

pytestmark = pytest.mark.django_db(transaction=True)

IBAN = "GB82 WEST 1234 5698 7654 32"


def _page(url: str) -> dict:
    return {
        "page_id": "p1",
        "url": url,
        "title": "Apply",
        "fields": [],
        "completion": 40,
        "focused": "iban",
        "stalled_ms": 0,
        "rage_clicks": 0,
        "scroll_depth": 10,
    }


async def test_signals_are_kept_by_page_and_field_without_what_was_typed():
    session, _grant, _agent, customer, agent_comm, _ = await _pair()
    # The hello said http://localhost:8001/apply; a page message moves it (query and fragment dropped).
    await customer.send_json_to(_msg("signal", {"kind": "stall", "field": "amount"}, 1))
    await _receive_type(agent_comm, "signal")
    await customer.send_json_to(
        _msg("page", _page("http://localhost:8001/apply/step-2?ref=998877665#top"), 2)
    )
    await _receive_type(agent_comm, "page")
    detail = f"{IBAN} is not a valid IBAN"
    await customer.send_json_to(
        _msg("signal", {"kind": "validation_error", "field": "iban", "detail": detail}, 3)
    )
    await _receive_type(agent_comm, "signal")
    rows = await database_sync_to_async(
        lambda: list(
            PageSignal.objects.filter(session=session)
            .order_by("id")
            .values("kind", "page_url", "field", "detail")
        )
    )()
    assert rows[0] == {
        "kind": "stall",
        "page_url": "http://localhost:8001/apply",
        "field": "amount",
        "detail": "",
    }
    assert rows[1]["page_url"] == "http://localhost:8001/apply/step-2"
    assert (rows[1]["kind"], rows[1]["field"]) == ("validation_error", "iban")
    assert "5698" not in rows[1]["detail"] and "is not a valid IBAN" in rows[1]["detail"]
    await customer.disconnect(code=1006)
    causes = await database_sync_to_async(lambda: list(Disconnect.objects.values_list("code", "cause")))()
    assert causes == [(1006, "network")]
    await agent_comm.disconnect()


async def test_a_failing_subscriber_does_not_break_the_relay():
    def broken(signal):
        raise RuntimeError("analytics database down")

    page_signals.on_signal(broken)
    try:
        session, _grant, _agent, customer, agent_comm, _ = await _pair()
        await customer.send_json_to(_msg("signal", {"kind": "rage_click", "field": "submit"}, 1))
        relayed = await _receive_type(agent_comm, "signal")
        assert relayed["data"]["kind"] == "rage_click"
        kept = await database_sync_to_async(PageSignal.objects.filter(session=session).count)()
        assert kept == 1  # the other subscriber still kept it
        await customer.disconnect()
        await agent_comm.disconnect()
    finally:
        page_signals._signal_handlers.remove(broken)


def test_page_addresses_and_causes():
    assert (
        page_signals.page_address("https://bank.example/loan/apply?id=1#f")
        == "https://bank.example/loan/apply"
    )
    assert page_signals.page_address("not a url") == ""
    assert page_signals.disconnect_cause(1001) == "page_left"
    assert page_signals.disconnect_cause(1006) == "network"
    assert page_signals.disconnect_cause(3999) == "other"
    assert page_signals.disconnect_cause(None) == "unknown"
