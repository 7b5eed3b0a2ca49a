"""The server-side browser's only way out: a small HTTP proxy that enforces ``urlguard``.

Chromium is launched with this proxy and with host-resolver rules that make every other
destination unresolvable, so each request, redirect hop and WebSocket reaches us: plain HTTP in
absolute form, HTTPS and WebSockets as CONNECT. For each one the proxy checks the target, resolves
the name exactly once, checks every address, connects to the checked address literal (never by
name again, so DNS rebinding has nothing to race) and checks the connected peer once more. It
never follows redirects; Chromium sends the next hop back through here. Refusals get a 403, a log
line (host and reason only, never paths or queries) and a callback for the activity feed.

In-process::

    async with EgressProxy(on_refusal=feed.append) as proxy:
        launch_options = browser_launch_options(proxy.port)

Standalone: ``python -m browser.egress_proxy --port 8899``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import inspect
import ipaddress
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from browser.resolver import ResolveError, Resolver, SystemResolver
from cobrowse.browser.urlguard import EgressPolicy, IPAddress, Target, UrlRefused, check_address, parse_target

logger = logging.getLogger("browser.egress")

_TOKEN_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_HOP_BY_HOP = frozenset(
    {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "te",
     "trailer", "upgrade", "host"}
)  # fmt: skip
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Refusal:
    """One refused request, as reported to the callback: no path, no query, no credentials."""

    host: str
    port: int | None
    reason: str
    method: str


RefusalCallback = Callable[[Refusal], Awaitable[None] | None]


@dataclass(frozen=True)
class ProxyLimits:
    """Bounds on everything a page can make the proxy hold."""

    max_connections: int = 128
    max_header_bytes: int = 32 * 1024
    max_response_header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    resolve_timeout: float = 5.0
    connect_timeout: float = 10.0
    idle_timeout: float = 60.0
    tunnel_idle_timeout: float = 300.0


class _Reply(Exception):
    """Answer the client with this status and message, then close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout"}  # fmt: skip


