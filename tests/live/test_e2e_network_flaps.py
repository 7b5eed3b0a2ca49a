"""A customer's network flapping 20 times a minute while they type, in real Chromium.

The customer's socket runs through Playwright so that "offline" drops it on both sides (Chromium's
offline emulation alone leaves an open WebSocket up) and refuses new ones, like a dead network.
At the end there is still one session, live; the agent's replay holds the last value typed and saw
every rrweb batch once, in order; the widget never held more than its bounds; the server's state of
the session did not grow with the drops, and each drop left one ``Disconnect`` row.
"""

from __future__ import annotations

import json
import re
import string
import time

import pytest
import redis
from django.conf import settings

from analytics.models import Disconnect
from cobrowse.models import CoBrowseSession, Participant, SessionState
from tests.cobrowse.test_e2e_live import off_loop, replay_value, session_state, wait_until
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live_server import answer_consent_card, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,  # 20 drops a minute take a minute: `make test-slow`
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("built_bundles"),
]

FLAPS = 20
PERIOD_S = 3.0  # 20 a minute: offline for the first half of each period, online for the second
FIELD = "#address-line1"
STREAM = ("rrweb", "page", "signal")
#: The widget's outbox bounds (frontend/widget/recorder/outbox.js).
OUTBOX_MAX_MESSAGES = 500
OUTBOX_MAX_CHARS = 2_000_000
SOCKET = re.compile(r"/ws/cobrowse/\d+/customer/$")


def _messages(frames: list[str]) -> list[dict]:
    """The envelopes of a socket's frames, ``part`` frames joined back into their message."""
    out: list[dict] = []
    bodies: list[str] = []
    for raw in frames:
        message = json.loads(raw)
        if message.get("type") != "part":
            out.append(message)
            continue
        data = message["data"]
        if data.get("index") == 0:
            bodies = []
        bodies.append(data["body"])
        if len(bodies) == data["count"]:
            out.append(json.loads("".join(bodies)))
            bodies = []
    return out


def _batches(messages: list[dict]) -> dict[str, list[int]]:
    """The batch numbers the agent received, per page load, in the order they arrived."""
    seen: dict[str, list[int]] = {}
    for message in messages:
        if message.get("type") != "rrweb":
            continue
        for event in message["data"].get("events", []):
            data = event.get("data") if isinstance(event, dict) else None
            if isinstance(data, dict) and data.get("tag") == "tandem/batch":
                seen.setdefault(message["data"]["page_id"], []).append(data["payload"]["batch"])
    return seen


def _count(welcomes: list[int | None]) -> int:
    return sum(1 for at in welcomes if at is not None)


def _relay_keys(session_id: int) -> list[str]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "tandem")
    return sorted(k.decode() for k in client.scan_iter(f"{prefix}:*:{session_id}:*"))


