"""Every live socket fuzzed with Hypothesis through ``config.asgi.application``: the customer's page,
the agent's console, a team member's watch page, the Approvals badge and the screencast viewer.

Each generated frame (``tests/live/fuzz_strategies.py``: valid-shaped and broken messages of every
type, other roles' types, binary, invalid UTF-8, NaN, deep nesting, frames over the limit, replayed
``seq``, bad ``part`` frames) goes to an admitted socket, followed by a probe the socket always
answers. Whatever comes back must be an envelope; an ``error`` carries ``code`` and ``message``
(and ``field`` when it names one); a close carries a documented code. A crash in the consumer is
raised by Channels' communicator. After each frame that did not close it, the same socket still
answers (the customer's relays a valid frame to the agent); a second, healthy session's pair,
open throughout, still relays at the end. The sockets that read a grant in their first frame are
also fuzzed before it.

Hypothesis runs in a worker thread and hands each round to the test's event loop, so the
sockets stay open across examples. The profile is fixed for CI: derandomized, no example
database, no deadline, ``MAX_EXAMPLES`` = 150 frames per socket (2 to 5 s per socket here,
about 30 s for the module with its database set-up).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cobrowse.groups import managers_approvals_group
from config.asgi import application
from live.consumers import customer as customer_consumer
from tests.browser.test_browser_consumer import _setup as _browser_setup
from tests.browser.test_browser_consumer import _socket as _viewer_socket
from tests.consent.helpers import team_grant
from tests.factories import make_user
from tests.live import fuzz_strategies as fz
from tests.live.test_consumers import _agent, _cookie_for, _customer, _msg, _receive_type, _setup
from tests.live.test_consumers_team import _team

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 150
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
#: The close codes the documentation lists (docs/architecture.md, docs/approvals-and-socket-limits.md).
DOCUMENTED_CLOSES = {1009, 4000, 4401, 4403, 4404, 4408, 4409, 4410, 4429}
PROBE_SEQ = 2 * 10**6  # above every seq a valid-shaped fuzz frame carries (the other sockets' probes)
ROUND_TIMEOUT_S = 10  # generous: the machine is shared


@pytest.fixture(autouse=True)
def _no_hello_limit(settings):
    """Fuzzing reopens sockets; the per-address hello limit is another test's subject."""
    settings.COBROWSE_HELLO_RATE_LIMIT = "100000/m"


@pytest.fixture(autouse=True)
def _no_pong_deadline(monkeypatch):
    """The pages here answer no ping: on a slow run the 9 s deadline would close them (4408)."""
    monkeypatch.setattr(customer_consumer, "PONG_DEADLINE_S", 3600)


# --- reading what a socket says ----------------------------------------------------------------


def _check_text(text: str) -> dict:
    message = json.loads(text)
    assert isinstance(message, dict) and isinstance(message.get("type"), str), message
    if message["type"] == "error":
        data = message["data"]
        assert isinstance(data.get("code"), str) and data["code"], message
        assert isinstance(data.get("message"), str), message
        assert isinstance(data.get("field", ""), str), message
    return message


@dataclass
class Seen:
    messages: list[dict] = field(default_factory=list)
    closed: int | None = None


async def _drain(comm: WebsocketCommunicator, seen: Seen) -> None:
    """Read what is queued now (raising the consumer's exception if it crashed)."""
    while seen.closed is None and not await comm.receive_nothing(timeout=0):
        output = await comm.receive_output()
        if output["type"] == "websocket.close":
            seen.closed = output.get("code", 1000)
            assert seen.closed in DOCUMENTED_CLOSES, output
        elif output.get("text") is not None:
            seen.messages.append(_check_text(output["text"]))


async def _send(comm: WebsocketCommunicator, frame: fz.Frame) -> None:
    kind, payload = frame  # straight to the application: the communicator refuses an empty frame
    await comm.send_input({"type": "websocket.receive", kind: payload})