class EgressProxy:
    """An asyncio HTTP/CONNECT proxy that lets the browser reach only what ``urlguard`` allows."""

    def __init__(
        self,
        *,
        policy: EgressPolicy | None = None,
        resolver: Resolver | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        on_refusal: RefusalCallback | None = None,
        limits: ProxyLimits | None = None,
    ) -> None:
        self.policy = policy if policy is not None else EgressPolicy.from_settings()
        self.resolver = resolver or SystemResolver()
        self.host = host
        self.requested_port = port
        self.on_refusal = on_refusal
        self.limits = limits or ProxyLimits()
        self.stats: Counter[str] = Counter()
        self.active = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> EgressProxy:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.requested_port, limit=self.limits.max_header_bytes
        )
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("proxy not started")
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> EgressProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    # --- one client connection --------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.active += 1
        try:
            if self.active > self.limits.max_connections:
                self.stats["busy"] += 1
                await self._send_error(writer, 503, "proxy busy", "")
                return
            await self._serve(reader, writer)
        except _Reply as reply:
            await self._send_error(writer, reply.status, reply.message, "")
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            self.stats["aborted"] += 1
        except asyncio.CancelledError:
            # close() cancels open connections; end quietly (asyncio 3.11 would log the cancellation).
            self.stats["cancelled"] += 1
        except Exception:
            self.stats["errors"] += 1
            logger.exception("egress proxy error")
        finally:
            self.active -= 1
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, target, headers = await self._read_request_head(reader)
        self.stats["requests"] += 1
        # Ambiguous framing is refused before anything is resolved or connected.
        framing = 0 if method == "CONNECT" else _body_framing(headers, request=True)
        try:
            if method == "CONNECT":
                checked = self._check_connect_target(target)
            else:
                checked = self._check_http_target(target)
            up_reader, up_writer = await self._open_upstream(checked)
        except UrlRefused as refused:
            await self._refuse(writer, method, refused, target)
            return
        try:
            if method == "CONNECT":
                self.stats["tunnels"] += 1
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await self._tunnel(reader, writer, up_reader, up_writer)
            else:
                await self._forward(method, checked, headers, framing, reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()

    async def _read_request_head(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, str, list[tuple[str, str]]]:
        try:
            async with asyncio.timeout(self.limits.header_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _Reply(400, "request header too large") from None
        lines = head[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[2] not in ("HTTP/1.1", "HTTP/1.0") or not _TOKEN_RE.match(parts[0]):
            raise _Reply(400, "malformed request line")
        return parts[0], parts[1], self._parse_headers(lines[1:])

    def _parse_headers(self, lines: list[str]) -> list[tuple[str, str]]:
        if len(lines) > self.limits.max_headers:
            raise _Reply(400, "too many header fields")
        headers = []
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep or not _TOKEN_RE.match(name) or any(c in value for c in "\r\n\x00"):
                raise _Reply(400, "malformed header field")
            headers.append((name, value.strip(" \t")))
        return headers

    # --- the checks -------------------------------------------------------------------------

    def _check_connect_target(self, target: str) -> Target:
        if not target or any(c in target for c in "/?#\\@") or not re.search(r":\d+$", target):
            raise _Reply(400, "CONNECT needs host:port")
        return parse_target(f"https://{target}/", policy=self.policy)

    def _check_http_target(self, target: str) -> Target:
        if not target.lower().startswith(("http://", "ws://", "https://", "wss://")):
            if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", target):
                parse_target(target, policy=self.policy)  # names the refused scheme
            raise _Reply(400, "this is a proxy: absolute-form requests only")
        checked = parse_target(target, policy=self.policy)
        if checked.scheme != "http":
            raise _Reply(400, "use CONNECT for TLS and WebSockets")
        return checked

    def _admit(self, address: IPAddress, target: Target) -> None:
        """Apply the address rule (or, for an allow-listed host, only the block-list)."""
        if target.allow_listed:
            if self.policy.is_blocked(str(address), target.port):
                raise UrlRefused("address is on the block-list", target.host)
            return
        try:
            check_address(address, port=target.port, policy=self.policy)
        except UrlRefused as refused:
            if target.address is not None:
                raise
            # Report the name the page asked for; the address goes into the reason.
            raise UrlRefused(f"name resolves to {refused.reason} {address}", target.host) from None

    async def _resolve(self, target: Target) -> list[IPAddress]:
        if target.address is not None:
            return [target.address]
        # An absolute name: no resolver search-domain expansion into internal zones.
        name = target.host if target.allow_listed else target.host + "."
        try:
            async with asyncio.timeout(self.limits.resolve_timeout):
                addresses = await self.resolver.resolve(name, target.port)
        except (ResolveError, OSError, TimeoutError):
            raise _Reply(502, "cannot resolve host") from None
        if not addresses:
            raise _Reply(502, "cannot resolve host")
        return addresses

    async def _open_upstream(self, target: Target) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        addresses = await self._resolve(target)
        # All of them, before any connection: a name that also points inside is refused outright.
        for address in addresses:
            self._admit(address, target)
        for address in addresses:
            try:
                async with asyncio.timeout(self.limits.connect_timeout):
                    up_reader, up_writer = await asyncio.open_connection(
                        str(address), target.port, limit=self.limits.max_response_header_bytes
                    )
            except (OSError, TimeoutError):
                continue
            try:
                self._check_peer(up_writer, address, target)
            except UrlRefused:
                up_writer.close()
                raise
            return up_reader, up_writer
        raise _Reply(502, "cannot connect to host")

    def _check_peer(self, up_writer: asyncio.StreamWriter, address: IPAddress, target: Target) -> None:
        peer = up_writer.get_extra_info("peername")
        peer_address = ipaddress.ip_address(peer[0]) if peer else None
        if peer_address != address:
            raise UrlRefused("connected peer differs from the checked address", target.host)
        self._admit(peer_address, target)

    async def _refuse(self, writer: asyncio.StreamWriter, method: str, refused: UrlRefused, raw: str) -> None:
        host = refused.host or _loggable_host(raw)
        port = _port_of(raw, method)
        self.stats["refused"] += 1
        logger.warning("egress refused: host=%s port=%s reason=%s", host, port, refused.reason)
        await self._report(Refusal(host=host, port=port, reason=refused.reason, method=method))
        await self._send_error(writer, 403, refused.reason, host)

    async def _report(self, refusal: Refusal) -> None:
        if self.on_refusal is None:
            return
        try:
            result = self.on_refusal(refusal)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("egress refusal callback failed")

    async def _send_error(self, writer: asyncio.StreamWriter, status: int, message: str, host: str) -> None:
        title = "Blocked by Tandem" if status == 403 else "Tandem egress proxy"
        body = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}: {html.escape(message)}</h1>"
            f"<p>{html.escape(host)}</p></body></html>\n"
        ).encode()
        header_safe = re.sub(r"[^\x20-\x7e]", "?", message)[:200]
        head = (
            f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            f"X-Tandem-Egress: {header_safe}\r\n"
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("latin-1") + body)
            await writer.drain()

    # --- relaying ---------------------------------------------------------------------------

    async def _forward(
        self,
        method: str,
        target: Target,
        headers: list[tuple[str, str]],
        framing: int | str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        """One request per client connection: head, body by its framing, then the response."""
        self.stats["forwarded"] += 1
        path = target.rest.split("#", 1)[0]
        lines = [f"{method} {path} HTTP/1.1", f"Host: {target.authority}"]
        lines += [f"{name}: {value}" for name, value in _end_to_end(headers)]
        lines.append("Connection: close")
        up_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self._relay_body(reader, up_writer, framing)
        await up_writer.drain()
        while True:
            status, response_headers = await self._read_response_head(up_reader)
            code = int(status.split(" ")[1])
            if code == 101:
                raise _Reply(502, "unexpected protocol switch")
            out = [status] + [f"{n}: {v}" for n, v in _end_to_end(response_headers, keep_host=True)]
            out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            if code >= 200:
                break  # 1xx are interim; the final response follows
        if method != "HEAD" and code not in (204, 304):
            await self._relay_body(up_reader, writer, _body_framing(response_headers, request=False))
        await writer.drain()

    async def _read_response_head(self, up_reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]]:
        try:
            async with asyncio.timeout(self.limits.idle_timeout):
                head = await up_reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _Reply(502, "response header too large") from None
        except asyncio.IncompleteReadError:
            raise _Reply(502, "upstream closed without a response") from None
        lines = head[:-4].decode("latin-1").split("\r\n")
        if not re.match(r"^HTTP/1\.[01] \d{3}( .*)?$", lines[0]):
            raise _Reply(502, "malformed upstream response")
        return lines[0], self._parse_headers(lines[1:])

    async def _relay_body(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, framing: int | str
    ) -> None:
        """Copy one message body: ``int`` = Content-Length, ``"chunked"``, or ``"eof"``."""
        if framing == "chunked":
            await self._relay_chunked(source, sink)
        elif framing == "eof":
            while data := await self._read(source, _CHUNK):
                sink.write(data)
                await sink.drain()
        else:
            remaining = int(framing)
            while remaining > 0:
                data = await self._read(source, min(remaining, _CHUNK))
                if not data:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(data)
                sink.write(data)
                await sink.drain()

    async def _relay_chunked(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while True:
            line = await self._readline(source)
            size_text = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]{1,8}", size_text):
                raise _Reply(502, "malformed chunked body")
            sink.write(line)
            size = int(size_text, 16)
            if size == 0:
                while (trailer := await self._readline(source)) not in (b"\r\n", b"\n"):
                    sink.write(trailer)
                sink.write(trailer)
                return
            await self._relay_body(source, sink, size + 2)

    async def _read(self, source: asyncio.StreamReader, n: int) -> bytes:
        async with asyncio.timeout(self.limits.idle_timeout):
            return await source.read(n)

    async def _readline(self, source: asyncio.StreamReader) -> bytes:
        async with asyncio.timeout(self.limits.idle_timeout):
            line = await source.readline()
        if not line.endswith(b"\n"):
            raise asyncio.IncompleteReadError(line, None)
        return line

    async def _tunnel(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        """Copy both ways until both sides are done or the tunnel has been idle too long."""
        last = [time.monotonic()]

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(_CHUNK):
                    last[0] = time.monotonic()
                    sink.write(data)
                    await sink.drain()
                if sink.can_write_eof():
                    sink.write_eof()

        pumps = [
            asyncio.ensure_future(pump(reader, up_writer)),
            asyncio.ensure_future(pump(up_reader, writer)),
        ]
        try:
            while not all(p.done() for p in pumps):
                idle_left = self.limits.tunnel_idle_timeout - (time.monotonic() - last[0])
                if idle_left <= 0:
                    break
                await asyncio.wait(pumps, timeout=min(idle_left, 1.0), return_when=asyncio.ALL_COMPLETED)
        finally:
            for p in pumps:
                p.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)


# --- helpers ---------------------------------------------------------------------------------


def _end_to_end(headers: list[tuple[str, str]], keep_host: bool = False) -> list[tuple[str, str]]:
    """Drop hop-by-hop fields, including any the Connection field names."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() in ("connection", "proxy-connection")
        for token in value.split(",")
    }
    dropped = (_HOP_BY_HOP - {"host"} if keep_host else _HOP_BY_HOP) | named
    return [(n, v) for n, v in headers if n.lower() not in dropped]


def _body_framing(headers: list[tuple[str, str]], *, request: bool) -> int | str:
    """How the body ends. Ambiguous framing is refused: it is how requests get smuggled."""
    encodings = [v.strip().lower() for n, v in headers if n.lower() == "transfer-encoding"]
    lengths = {v.strip() for n, v in headers if n.lower() == "content-length"}
    status = 400 if request else 502
    if encodings:
        if lengths or encodings != ["chunked"]:
            raise _Reply(status, "ambiguous message framing")
        return "chunked"
    if len(lengths) > 1 or any(not (x.isascii() and x.isdigit()) or len(x) > 15 for x in lengths):
        raise _Reply(status, "invalid Content-Length")
    if lengths:
        return int(next(iter(lengths)))
    return 0 if request else "eof"


def _loggable_host(raw: str) -> str:
    """The authority of a raw request target, without path, query or userinfo, safe to log."""
    text = raw.split("://", 1)[1] if "://" in raw else raw
    text = re.split(r"[/?#\\]", text, maxsplit=1)[0].rsplit("@", 1)[-1]
    text = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return re.sub(r"[^A-Za-z0-9.\-_\[\]:]", "?", text)[:100] or "?"


def _port_of(raw: str, method: str) -> int | None:
    match = re.search(r":(\d{1,5})(?:[/?#]|$)", raw.split("://", 1)[-1])
    if match:
        return int(match.group(1))
    if method == "CONNECT":
        return None
    return 80 if raw.lower().startswith("http://") else None


def main(argv: list[str] | None = None) -> None:
    """Run the proxy standalone, with the policy from Django settings plus command-line entries."""
    import os

    import django

    parser = argparse.ArgumentParser(description="Tandem egress proxy for the server-side browser")
    parser.add_argument("--host", default=None, help="bind address (default: settings)")
    parser.add_argument("--port", type=int, default=None, help="port (0 picks a free one)")
    parser.add_argument("--allow", action="append", default=[], help="extra allow-list entry")
    parser.add_argument("--block", action="append", default=[], help="extra block-list entry")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings

    policy = EgressPolicy.from_lists(
        [*settings.BROWSER_EGRESS_ALLOW_HOSTS, *args.allow],
        [*settings.BROWSER_EGRESS_BLOCK_HOSTS, *args.block],
    )
    host = args.host or settings.BROWSER_EGRESS_PROXY_HOST
    port = settings.BROWSER_EGRESS_PROXY_PORT if args.port is None else args.port
    limits = ProxyLimits(max_connections=settings.BROWSER_EGRESS_MAX_CONNECTIONS)

    async def run() -> None:
        async with EgressProxy(policy=policy, host=host, port=port, limits=limits) as proxy:
            print(f"egress proxy listening on {proxy.url}", flush=True)
            await proxy.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
