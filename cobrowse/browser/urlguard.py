"""The egress decision for the server-side browser: which URLs and addresses it may reach.

Pure functions, no I/O. ``check_url`` normalises a URL the way a browser would (WHATWG host
parsing: percent-decoding, IDNA, the decimal/octal/hex IPv4 spellings) *before* judging it, so the
guard and the browser never disagree about which host is meant. ``check_address`` judges a resolved
address: only global unicast passes, and an address that embeds an IPv4 address (``::ffff:``,
NAT64, 6to4, Teredo) is judged by what it embeds. The per-deployment allow-list is the only way to
reach anything else (the development demo site on ``localhost:8001``), and the block-list wins over
everything.

It lives here, in the co-browsing core, not in the ``browser`` app that enforces it: it is pure URL
and address policy (standard library, ``idna`` and settings; no model, no upward import), so any
layer may judge a URL with it, and ``cobrowse.browser.urlguard.check_url`` is the path operators and
docs/egress.md name. The ``browser`` app (its egress proxy, resolver, runner and serializers)
imports it from here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https", "ws", "wss"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# Names that are never public, whatever a resolver says (RFC 6761, 6762, 8375; ICANN .internal).
_SPECIAL_NAMES = ("localhost",)
_SPECIAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")

# Checked in order; the first match names the reason. ``is_global`` is required as well, but it is
# not enough on its own (multicast, NAT64, 6to4, ::/96 and 3fff::/20 are "global" to Python 3.11).
_V4_RANGES: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified address"),
    ("127.0.0.0/8", "loopback address"),
    ("10.0.0.0/8", "private address"),
    ("172.16.0.0/12", "private address"),
    ("192.168.0.0/16", "private address"),
    ("100.64.0.0/10", "shared (CGNAT) address"),
    ("169.254.0.0/16", "link-local address"),
    ("192.0.0.0/24", "IETF protocol address"),
    ("192.0.2.0/24", "documentation address"),
    ("198.51.100.0/24", "documentation address"),
    ("203.0.113.0/24", "documentation address"),
    ("198.18.0.0/15", "benchmarking address"),
    ("192.88.99.0/24", "6to4 relay address"),
    ("224.0.0.0/4", "multicast address"),
    ("240.0.0.0/4", "reserved address"),
)
_V6_RANGES: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified address"),
    ("::1/128", "loopback address"),
    ("::/96", "IPv4-compatible address"),
    ("::ffff:0:0:0/96", "IPv4-translated address"),
    ("64:ff9b:1::/48", "local-use NAT64 address"),
    ("100::/64", "discard-only address"),
    ("2001:2::/48", "benchmarking address"),
    ("2001:db8::/32", "documentation address"),
    ("3fff::/20", "documentation address"),
    ("fc00::/7", "unique local address"),
    ("fe80::/10", "link-local address"),
    ("fec0::/10", "site-local address"),
    ("ff00::/8", "multicast address"),
)
_V4_NETS = tuple((ipaddress.ip_network(net), reason) for net, reason in _V4_RANGES)
_V6_NETS = tuple((ipaddress.ip_network(net), reason) for net, reason in _V6_RANGES)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?$")
# WHATWG "forbidden domain code points" plus the ASCII controls, space and DEL.
_FORBIDDEN_HOST_CHARS = set(" #%/:<>?@[\\]^|\x7f") | {chr(c) for c in range(0x20)}


class UrlRefused(ValueError):
    """The URL or address may not be reached; ``reason`` is short and safe to show and log."""

    def __init__(self, reason: str, host: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host


@dataclass(frozen=True)
class HostRule:
    """One allow/block-list entry: ``host``, ``host:port``, ``*.suffix`` or ``*.suffix:port``."""

    host: str
    port: int | None = None
    wildcard: bool = False

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host


@dataclass(frozen=True)
class EgressPolicy:
    """Per-deployment exceptions: allow-listed hosts skip the address rule, blocked hosts never pass."""

    allow: tuple[HostRule, ...] = field(default_factory=tuple)
    block: tuple[HostRule, ...] = field(default_factory=tuple)

    @classmethod
    def from_lists(cls, allow: Iterable[str] = (), block: Iterable[str] = ()) -> EgressPolicy:
        return cls(allow=tuple(parse_rule(e) for e in allow), block=tuple(parse_rule(e) for e in block))

    @classmethod
    def from_settings(cls) -> EgressPolicy:
        from django.conf import settings

        return cls.from_lists(
            getattr(settings, "BROWSER_EGRESS_ALLOW_HOSTS", ()),
            getattr(settings, "BROWSER_EGRESS_BLOCK_HOSTS", ()),
        )

    def is_allowed(self, host: str, port: int) -> bool:
        return any(rule.matches(host, port) for rule in self.allow)

    def is_blocked(self, host: str, port: int) -> bool:
        return any(rule.matches(host, port) for rule in self.block)


@dataclass(frozen=True)
class Target:
    """A checked URL, split: what the proxy needs to connect and what the browser should load."""

    scheme: str
    host: str  # normalised: lower-case ASCII name, dotted IPv4, or bracketless compressed IPv6
    port: int
    rest: str  # path, query and fragment as given ("/" when empty)
    address: IPAddress | None  # set when the host is an IP literal
    allow_listed: bool

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.rest}"


def parse_rule(entry: str) -> HostRule:
    """Parse an allow/block-list entry; the host part is normalised like a URL host."""
    text = entry.strip().lower()
    wildcard = text.startswith("*.")
    if wildcard:
        text = text[2:]
    host, port = _split_host_port(text, entry)
    # "*" is any port, as is no port at all.
    return HostRule(
        host=_normalise_host(host), port=int(port) if port and port != "*" else None, wildcard=wildcard
    )


def check_url(url: str, *, policy: EgressPolicy | None = None) -> str:
    """Return the normalised URL, or raise ``UrlRefused`` naming why it may not be reached."""
    return parse_target(url, policy=policy).url


def parse_target(url: str, *, policy: EgressPolicy | None = None) -> Target:
    """``check_url`` with the parts kept, for the egress proxy."""
    policy = policy if policy is not None else EgressPolicy.from_settings()
    scheme, authority, rest = _split_url(url)
    host_text, port_text = _split_host_port(authority, authority)
    host = _normalise_host(host_text)
    port = _parse_port(port_text, scheme)
    if policy.is_blocked(host, port):
        raise UrlRefused("host is on the block-list", host)
    allowed = policy.is_allowed(host, port)
    address = _literal_address(host)
    if not allowed:
        if address is not None:
            check_address(address, port=port, policy=policy)
        else:
            _check_name(host)
    return Target(scheme, host, port, rest or "/", address, allowed)


def check_address(
    ip: str | IPAddress, *, port: int | None = None, policy: EgressPolicy | None = None
) -> IPAddress:
    """Return the address if it may be connected to, else raise ``UrlRefused``.

    With a policy, a block-list entry naming the address refuses it and an allow-list entry naming
    it (with the port, when the entry has one) admits it: the same rule as for an IP literal URL.
    """
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    text = str(address)
    if policy is not None and port is not None:
        if policy.is_blocked(text, port):
            raise UrlRefused("address is on the block-list", text)
        if policy.is_allowed(text, port):
            return address
    reason = address_refusal(address)
    if reason:
        raise UrlRefused(reason, text)
    return address


def address_refusal(address: IPAddress) -> str | None:
    """Why the address is not global unicast, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        return _v6_refusal(address)
    return _v4_refusal(address)


