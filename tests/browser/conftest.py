"""Loopback servers for the egress tests: an allowed site on 127.0.0.1, a forbidden host on 127.0.0.2.

The forbidden server stands in for an internal host. It counts every TCP connection and every UDP
datagram it receives, so "no hit at all" is something a test can assert.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from cobrowse.browser.urlguard import IPAddress

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, dict[str, str], bytes], Response]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class SiteServer:
    """A tiny HTTP/1.1 server, one request per connection, answering from a handler."""

    host: str
    handler: Handler
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> SiteServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head[:-4].decode("latin-1").split("\r\n")
                method, path, _version = lines[0].split(" ")
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = b""
                if headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readline()).split(b";")[0], 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        body += chunk[:-2]
                elif "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
            self.requests.append(Request(method, path, headers, body))
            status, response_headers, payload = self.handler(method, path, headers, body)
            out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}", "Connection: close"]
            out += [f"{k}: {v}" for k, v in response_headers.items()]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _UdpCounter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams = 0

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.datagrams += 1


@dataclass
class ForbiddenHost:
    """Counts any contact on 127.0.0.2 (TCP connections and UDP datagrams on the same port)."""

    tcp: SiteServer
    udp: _UdpCounter

    @property
    def port(self) -> int:
        return self.tcp.port

    @property
    def origin(self) -> str:
        return self.tcp.origin

    @property
    def hits(self) -> int:
        return self.tcp.connections + self.udp.datagrams


def _reached(method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
    return 200, {"Access-Control-Allow-Origin": "*", "Content-Type": "text/plain"}, b"internal secret"


@pytest.fixture
async def forbidden() -> AsyncIterator[ForbiddenHost]:
    tcp = await SiteServer("127.0.0.2", _reached).start()
    loop = asyncio.get_running_loop()
    transport, udp = await loop.create_datagram_endpoint(_UdpCounter, local_addr=("127.0.0.2", tcp.port))
    try:
        yield ForbiddenHost(tcp, udp)
    finally:
        transport.close()
        await tcp.close()


class RebindingResolver:
    """A DNS server under the attacker's control: each name answers from its own list of answers,
    one per lookup, repeating the last. Counts lookups so a test can see "resolved once"."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        import ipaddress

        self.answers = {
            name: [[ipaddress.ip_address(a) for a in answer] for answer in seq]
            for name, seq in answers.items()
        }
        self.lookups: dict[str, int] = {}

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        from browser.resolver import ResolveError

        name = host.rstrip(".")
        if name not in self.answers:
            raise ResolveError("unknown name")
        count = self.lookups.get(name, 0)
        self.lookups[name] = count + 1
        sequence = self.answers[name]
        return list(sequence[min(count, len(sequence) - 1)])
