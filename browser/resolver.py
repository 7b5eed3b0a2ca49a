"""Name resolution for the egress proxy, injectable so tests can play a rebinding DNS server."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from typing import Protocol

from cobrowse.browser.urlguard import IPAddress


class ResolveError(OSError):
    """The name has no usable address."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address the name resolves to, in the order a client should try them."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo in the default executor)."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise ResolveError(f"cannot resolve: {exc.strerror}") from None
        addresses: list[IPAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = ipaddress.ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses


class StaticResolver:
    """Answers from a fixed table (``name -> [addresses]``); unknown names do not resolve."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = {
            name.rstrip(".").lower(): [ipaddress.ip_address(a) for a in addrs]
            for name, addrs in table.items()
        }

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        addresses = self.table.get(host.rstrip(".").lower())
        if not addresses:
            raise ResolveError("cannot resolve: unknown name")
        return list(addresses)