def _v4_refusal(address: ipaddress.IPv4Address) -> str | None:
    for net, reason in _V4_NETS:
        if address in net:
            return reason
    if address == ipaddress.IPv4Address("255.255.255.255") or not address.is_global:
        return "non-global address"
    return None


def _v6_refusal(address: ipaddress.IPv6Address) -> str | None:
    if address.scope_id:
        return "IPv6 zone id"
    embedded = _embedded_v4(address)
    if embedded:
        form, inner = embedded
        reasons = [r for r in (_v4_refusal(a) for a in inner) if r]
        if reasons:
            return f"{reasons[0]} ({form} form)"
        # Teredo is a tunnel through a relay, never a destination a support browser needs.
        return "Teredo address" if form == "Teredo" else None
    for net, reason in _V6_NETS:
        if address in net:
            return reason
    if address not in _GLOBAL_UNICAST_V6 or not address.is_global:
        return "non-global address"
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, list[ipaddress.IPv4Address]] | None:
    """The IPv4 addresses an IPv6 address stands for: mapped, NAT64, 6to4 and Teredo forms."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped", [address.ipv4_mapped]
    if address in _NAT64:
        return "NAT64", [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address.sixtofour is not None:
        return "6to4", [address.sixtofour]
    if address.teredo is not None:
        server, client = address.teredo
        return "Teredo", [server, client]
    return None


def _check_name(host: str) -> None:
    if host in _SPECIAL_NAMES or host.endswith(_SPECIAL_SUFFIXES):
        raise UrlRefused("local-only host name", host)
    if "." not in host:
        raise UrlRefused("single-label host name", host)


# --- parsing -----------------------------------------------------------------------------------


def _split_url(url: str) -> tuple[str, str, str]:
    """Scheme, authority and the rest. Only ``scheme://authority...`` is accepted, nothing lenient."""
    if not isinstance(url, str):
        raise UrlRefused("not a URL")
    url = url.strip(" \t\r\n\f")
    if len(url) > 8192:
        raise UrlRefused("URL too long")
    if any(ord(c) < 0x20 or c in " \x7f" for c in url):
        raise UrlRefused("control character or space in URL")
    match = _SCHEME_RE.match(url)
    if not match:
        raise UrlRefused("URL without a scheme")
    scheme = match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UrlRefused(f"scheme '{scheme[:20]}' is not allowed")
    after = url[match.end() :]
    if not after.startswith("//") or after[2:3] in ("/", "\\"):
        raise UrlRefused("malformed URL")
    after = after[2:]
    # A browser ends the authority at / ? # and, for these schemes, at a backslash too.
    end = min((i for i in (after.find(c) for c in "/?#\\") if i >= 0), default=len(after))
    authority, rest = after[:end], after[end:]
    if rest.startswith("\\"):
        raise UrlRefused("backslash after the host")
    if "@" in authority:
        raise UrlRefused("credentials in URL", authority.rsplit("@", 1)[1][:100])
    if rest.startswith(("?", "#")):
        rest = "/" + rest
    return scheme, authority, rest


