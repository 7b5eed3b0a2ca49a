"""The egress proxy on loopback: what it relays, what it refuses, and the bounds it keeps."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser.egress_proxy import EgressProxy, ProxyLimits, Refusal
from browser.resolver import StaticResolver
from cobrowse.browser.urlguard import EgressPolicy, UrlRefused, parse_target
from tests.browser.conftest import RebindingResolver, SiteServer

pytestmark = pytest.mark.timeout(60)


def _site(method: str, path: str, headers: dict[str, str], body: bytes):
    if path.startswith("/redirect"):
        return 302, {"Location": FORBIDDEN_URL[0] + "/after-redirect"}, b""
    if path.startswith("/echo"):
        seen = f"{method} {path} host={headers.get('host')} pc={headers.get('proxy-connection')} ".encode()
        return 200, {"Content-Type": "text/plain"}, seen + body
    return 200, {"Content-Type": "text/plain", "Access-Control-Allow-Origin": "*"}, b"allowed site"


FORBIDDEN_URL = [""]


@pytest.fixture
async def site(forbidden):
    FORBIDDEN_URL[0] = forbidden.origin
    server = await SiteServer("127.0.0.1", _site).start()
    yield server
    await server.close()


@pytest.fixture
async def proxy(site):
    refusals: list[Refusal] = []
    resolver = RebindingResolver(
        {
            "rebind.test": [["127.0.0.1"], ["127.0.0.2"]],
            "both.test": [["127.0.0.1", "127.0.0.2"]],
            "site.test": [["127.0.0.1"]],
        }
    )
    policy = EgressPolicy.from_lists(allow=[f"127.0.0.1:{site.port}"])
    async with EgressProxy(policy=policy, resolver=resolver, on_refusal=refusals.append) as running:
        running.refusals = refusals
        yield running


async def _exchange(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send raw bytes to the proxy and read until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout):
            return await reader.read()
    finally:
        writer.close()


def _get(url: str, extra: str = "") -> bytes:
    return f"GET {url} HTTP/1.1\r\nHost: ignored\r\nProxy-Connection: keep-alive\r\n{extra}\r\n".encode()


async def test_relays_an_allowed_request_rewriting_the_head(proxy, site):
    response = await _exchange(proxy.port, _get(f"{site.origin}/echo?x=1"))
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" in head
    assert body == f"GET /echo?x=1 host=127.0.0.1:{site.port} pc=None ".encode()


async def test_refuses_an_internal_target_with_a_page_a_log_line_and_a_report(proxy, forbidden, caplog):
    caplog.set_level(logging.WARNING, logger="browser.egress")
    response = await _exchange(proxy.port, _get(f"{forbidden.origin}/private?email=a@b.example"))
    assert response.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"Blocked by Tandem: loopback address" in response
    assert proxy.refusals == [Refusal("127.0.0.2", forbidden.port, "loopback address", "GET")]
    [record] = caplog.records
    assert "host=127.0.0.2" in record.getMessage() and "loopback address" in record.getMessage()
    assert "private" not in record.getMessage() and "email" not in record.getMessage()
    assert forbidden.hits == 0


async def test_refuses_connect_to_an_internal_target(proxy, forbidden):
    request = f"CONNECT 127.0.0.2:{forbidden.port} HTTP/1.1\r\nHost: 127.0.0.2:{forbidden.port}\r\n\r\n"
    response = await _exchange(proxy.port, request.encode())
    assert response.startswith(b"HTTP/1.1 403")
    assert proxy.refusals[0].method == "CONNECT" and proxy.refusals[0].host == "127.0.0.2"
    assert forbidden.hits == 0


async def test_tunnels_connect_to_an_allowed_target(proxy, site):
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        writer.write(f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        async with asyncio.timeout(5):
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            writer.write(b"GET /echo HTTP/1.1\r\nHost: tunnel\r\n\r\n")
            assert (await reader.read()).endswith(b"GET /echo host=tunnel pc=None ")
    finally:
        writer.close()


async def test_does_not_follow_redirects(proxy, site, forbidden):
    response = await _exchange(proxy.port, _get(f"{site.origin}/redirect"))
    assert response.startswith(b"HTTP/1.1 302")
    assert f"Location: {forbidden.origin}/after-redirect".encode() in response
    assert forbidden.hits == 0
    follow = await _exchange(proxy.port, _get(f"{forbidden.origin}/after-redirect"))
    assert follow.startswith(b"HTTP/1.1 403")
    assert forbidden.hits == 0


async def test_dns_rebinding_resolves_once_and_connects_to_the_checked_address(proxy, site, forbidden):
    first = await _exchange(proxy.port, _get(f"http://rebind.test:{site.port}/echo"))
    assert first.startswith(b"HTTP/1.1 200") and first.endswith(
        f"host=rebind.test:{site.port} pc=None ".encode()
    )
    second = await _exchange(proxy.port, _get(f"http://rebind.test:{site.port}/echo"))
    assert second.startswith(b"HTTP/1.1 403") and b"name resolves to loopback address 127.0.0.2" in second
    assert proxy.resolver.lookups["rebind.test"] == 2  # one lookup per request, never a second one
    assert forbidden.hits == 0


async def test_a_name_with_any_internal_address_is_refused_outright(proxy, site, forbidden):
    response = await _exchange(proxy.port, _get(f"http://both.test:{site.port}/"))
    assert response.startswith(b"HTTP/1.1 403")
    assert proxy.refusals[-1].host == "both.test"
    assert site.connections == 0 and forbidden.hits == 0


async def test_the_allow_list_entry_covers_its_port_only(proxy, site):
    response = await _exchange(
        proxy.port, _get(f"http://site.test:{site.port + 1 if site.port < 65535 else 1}/")
    )
    assert response.startswith(b"HTTP/1.1 403")


async def test_an_allow_listed_name_still_obeys_the_address_block_list(site):
    policy = EgressPolicy.from_lists(allow=[f"demo.test:{site.port}"], block=["127.0.0.1"])
    resolver = StaticResolver({"demo.test": ["127.0.0.1"]})
    async with EgressProxy(policy=policy, resolver=resolver) as proxy:
        response = await _exchange(proxy.port, _get(f"http://demo.test:{site.port}/"))
    assert response.startswith(b"HTTP/1.1 403") and b"block-list" in response
    assert site.connections == 0


async def test_an_allow_listed_name_reaches_its_internal_address(site):
    policy = EgressPolicy.from_lists(allow=[f"demo.test:{site.port}"])
    resolver = StaticResolver({"demo.test": ["127.0.0.1"]})
    async with EgressProxy(policy=policy, resolver=resolver) as proxy:
        response = await _exchange(proxy.port, _get(f"http://demo.test:{site.port}/"))
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"allowed site")


async def test_relays_request_bodies_by_their_framing(proxy, site):
    fixed = _get(f"{site.origin}/echo", "Content-Length: 5\r\n").replace(b"GET", b"POST") + b"hello"
    assert (await _exchange(proxy.port, fixed)).endswith(b"hello")
    chunked = (
        _get(f"{site.origin}/echo", "Transfer-Encoding: chunked\r\n").replace(b"GET", b"POST")
        + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    assert (await _exchange(proxy.port, chunked)).endswith(b"abcde")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /relative HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET https://example.com/ HTTP/1.1\r\n\r\n", b"400"),
        (b"GET javascript:alert(1) HTTP/1.1\r\n\r\n", b"403"),
        (b"GET file:///etc/passwd HTTP/1.1\r\n\r\n", b"403"),
        (b"CONNECT 127.0.0.2 HTTP/1.1\r\n\r\n", b"400"),
        (b"CONNECT user@127.0.0.2:80 HTTP/1.1\r\n\r\n", b"400"),
        (b"GET http://127.0.0.2/ HTTP/2\r\n\r\n", b"400"),
        (b"GET http://x.example/ HTTP/1.1\r\nBad Header\r\n\r\n", b"400"),
        (b"GET http://x.example/ HTTP/1.1\r\n Folded: x\r\n\r\n", b"400"),
        (b"GET http://x.example/ HTTP/1.1\r\nX: a\nGET http://127.0.0.2/ HTTP/1.1\r\n\r\n", b"400"),
        (
            b"POST http://x.example/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"400",
        ),
        (b"POST http://x.example/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", b"400"),
        (b"GET http://[fe80::1%25lo]/ HTTP/1.1\r\n\r\n", b"403"),
        (b"GET http://0x7f.1/ HTTP/1.1\r\n\r\n", b"403"),
        (b"GET http://nowhere.test/ HTTP/1.1\r\n\r\n", b"502"),
    ],
)
async def test_malformed_or_hostile_requests_get_an_error(proxy, forbidden, request_bytes, status):
    response = await _exchange(proxy.port, request_bytes)
    assert response.startswith(b"HTTP/1.1 " + status), response[:80]
    assert forbidden.hits == 0


async def test_header_size_and_count_are_bounded(site):
    limits = ProxyLimits(max_header_bytes=1024, max_headers=10)
    async with EgressProxy(
        policy=EgressPolicy.from_lists(allow=[f"127.0.0.1:{site.port}"]), limits=limits
    ) as p:
        big = await _exchange(p.port, _get(f"{site.origin}/", f"X-Big: {'a' * 2000}\r\n"))
        many = await _exchange(p.port, _get(f"{site.origin}/", "".join(f"X-{i}: v\r\n" for i in range(12))))
    assert big.startswith(b"HTTP/1.1 400") and b"too large" in big
    assert many.startswith(b"HTTP/1.1 400") and b"too many" in many
    assert site.connections == 0


async def test_idle_clients_are_dropped_and_connections_are_capped():
    limits = ProxyLimits(max_connections=2, header_timeout=0.5)
    async with EgressProxy(policy=EgressPolicy(), limits=limits) as proxy:
        idle = [await asyncio.open_connection("127.0.0.1", proxy.port) for _ in range(2)]
        await asyncio.sleep(0.05)
        third = await _exchange(proxy.port, b"")
        assert third.startswith(b"HTTP/1.1 503")
        started = time.monotonic()
        async with asyncio.timeout(5):
            assert await idle[0][0].read() == b""  # closed by the proxy after the header timeout
        assert time.monotonic() - started < 2
        for _, writer in idle:
            writer.close()
    assert proxy.stats["busy"] == 1


async def test_a_peer_other_than_the_checked_address_is_refused():
    class _Writer:
        def get_extra_info(self, name):
            return ("127.0.0.9", 80)

    proxy = EgressProxy(policy=EgressPolicy.from_lists(allow=["127.0.0.1:80"]))
    target = parse_target("http://127.0.0.1/", policy=proxy.policy)
    with pytest.raises(UrlRefused, match="peer differs"):
        proxy._check_peer(_Writer(), ipaddress.ip_address("127.0.0.1"), target)


async def test_a_failing_or_async_callback_does_not_break_the_proxy(forbidden):
    seen = []

    async def report(refusal):
        seen.append(refusal.host)

    def broken(refusal):
        raise RuntimeError("feed down")

    for callback in (report, broken):
        async with EgressProxy(policy=EgressPolicy(), on_refusal=callback) as proxy:
            response = await _exchange(proxy.port, _get(f"{forbidden.origin}/"))
            assert response.startswith(b"HTTP/1.1 403")
    assert seen == ["127.0.0.2"]
    assert forbidden.hits == 0


async def test_runs_standalone(forbidden):
    env = {**os.environ, "BROWSER_EGRESS_ALLOW_HOSTS": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "browser.egress_proxy", "--host", "127.0.0.1", "--port", "0"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 20)
        assert line.startswith("egress proxy listening on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        response = await _exchange(port, _get(f"{forbidden.origin}/"))
        assert response.startswith(b"HTTP/1.1 403") and b"loopback address" in response
        assert forbidden.hits == 0
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_closing_the_proxy_ends_open_tunnels(site):
    proxy = await EgressProxy(policy=EgressPolicy.from_lists(allow=[f"127.0.0.1:{site.port}"])).start()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\n\r\n".encode())
    async with asyncio.timeout(5):
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        await proxy.close()
        assert await reader.read() == b""
    writer.close()
    assert proxy.stats["cancelled"] == 1


async def test_the_overhead_bench_relays_every_request_intact():
    from tests.browser.bench_overhead import measure

    figures = await measure(requests=20)
    assert set(figures) == {"direct", "proxy_http", "proxy_connect"}
    assert all(f["median_ms"] > 0 and f["p95_ms"] >= f["median_ms"] for f in figures.values())