async def _until(
    watched: list[tuple[WebsocketCommunicator, Seen]],
    done: Callable[[], bool],
    timeout: float = ROUND_TIMEOUT_S,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for comm, seen in watched:
            await _drain(comm, seen)
        if done() or any(seen.closed is not None for _comm, seen in watched):
            return
        assert loop.time() < deadline, "the socket neither answered the probe nor closed"
        await asyncio.sleep(0.005)


def _has(seen: Seen, msg_type: str, **data: Any) -> bool:
    return any(
        m["type"] == msg_type and all(m.get("data", {}).get(k) == v for k, v in data.items())
        for m in seen.messages
    )


def _fuzz(
    loop: asyncio.AbstractEventLoop, frames: st.SearchStrategy, one_round: Callable[[fz.Frame], Awaitable]
):
    """Run Hypothesis in this (worker) thread; each frame's round runs on the test's loop."""

    @FUZZ
    @given(frame=frames)
    def run(frame: fz.Frame) -> None:
        asyncio.run_coroutine_threadsafe(one_round(frame), loop).result(timeout=60)

    run()


# --- the sessions ------------------------------------------------------------------------------


@dataclass
class Pair:
    """A live page-event session with its customer's page and the agent's console connected."""

    session: Any
    grant: str
    agent_user: Any
    customer: WebsocketCommunicator
    agent: WebsocketCommunicator
    probes: int = 0
    seq: int = 0

    def next_seq(self) -> int:
        self.probes += 1
        self.seq += 1
        return self.seq

    def renumber(self, frame: fz.Frame) -> fz.Frame:
        """A valid-shaped frame's ``seq`` (0 to 10**6) counts from the page's current number, so
        that it is replayed (``seq % 4 == 0``), next, or one after a gap; others go as they are."""
        kind, payload = frame
        try:
            message = json.loads(payload) if kind == "text" else None
        except (ValueError, RecursionError):  # not JSON, or nested past what json reads: as it is
            return frame
        seq = message.get("seq") if isinstance(message, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq <= 10**6:
            return frame
        message["seq"] = self.seq + seq % 4
        self.seq = max(self.seq, message["seq"])
        return ("text", json.dumps(message))

    async def relays(self) -> None:
        """A valid frame from the page still reaches the console."""
        marker = f"probe{self.probes}"
        await self.customer.send_json_to(_msg("signal", {"kind": "stall", "field": marker}, self.next_seq()))
        customer, agent = Seen(), Seen()
        await _until(
            [(self.customer, customer), (self.agent, agent)], lambda: _has(agent, "signal", field=marker)
        )
        assert customer.closed is None and agent.closed is None
        assert _has(agent, "signal", field=marker)

    async def close(self) -> None:
        for comm in (self.customer, self.agent):
            await comm.disconnect()


async def _open_pair(mode: str = "controlled") -> Pair:
    session, grant, agent_user = await _setup(mode)
    customer = await _customer(session.pk, grant)
    await _receive_type(customer, "welcome")
    agent = await _agent(session.pk, agent_user)
    await _receive_type(agent, "welcome")
    return Pair(session, grant, agent_user, customer, agent)


@pytest.fixture
async def healthy():
    """Another session, untouched by the fuzzing: it must still relay afterwards."""
    pair = await _open_pair()
    yield pair
    await pair.relays()
    await pair.close()


# --- the sockets -------------------------------------------------------------------------------


async def test_customer_socket_survives_any_frame(healthy):
    state = {"pair": await _open_pair()}

    async def one_round(frame: fz.Frame) -> None:
        pair: Pair = state["pair"]
        await _send(pair.customer, pair.renumber(frame))
        marker = f"probe{pair.probes}"
        await pair.customer.send_json_to(_msg("signal", {"kind": "stall", "field": marker}, pair.next_seq()))
        customer, agent = Seen(), Seen()
        await _until(
            [(pair.customer, customer), (pair.agent, agent)], lambda: _has(agent, "signal", field=marker)
        )
        if customer.closed is None and agent.closed is None:
            return  # it answered the bad frame (or took a good one) and still relays
        # Closed with a documented code (checked in _drain): a frame over the limit, or a stop.
        await pair.close()
        state["pair"] = await _open_pair()

    await asyncio.to_thread(_fuzz, asyncio.get_running_loop(), fz.customer_frames(), one_round)
    await state["pair"].relays()
    await state["pair"].close()


async def _ping_round(comm: WebsocketCommunicator, counter: list[int], frame: fz.Frame, others=()) -> Seen:
    """Send the frame, then a ``ping`` whose echo proves the socket still reads and answers."""
    await _send(comm, frame)
    counter[0] += 1
    nonce = f"probe{counter[0]}"
    await comm.send_json_to(_msg("ping", {"nonce": nonce}, PROBE_SEQ + counter[0]))
    seen = Seen()
    watched = [(comm, seen), *[(other, Seen()) for other in others]]
    await _until(watched, lambda: _has(seen, "quality", echo=nonce))
    return seen


async def test_agent_socket_survives_any_frame(healthy):
    state = {"pair": await _open_pair()}
    counter = [0]

    async def one_round(frame: fz.Frame) -> None:
        pair: Pair = state["pair"]
        seen = await _ping_round(pair.agent, counter, frame, others=[pair.customer])
        if seen.closed is not None:
            await pair.close()
            state["pair"] = await _open_pair()

    await asyncio.to_thread(_fuzz, asyncio.get_running_loop(), fz.agent_frames(), one_round)
    await state["pair"].relays()
    await state["pair"].close()


async def _open_team(pair: Pair) -> WebsocketCommunicator:
    _viewer, grant = await database_sync_to_async(team_grant)(pair.session)
    team = await _team(pair.session.pk, grant)
    await _receive_type(team, "welcome")
    return team


async def test_team_member_socket_survives_any_frame(healthy):
    pair = await _open_pair()
    state = {"pair": pair, "team": await _open_team(pair)}
    counter = [0]

    async def one_round(frame: fz.Frame) -> None:
        seen = await _ping_round(
            state["team"], counter, frame, others=[state["pair"].customer, state["pair"].agent]
        )
        if seen.closed is not None:
            await state["team"].disconnect()
            await state["pair"].close()
            state["pair"] = await _open_pair()
            state["team"] = await _open_team(state["pair"])

    await asyncio.to_thread(_fuzz, asyncio.get_running_loop(), fz.agent_frames(), one_round)
    await state["pair"].relays()
    await state["team"].disconnect()
    await state["pair"].close()


async def test_approvals_socket_survives_any_frame(healthy):
    manager = await database_sync_to_async(make_user)("fuzz-boss", role="manager")
    comm = WebsocketCommunicator(
        application,
        "/ws/manager/approvals/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"cookie", await _cookie_for(manager))],
    )
    assert (await comm.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["reason"] == "connected"
    layer = get_channel_layer()
    counter = [0]

    async def one_round(frame: fz.Frame) -> None:
        await _send(comm, frame)
        counter[0] += 1
        # The page sends nothing that matters: the socket ignores it and still hears the count.
        await layer.group_send(managers_approvals_group(), {"type": "approvals.count", "count": counter[0]})
        seen = Seen()
        await _until([(comm, seen)], lambda: any(m.get("count") == counter[0] for m in seen.messages))
        assert seen.closed is None

    await asyncio.to_thread(_fuzz, asyncio.get_running_loop(), fz.any_frames(), one_round)
    await comm.disconnect()


async def test_browser_viewer_socket_survives_any_frame(healthy):
    session, grant, agent_user = await _browser_setup("controlled")
    staff = await _viewer_socket(session.pk, agent_user)
    customer = await _viewer_socket(session.pk)
    await customer.send_json_to({"type": "hello", "data": {"grant": grant}})
    counter = [0]

    async def probe(comm: WebsocketCommunicator, frame: fz.Frame) -> None:
        await _send(comm, frame)
        counter[0] += 1
        nonce = f"probe{counter[0]}"
        await comm.send_json_to({"type": "ping", "data": {"nonce": nonce}})
        seen = Seen()
        await _until([(comm, seen)], lambda: _has(seen, "pong", nonce=nonce))
        assert seen.closed is None, seen.closed

    async def one_round(frame: fz.Frame) -> None:
        await probe(staff, frame)
        await probe(customer, frame)

    await asyncio.to_thread(_fuzz, asyncio.get_running_loop(), fz.viewer_frames(), one_round)
    await staff.disconnect()
    await customer.disconnect()


async def test_sockets_before_hello_survive_any_frame(healthy):
    """The customer's page, a team member's watch page and the customer's screencast viewer read
    their first frame as a ``hello`` with a grant: before a good one, anything else is refused
    (a bad grant closes with a documented code) and a probe still gets ``not_ready``."""
    pair = await _open_pair()
    browser_session, _grant, _agent_user = await _browser_setup("controlled")
    paths = {
        "customer": (
            f"/ws/cobrowse/{pair.session.pk}/customer/",
            fz.customer_frames(),
            b"http://localhost:8001",
        ),
        "watch": (f"/ws/cobrowse/{pair.session.pk}/watch/", fz.agent_frames(), b"http://127.0.0.1:8000"),
        "viewer": (f"/ws/browser/{browser_session.pk}/", fz.viewer_frames(), b"http://localhost:8000"),
    }

    async def fresh(name: str) -> WebsocketCommunicator:
        path, _frames, origin = paths[name]
        comm = WebsocketCommunicator(application, path, headers=[(b"origin", origin)])
        assert (await comm.connect())[0]
        return comm

    for name in paths:
        state = {"comm": await fresh(name)}

        async def one_round(frame: fz.Frame, name: str = name, state: dict = state) -> None:
            comm = state["comm"]
            await _send(comm, frame)
            # Not a hello: refused with not_ready by all three (the last frame read is this one).
            await comm.send_json_to(_msg("resync", {"from_seq": 0}, 1))
            seen = Seen()
            await _until([(comm, seen)], lambda: any(m["type"] == "error" for m in seen.messages[-1:]))
            if seen.closed is not None:  # a hello with a made-up grant: refused and closed
                state["comm"] = await fresh(name)

        await asyncio.to_thread(_fuzz, asyncio.get_running_loop(), paths[name][1], one_round)
        await asyncio.sleep(0.2)  # what the last frames caused is read too (a crash is raised)
        await _drain(state["comm"], Seen())
        await state["comm"].disconnect()
    await pair.relays()
    await pair.close()
