"""Real WebSocket clients of a live server for the fault tests: the customer's page (answers pings,
sends rrweb batches) and an agent's console, each reading in a thread of its own."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time

from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

CUSTOMER_ORIGIN = "http://localhost:8001"
AGENT_ORIGIN = "http://127.0.0.1:8000"


def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def envelope(msg_type: str, data: dict, seq: int) -> str:
    return json.dumps({"type": msg_type, "seq": seq, "ts": int(time.time() * 1000), "data": data})


class Socket:
    """One WebSocket; a thread files what arrives in ``inbox`` and answers pings like the widget."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.ws = connect(url, additional_headers=headers, open_timeout=10, max_size=None)
        self.inbox: queue.Queue[dict] = queue.Queue()
        self.close_code: int | None = None
        self.closed = threading.Event()
        self.pong_seq = 10_000
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.ws:
                message = json.loads(raw)
                if message.get("type") == "ping":
                    self.pong_seq += 1
                    self.send("pong", {"nonce": message["data"]["nonce"]}, self.pong_seq)
                    continue
                self.inbox.put(message)
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        self.closed.set()

    def send(self, msg_type: str, data: dict, seq: int) -> None:
        with contextlib.suppress(ConnectionClosed):  # the reader notices
            self.ws.send(envelope(msg_type, data, seq))

    def expect(self, msg_type: str, timeout: float = 10, **data) -> dict:
        """The next message of this type (with these data values); others are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {msg_type} within {timeout} s"
            try:
                message = self.inbox.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                if self.closed.is_set() and self.inbox.empty():
                    raise AssertionError(f"closed ({self.close_code}) before a {msg_type} came") from None
                continue
            if message["type"] == msg_type and all(message["data"].get(k) == v for k, v in data.items()):
                return message

    def close(self) -> None:
        self.ws.close()


def customer_socket(
    ws_url: str, session_id: int, grant: str, page_id: str = "p1", last_acked: int = -1
) -> Socket:
    """The customer's page after its hello (the caller reads the welcome)."""
    socket = Socket(f"{ws_url}/ws/cobrowse/{session_id}/customer/", {"Origin": CUSTOMER_ORIGIN})
    hello = {
        "grant": grant,
        "page_id": page_id,
        "last_acked_seq": last_acked,
        "url": "http://localhost:8001/apply",
        "title": "Apply",
    }
    socket.send("hello", hello, 0)
    return socket


def agent_socket(ws_url: str, session_id: int, cookie: str) -> Socket:
    return Socket(f"{ws_url}/ws/cobrowse/{session_id}/agent/", {"Origin": AGENT_ORIGIN, "Cookie": cookie})


def rrweb_batch(page_id: str, marker: int) -> dict:
    """A small incremental batch; ``marker`` makes each batch recognisable on the other side."""
    event = {
        "type": 3,
        "timestamp": int(time.time() * 1000),
        "data": {"source": 1, "positions": [{"x": marker, "y": 1, "id": 1, "timeOffset": 0}]},
    }
    return {"events": [event], "page_id": page_id}


def full_snapshot(page_id: str) -> dict:
    now = int(time.time() * 1000)
    node = {
        "type": 0,
        "id": 1,
        "childNodes": [
            {
                "type": 2,
                "id": 2,
                "tagName": "p",
                "attributes": {},
                "childNodes": [{"type": 3, "id": 3, "textContent": "Loan application"}],
            }
        ],
    }
    return {
        "events": [
            {
                "type": 4,
                "timestamp": now,
                "data": {"href": "http://localhost:8001/apply", "width": 800, "height": 600},
            },
            {"type": 2, "timestamp": now, "data": {"node": node, "initialOffset": {"top": 0, "left": 0}}},
        ],
        "page_id": page_id,
    }