def test_twenty_drops_a_minute_leave_one_consistent_session(live_server_asgi, demo_site, browser):
    base = live_server_asgi.url
    account = make_account("Acme Home Loans", site_url=f"{demo_site}/", allowed_origins=[demo_site])
    customer = make_user("dana", role="customer", account=account)
    agent_user = make_user("priya", role="agent", agent_level="L2", first_name="Priya")
    ticket = make_ticket(customer)
    session, token = off_loop(start, ticket, agent_user, target_url=f"{demo_site}/apply/address")

    customer_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    agent_ctx = browser.new_context(viewport={"width": 1440, "height": 960})
    network = {"offline": False, "sockets": [], "connects": 0, "refused": 0, "drops": 0}
    # What the page sent on each of its sockets (a socket: the frames after its hello).
    sent: list[list[str]] = []

    def customer_socket(ws) -> None:
        if network["offline"]:
            network["refused"] += 1
            ws.close(code=1011, reason="offline")
            return
        network["connects"] += 1
        server = ws.connect_to_server()
        link = {"dead": False}
        # Forwarded by hand, so that a dead link carries nothing either way; neither side's close
        # is passed on to the other by itself.
        ws.on_message(lambda m: None if link["dead"] else server.send(m))
        server.on_message(lambda m: None if link["dead"] else ws.send(m))
        ws.on_close(lambda code, reason: None)
        server.on_close(lambda code, reason: None)
        network["sockets"].append((ws, link))

    def drop() -> None:
        """The network goes: the page's socket fails at once; the server hears nothing more and
        finds out by its own heartbeat, as it would after a real drop."""
        customer_ctx.set_offline(True)
        network["offline"] = True
        for page_side, link in network["sockets"]:
            link["dead"] = True
            page_side.close(code=1011, reason="offline")
        network["drops"] += bool(network["sockets"])
        network["sockets"].clear()

    try:
        customer_ctx.route_web_socket(SOCKET, customer_socket)
        shopper = customer_ctx.new_page()
        welcomed: list[int | None] = []  # per socket of the page: when the server welcomed it (ms)

        def page_socket(ws) -> None:
            if not SOCKET.search(ws.url):
                return
            sent.append([])
            welcomed.append(None)
            mine = len(sent) - 1
            ws.on("framesent", lambda p: sent[mine].append(p if isinstance(p, str) else p.decode()))

            def heard(p) -> None:
                message = json.loads(p)
                if message.get("type") == "welcome":
                    welcomed[mine] = message["ts"]

            ws.on("framereceived", heard)

        shopper.on("websocket", page_socket)
        shopper.goto(f"{base}/j/{token}/")
        shopper.click("button[value=guided]")
        shopper.wait_for_url(f"{demo_site}/apply/address*")
        answer_consent_card(shopper)
        wait_until(shopper, lambda: session_state(session.pk) == SessionState.ACTIVE, message="active")

        received: list[str] = []
        agent_sent: list[str] = []
        agent = agent_ctx.new_page()

        def agent_socket(ws) -> None:
            ws.on("framereceived", lambda p: received.append(p if isinstance(p, str) else p.decode()))
            ws.on("framesent", lambda p: agent_sent.append(p if isinstance(p, str) else p.decode()))

        agent.on("websocket", agent_socket)
        login(agent, base, "priya")
        agent.goto(f"{base}/agent/sessions/{session.pk}/")
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=10000)
        wait_until(agent, lambda: replay_value(agent, FIELD) is not None, message="the replayed page")
        keys_before = _relay_keys(session.pk)
        participants_before = Participant.objects.filter(session=session).count()

        # --- 20 drops in a minute, typing throughout ----------------------------------------------
        shopper.click(FIELD)
        letters = iter(string.ascii_lowercase * 100)
        began = time.monotonic()
        for flap in range(FLAPS):
            period_start = began + flap * PERIOD_S
            drop()
            while time.monotonic() < period_start + PERIOD_S / 2:
                shopper.keyboard.type(next(letters))
                shopper.wait_for_timeout(60)
            network["offline"] = False
            customer_ctx.set_offline(False)
            while time.monotonic() < period_start + PERIOD_S:
                shopper.keyboard.type(next(letters))
                shopper.wait_for_timeout(60)
        flapped_s = time.monotonic() - began

        # --- the agent's view is whole again ------------------------------------------------------
        typed = shopper.input_value(FIELD)
        wait_until(
            agent,
            lambda: replay_value(agent, FIELD) == typed,
            timeout=20,
            message="the last value typed on the agent's replay",
            seen=lambda: (replay_value(agent, FIELD) or "")[-20:],
        )
        # Every dropped socket the server had welcomed is noticed by its heartbeat (no pong for
        # PONG_DEADLINE_S) and leaves one Disconnect row; the page's current socket stays.
        wait_until(
            agent,
            lambda: Disconnect.objects.filter(session=session).count() >= _count(welcomed) - 1,
            timeout=20,
            message="the dropped sockets noticed",
        )
        agent.wait_for_timeout(1000)  # and nothing more comes
        assert session_state(session.pk) == SessionState.ACTIVE
        agent.wait_for_selector("[data-testid=console-presence][data-state=connected]", timeout=1000)
        batches = _batches(_messages(received))
        page_batches = [numbers for numbers in batches.values() if numbers]
        assert len(page_batches) == 1, batches.keys()  # one page load throughout
        numbers = page_batches[0]
        assert len(numbers) == len(set(numbers)), "a batch reached the agent twice"
        assert numbers == list(range(numbers[0], numbers[-1] + 1)), "a batch was lost or reordered"
        resyncs = sum(1 for raw in agent_sent if json.loads(raw).get("type") == "resync")

        # --- one session, live, and the server's state did not grow -------------------------------
        sessions = list(CoBrowseSession.objects.filter(ticket=ticket).values_list("state", flat=True))
        assert sessions == [SessionState.ACTIVE]
        # The session's relay keys are a fixed set (the quality one comes with the first figure).
        keys_after = _relay_keys(session.pk)
        quality_key = f"{settings.CACHES['default'].get('KEY_PREFIX', 'tandem')}:relay:{session.pk}:quality"
        assert set(keys_after) <= {*keys_before, quality_key}, (keys_before, keys_after)
        assert Participant.objects.filter(session=session).count() == participants_before
        assert Participant.objects.filter(session=session, left_at__isnull=True).count() == 2  # both
        drops = list(Disconnect.objects.filter(session=session).values_list("code", "cause"))
        helloed = sum(1 for frames in sent if any('"type":"hello"' in f for f in frames))
        assert len(drops) == _count(welcomed) - 1, (drops, welcomed)  # the last socket stays up
        assert {cause for _, cause in drops} == {"network"}  # the server's heartbeat noticed each

        # --- the widget held no more than its bounds ------------------------------------------
        # On each welcome the widget sends at once everything the server has not acknowledged
        # (its outbox): the stream frames of a socket made before the welcome (same host clock).
        backlog = [
            [
                len(f)
                for f in frames
                if (m := json.loads(f)).get("seq") is not None and m["type"] in STREAM and m["ts"] <= at
            ]
            for frames, at in zip(sent, welcomed, strict=True)
            if at is not None
        ]
        assert all(len(sizes) <= OUTBOX_MAX_MESSAGES and sum(sizes) <= OUTBOX_MAX_CHARS for sizes in backlog)
        print(
            "flaps:",
            {
                "flaps": FLAPS,
                "seconds": round(flapped_s, 1),
                "sockets_opened": network["connects"],
                "drops_of_an_open_socket": network["drops"],
                "connects_refused_offline": network["refused"],
                "helloed_sockets": helloed,
                "welcomed_sockets": _count(welcomed),
                "disconnect_rows": len(drops),
                "causes": sorted({f"{code}:{cause}" for code, cause in drops}),
                "batches": len(numbers),
                "agent_resyncs": resyncs,
                "max_outbox_messages": max(len(sizes) for sizes in backlog),
                "max_outbox_chars": max(sum(sizes) for sizes in backlog),
                "typed_chars": len(typed),
                "relay_keys": keys_before,
            },
        )
        assert flapped_s < FLAPS * PERIOD_S + 5  # the rate held: 20 drops within about a minute
        # The page is back within each online half (it retries on the browser's `online` event), so
        # (nearly) every drop hit an open socket.
        assert network["drops"] >= FLAPS - 2, network["drops"]
    finally:
        customer_ctx.close()
        agent_ctx.close()