def _split_host_port(authority: str, original: str) -> tuple[str, str]:
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise UrlRefused("malformed IPv6 literal")
        host, tail = authority[: close + 1], authority[close + 1 :]
        if tail and not tail.startswith(":"):
            raise UrlRefused("malformed authority")
        return host, tail[1:] if tail else ""
    if authority.count(":") > 1:
        raise UrlRefused("malformed authority")
    host, _, port = authority.partition(":")
    if _ and not port:
        raise UrlRefused("empty port")
    return host, port


def _parse_port(text: str, scheme: str) -> int:
    if not text:
        return DEFAULT_PORTS[scheme]
    if not text.isascii() or not text.isdigit() or len(text) > 5 or not 0 < int(text) < 65536:
        raise UrlRefused("invalid port")
    return int(text)


def _normalise_host(text: str) -> str:
    """WHATWG host parsing: IPv6 literal, else percent-decode, IDNA, then the IPv4 number forms."""
    if not text:
        raise UrlRefused("empty host")
    if text.startswith("["):
        return str(_parse_ipv6(text[1:-1]))
    try:
        decoded = unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise UrlRefused("invalid percent-encoding in host") from None
    if any(c in _FORBIDDEN_HOST_CHARS for c in decoded):
        raise UrlRefused("forbidden character in host")
    host = _to_ascii(decoded)
    if _ends_in_number(host):
        return str(_parse_ipv4(host))
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise UrlRefused("invalid host name")
    return host


def _to_ascii(host: str) -> str:
    if host.isascii():
        ascii_host = host.lower()
    else:
        try:
            # UTS #46 non-transitional, as browsers do: full-width digits and dots map to ASCII.
            ascii_host = idna.encode(host, uts46=True, transitional=False, std3_rules=False).decode()
        except (idna.IDNAError, UnicodeError):
            raise UrlRefused("invalid international host name") from None
    for label in ascii_host.split("."):
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                raise UrlRefused("invalid punycode label") from None
    return ascii_host


def _parse_ipv6(text: str) -> ipaddress.IPv6Address:
    if "%" in text:
        raise UrlRefused("IPv6 zone id")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise UrlRefused("malformed IPv6 literal") from None


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if last and last.isdigit() and last.isascii():
        return True
    return _parse_ipv4_number(last) is not None if last.startswith("0x") else False


def _parse_ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 address: decimal, 0-prefixed octal or 0x-prefixed hex."""
    base, digits = 10, part
    if part[:2] in ("0x", "0X"):
        base, digits = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        base, digits = 8, part[1:]
    if digits == "":
        return 0
    allowed = {10: "0123456789", 8: "01234567", 16: "0123456789abcdefABCDEF"}[base]
    if not all(c in allowed for c in digits):
        return None
    return int(digits, base)


def _parse_ipv4(host: str) -> ipaddress.IPv4Address:
    parts = host.split(".")
    if parts[-1] == "":
        parts.pop()
    if not parts or len(parts) > 4 or any(p == "" for p in parts):
        raise UrlRefused("malformed IPv4 address")
    numbers = [_parse_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        raise UrlRefused("malformed IPv4 address")
    values = [int(n) for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise UrlRefused("IPv4 address out of range")
    value = values[-1]
    for index, number in enumerate(values[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
