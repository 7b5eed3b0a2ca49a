"""Proxy overhead per request on loopback: the same requests direct and through the egress proxy.

Run: ``.venv/bin/python -m tests.browser.bench_overhead [requests]``. Prints figures,
never fails on time. Each request is a fresh connection (the proxy serves one request per client
connection), sequential, 1 KB response body, against a tiny asyncio server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from browser.egress_proxy import EgressProxy
from cobrowse.browser.urlguard import EgressPolicy
from tests.browser.conftest import SiteServer

BODY = b"x" * 1024


def _handler(method: str, path: str, headers: dict[str, str], body: bytes):
    return 200, {"Content-Type": "text/plain"}, BODY


async def _one(port: int, request: bytes, connect_first: bytes | None = None) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if connect_first:
        writer.write(connect_first)
        await reader.readuntil(b"\r\n\r\n")
    writer.write(request)
    data = await reader.read()
    elapsed = time.perf_counter() - started
    writer.close()
    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(BODY):
        raise RuntimeError(f"unexpected response: {data[:60]!r}")
    return elapsed


async def measure(requests: int = 300) -> dict[str, dict[str, float]]:
    """Median and p95 milliseconds per request: direct, via the proxy (HTTP), via CONNECT."""
    site = await SiteServer("127.0.0.1", _handler).start()
    policy = EgressPolicy.from_lists(allow=[f"127.0.0.1:{site.port}"])
    results: dict[str, list[float]] = {"direct": [], "proxy_http": [], "proxy_connect": []}
    try:
        async with EgressProxy(policy=policy) as proxy:
            direct = f"GET /x HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n\r\n".encode()
            absolute = f"GET {site.origin}/x HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n\r\n".encode()
            connect = f"CONNECT 127.0.0.1:{site.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            for _ in range(20):  # warm-up
                await _one(site.port, direct)
                await _one(proxy.port, absolute)
            for _ in range(requests):
                results["direct"].append(await _one(site.port, direct))
                results["proxy_http"].append(await _one(proxy.port, absolute))
                results["proxy_connect"].append(await _one(proxy.port, direct, connect_first=connect))
    finally:
        await site.close()
    return {
        name: {
            "median_ms": statistics.median(samples) * 1000,
            "p95_ms": statistics.quantiles(samples, n=20)[18] * 1000,
        }
        for name, samples in results.items()
    }


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    figures = asyncio.run(measure(requests))
    base = figures["direct"]["median_ms"]
    for name, figure in figures.items():
        print(
            f"{name:14} median {figure['median_ms']:.3f} ms  p95 {figure['p95_ms']:.3f} ms"
            f"  overhead {figure['median_ms'] - base:+.3f} ms"
        )


if __name__ == "__main__":
    main()
