"""The egress decision: a table of hostile URLs, the allowed ones, and the address rule."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cobrowse.browser.urlguard import (
    EgressPolicy,
    UrlRefused,
    check_address,
    check_url,
    parse_rule,
    parse_target,
)

POLICY = EgressPolicy.from_lists(
    allow=["localhost:8001", "*.partner.example", "intranet.corp.example:8443", "[fd00::5]:443"],
    block=["tracker.example", "*.blocked.example", "93.184.216.34"],
)

# (url, words the reason must contain). Every class in the issue is represented.
HOSTILE = [
    # schemes
    ("file:///etc/passwd", "scheme 'file'"),
    ("chrome://settings", "scheme 'chrome'"),
    ("data:text/html,<script>alert(1)</script>", "scheme 'data'"),
    ("javascript:alert(document.cookie)", "scheme 'javascript'"),
    ("JaVaScRiPt:alert(1)", "scheme 'javascript'"),
    ("  javascript:alert(1)", "scheme 'javascript'"),
    ("java\tscript:alert(1)", "control character"),
    ("view-source:http://example.com/", "scheme 'view-source'"),
    ("ftp://example.com/file", "scheme 'ftp'"),
    ("chrome-extension://abc/page.html", "scheme 'chrome-extension'"),
    ("blob:http://example.com/uuid", "scheme 'blob'"),
    ("about:blank", "scheme 'about'"),
    ("gopher://example.com:70/", "scheme 'gopher'"),
    ("example.com/path", "without a scheme"),
    ("http:/example.com/", "malformed URL"),
    ("http:\\\\example.com/", "malformed URL"),
    ("http:///example.com/", "malformed URL"),
    # loopback in every spelling
    ("http://127.0.0.1/", "loopback"),
    ("http://127.0.0.2:8080/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7F000001/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.0.0.1./", "loopback"),
    ("http://%31%32%37.0.0.1/", "loopback"),
    ("http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]:8000/", "loopback"),
    ("http://localhost/", "local-only host name"),
    ("http://LOCALHOST./", "local-only host name"),
    ("http://api.localhost/", "local-only host name"),
    ("http://localhost:8002/", "local-only host name"),
    # private, shared, link-local, metadata
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://0xc0.0xa8.1.1/", "private"),
    ("http://3232235777/", "private"),
    ("http://100.64.0.1/", "CGNAT"),
    ("http://100.127.255.254/", "CGNAT"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fd00::1]/", "unique local"),
    ("http://[fec0::1]/", "site-local"),
    ("http://metadata.google.internal/", "local-only host name"),
    ("http://printer.local/", "local-only host name"),
    ("http://router.home.arpa/", "local-only host name"),
    ("http://intranet/", "single-label"),
    # multicast, reserved, unspecified, benchmarking, documentation
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250:1900/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://[2001:2::1]/", "benchmarking"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.51.100.7/", "documentation"),
    ("http://203.0.113.9/", "documentation"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[3fff::1]/", "documentation"),
    ("http://192.0.0.8/", "IETF protocol"),
    # IPv4 inside IPv6: mapped, compatible, NAT64, 6to4, Teredo
    ("http://[::ffff:127.0.0.1]/", "loopback address (IPv4-mapped form)"),
    ("http://[::ffff:7f00:1]/", "loopback address (IPv4-mapped form)"),
    ("http://[::ffff:169.254.169.254]/", "link-local address (IPv4-mapped form)"),
    ("http://[::127.0.0.1]/", "IPv4-compatible"),
    ("http://[64:ff9b::7f00:1]/", "loopback address (NAT64 form)"),
    ("http://[64:ff9b::10.0.0.1]/", "private address (NAT64 form)"),
    ("http://[64:ff9b:1::a00:1]/", "local-use NAT64"),
    ("http://[2002:7f00:1::]/", "loopback address (6to4 form)"),
    ("http://[2002:a9fe:a9fe::1]/", "link-local address (6to4 form)"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "Teredo"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
    # userinfo and parser differentials
    ("http://allowed.example@127.0.0.1/", "credentials"),
    ("http://user:pass@example.com/", "credentials"),
    ("http://localhost:8001@evil.example/", "credentials"),
    ("http://evil.example\\@localhost:8001/", "backslash"),
    ("http://example.com:80:80/", "malformed authority"),
    ("http://example.com:/", "empty port"),
    ("http://example.com:99999/", "invalid port"),
    ("http://example.com:0/", "invalid port"),
    ("http://example.com:+80/", "invalid port"),
    ("http://exa mple.com/", "control character or space"),
    ("http://exa%20mple.com/", "forbidden character"),
    ("http://example.com%2F@127.0.0.1/", "credentials"),
    ("http://example..com/", "invalid host name"),
    ("http://-example.com/", "invalid host name"),
    ("http://1.2.3.4.5/", "malformed IPv4"),
    ("http://example.0x1f/", "malformed IPv4"),
    ("http://256.0.0.1/", "out of range"),
    ("http://4294967296/", "out of range"),
    ("http://08.0.0.1/", "malformed IPv4"),
    ("http://xn--zz/", "punycode"),
    ("http://%ff.example/", "percent-encoding"),
    ("http:///", "malformed URL"),
    ("http://?x", "empty host"),
    # bracketed IPv6 with zone ids
    ("http://[fe80::1%25eth0]/", "zone id"),
    ("http://[fe80::1%eth0]:80/", "zone id"),
    ("http://[2606:4700::1111%251]/", "zone id"),
    ("http://[::1/", "malformed IPv6"),
    ("http://[not-ipv6]/", "malformed IPv6"),
    ("http://[::1]x/", "malformed authority"),
    # the deployment's block-list wins, allow-list entries do not widen to other ports
    ("http://tracker.example/", "block-list"),
    ("http://TRACKER.example./", "block-list"),
    ("http://x.blocked.example/", "block-list"),
    ("http://93.184.216.34/", "block-list"),
    ("http://0x5d.0xb8.0xd8.0x22/", "block-list"),
    ("http://[fd00::5]:444/", "unique local"),
]

ALLOWED = [
    ("http://example.com", "http://example.com/"),
    ("HTTPS://Example.COM.:443/a/b?c=d#e", "https://example.com/a/b?c=d#e"),
    ("http://example.com?q=1", "http://example.com/?q=1"),
    ("ws://example.com:80/socket", "ws://example.com/socket"),
    ("wss://example.com:8443/socket", "wss://example.com:8443/socket"),
    ("http://8.8.8.8/", "http://8.8.8.8/"),
    ("http://134744072/", "http://8.8.8.8/"),
    ("http://[2606:4700:4700::1111]/", "http://[2606:4700:4700::1111]/"),
    ("http://[::ffff:8.8.8.8]/", "http://[::ffff:808:808]/"),
    ("http://[2002:808:808::1]/", "http://[2002:808:808::1]/"),
    ("http://[64:ff9b::808:808]/", "http://[64:ff9b::808:808]/"),
    ("http://b\u00fccher.example/", "http://xn--bcher-kva.example/"),
    ("http://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com/", "http://example.com/"),
    ("http://under_score.example/", "http://under_score.example/"),
    ("http://example.com/path%20with%20escapes", "http://example.com/path%20with%20escapes"),
    # by configuration, not by weakening the rule
    ("http://localhost:8001/demo", "http://localhost:8001/demo"),
    ("http://LocalHost.:8001/", "http://localhost:8001/"),
    ("https://app.partner.example/", "https://app.partner.example/"),
    ("https://intranet.corp.example:8443/", "https://intranet.corp.example:8443/"),
    ("https://[fd00::5]/", "https://[fd00::5]/"),
]


def test_the_table_covers_enough_hostile_inputs():
    assert len(HOSTILE) >= 40
    assert len({url for url, _ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_hostile_urls_are_refused_with_the_reason(url, reason):
    with pytest.raises(UrlRefused) as refused:
        check_url(url, policy=POLICY)
    assert reason in refused.value.reason
    assert str(refused.value) == refused.value.reason


@pytest.mark.parametrize(("url", "normalised"), ALLOWED)
def test_allowed_urls_come_back_normalised(url, normalised):
    assert check_url(url, policy=POLICY) == normalised


def test_without_a_policy_the_settings_are_used(settings):
    settings.BROWSER_EGRESS_ALLOW_HOSTS = ["localhost:8001"]
    settings.BROWSER_EGRESS_BLOCK_HOSTS = ["example.org"]
    assert check_url("http://localhost:8001/") == "http://localhost:8001/"
    with pytest.raises(UrlRefused, match="block-list"):
        check_url("http://example.org/")
    settings.BROWSER_EGRESS_ALLOW_HOSTS = []
    with pytest.raises(UrlRefused, match="local-only"):
        check_url("http://localhost:8001/")


def test_an_empty_policy_allows_no_exception():
    with pytest.raises(UrlRefused, match="local-only"):
        check_url("http://localhost:8001/", policy=EgressPolicy())


def test_the_host_is_reported_normalised():
    with pytest.raises(UrlRefused) as refused:
        check_url("http://0x7f.1:9000/secret?token=abc", policy=POLICY)
    assert refused.value.host == "127.0.0.1"
    assert "token" not in refused.value.reason


def test_parse_target_keeps_what_the_proxy_needs():
    target = parse_target("http://[2606:4700::1]:8080/a?b#c", policy=POLICY)
    assert (target.scheme, target.host, target.port, target.rest) == ("http", "2606:4700::1", 8080, "/a?b#c")
    assert target.address == ipaddress.ip_address("2606:4700::1")
    assert target.authority == "[2606:4700::1]:8080"
    named = parse_target("http://localhost:8001/", policy=POLICY)
    assert named.address is None and named.allow_listed


@pytest.mark.parametrize(
    ("entry", "host", "port", "wildcard"),
    [
        ("localhost:8001", "localhost", 8001, False),
        ("*.Partner.Example", "partner.example", None, True),
        ("*.partner.example:443", "partner.example", 443, True),
        ("[::1]:9000", "::1", 9000, False),
        ("0x7f.1:8001", "127.0.0.1", 8001, False),
        ("example.com:*", "example.com", None, False),
    ],
)
def test_list_entries_are_normalised_like_hosts(entry, host, port, wildcard):
    rule = parse_rule(entry)
    assert (rule.host, rule.port, rule.wildcard) == (host, port, wildcard)


def test_an_allow_list_entry_with_a_port_covers_that_port_only():
    assert parse_target("https://intranet.corp.example:8443/", policy=POLICY).allow_listed
    # Another port is judged like any public name: the proxy will check its addresses.
    assert not parse_target("https://intranet.corp.example/", policy=POLICY).allow_listed


def test_a_wildcard_does_not_match_the_bare_suffix_or_lookalikes():
    policy = EgressPolicy.from_lists(allow=["*.partner.example"])
    assert policy.is_allowed("a.b.partner.example", 443)
    assert not policy.is_allowed("partner.example", 443)
    assert not policy.is_allowed("evilpartner.example", 443)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "100.64.1.1", "169.254.169.254", "224.1.1.1", "0.0.0.0", "::1",
     "fe80::1", "fc00::1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:0a00:0001::", "ff05::2",
     "198.19.255.255", "2001:db8::", "2001::1"],
)  # fmt: skip
def test_check_address_refuses_non_global(address):
    with pytest.raises(UrlRefused):
        check_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001::1"])
def test_check_address_passes_global_unicast(address):
    assert check_address(address) == ipaddress.ip_address(address)


def test_check_address_follows_the_lists_by_address_and_port():
    policy = EgressPolicy.from_lists(allow=["127.0.0.1:8001"], block=["8.8.4.4"])
    assert check_address("127.0.0.1", port=8001, policy=policy)
    with pytest.raises(UrlRefused, match="loopback"):
        check_address("127.0.0.1", port=8002, policy=policy)
    with pytest.raises(UrlRefused, match="block-list"):
        check_address("8.8.4.4", port=443, policy=policy)


INTERNAL_V4 = st.one_of(
    st.integers(0x7F000000, 0x7FFFFFFF),  # 127/8
    st.integers(0x0A000000, 0x0AFFFFFF),  # 10/8
    st.integers(0xA9FE0000, 0xA9FEFFFF),  # 169.254/16
    st.integers(0x64400000, 0x647FFFFF),  # 100.64/10
    st.integers(0xE0000000, 0xFFFFFFFF),  # multicast and reserved
).map(ipaddress.IPv4Address)


def _spellings(address: ipaddress.IPv4Address) -> list[str]:
    n = int(address)
    octets = address.packed
    return [
        str(n),
        hex(n),
        "0" + oct(n)[2:],
        ".".join("0" + oct(o)[2:] for o in octets),
        ".".join(hex(o) for o in octets),
        f"{octets[0]}.{n & 0xFFFFFF}",
        f"{octets[0]}.{octets[1]}.{n & 0xFFFF}",
        f"[::ffff:{address}]",
        f"[64:ff9b::{address}]",
        f"[2002:{n >> 16:x}:{n & 0xFFFF:x}::1]",
    ]


@given(INTERNAL_V4)
def test_every_spelling_of_an_internal_ipv4_address_is_refused(address):
    for host in _spellings(address):
        with pytest.raises(UrlRefused):
            check_url(f"http://{host}/", policy=EgressPolicy())


@given(st.integers(0x08000000, 0x08FFFFFF).map(ipaddress.IPv4Address))
def test_every_spelling_of_a_public_address_means_that_address(address):
    for host in _spellings(address)[:7]:
        assert check_url(f"http://{host}/", policy=EgressPolicy()) == f"http://{address}/"
