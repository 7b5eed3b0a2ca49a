"""Real Chromium behind the egress proxy: a page on an allowed origin tries every way it has to
reach an internal host (127.0.0.2), and the internal host must see nothing at all."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import async_playwright

from browser.egress_proxy import EgressProxy, Refusal
from browser.launch import INIT_SCRIPT, browser_launch_options, context_options
from cobrowse.browser.urlguard import EgressPolicy
from tests.browser.conftest import RebindingResolver, SiteServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PAGE = """<!doctype html><html><body><h1>allowed site</h1><script>
const F = "{forbidden}", FWS = "{forbidden_ws}", AP = {allowed_port};
const results = {{}};
const done = (name, value) => {{ results[name] = String(value); }};
window.results = results;
const img = new Image();
img.onload = () => done("img", "load"); img.onerror = () => done("img", "error");
img.src = F + "/img.png";
const frame = document.createElement("iframe"); frame.src = F + "/frame"; document.body.appendChild(frame);
const hop = document.createElement("iframe"); hop.src = "/redirect?frame"; document.body.appendChild(hop);
fetch(F + "/fetch").then(r => done("fetch", r.status), () => done("fetch", "error"));
fetch(F + "/no-cors", {{mode: "no-cors"}}).then(r => done("no_cors", r.type), () => done("no_cors", "error"));
const xhr = new XMLHttpRequest(); xhr.open("GET", F + "/xhr");
xhr.onload = () => done("xhr", xhr.status); xhr.onerror = () => done("xhr", "error"); xhr.send();
done("beacon", navigator.sendBeacon(F + "/beacon", "x"));
const es = new EventSource(F + "/events"); es.onerror = () => {{ done("eventsource", "error"); es.close(); }};
const ws = new WebSocket(FWS + "/page-ws");
ws.onopen = () => done("ws", "open"); ws.onerror = () => done("ws", "error");
const worker = new Worker("/worker.js"); worker.onmessage = e => Object.assign(results, e.data);
fetch("/redirect?fetch").then(r => done("redirect", r.status), () => done("redirect", "error"));
fetch("http://rebind.test:" + AP + "/data").then(r => r.text()).then(t => done("rebind_first", t),
  () => done("rebind_first", "error")).then(() => fetch("http://rebind.test:" + AP + "/data?again"))
  .then(r => done("rebind_second", r.status), () => done("rebind_second", "error"));
fetch("http://both.test:" + AP + "/data").then(r => done("both", r.status), () => done("both", "error"));
done("rtc_page", typeof RTCPeerConnection);
done("webtransport_page", typeof WebTransport);
const blank = document.createElement("iframe"); document.body.appendChild(blank);
const PC = blank.contentWindow.RTCPeerConnection;
done("rtc_blank_frame", typeof PC);
if (PC) {{
  const pc = new PC({{iceServers: [{{urls: "stun:127.0.0.2:{forbidden_port}"}},
                                  {{urls: "turn:127.0.0.2:{forbidden_port}?transport=tcp", username: "u",
                                    credential: "p"}}]}});
  pc.createDataChannel("x");
  pc.createOffer().then(o => pc.setLocalDescription(o)).then(() => done("rtc_offer", "made"),
                                                              () => done("rtc_offer", "error"));
}}
</script></body></html>"""

WORKER = """
const F = "{forbidden}", FWS = "{forbidden_ws}";
const r = {{}};
const post = () => postMessage(r);
fetch(F + "/worker-fetch").then(x => {{ r.worker_fetch = String(x.status); }},
                                () => {{ r.worker_fetch = "error"; }}).then(post);
const ws = new WebSocket(FWS + "/worker-ws");
ws.onopen = () => {{ r.worker_ws = "open"; post(); }};
ws.onerror = () => {{ r.worker_ws = "error"; post(); }};
try {{
  const wt = new WebTransport("https://127.0.0.2:{forbidden_port}/wt");
  wt.ready.then(() => {{ r.worker_wt = "open"; post(); }}, () => {{ r.worker_wt = "error"; post(); }});
}} catch (e) {{ r.worker_wt = "throws"; post(); }}
"""

EXPECTED_KEYS = {
    "img", "fetch", "no_cors", "xhr", "beacon", "eventsource", "ws", "redirect", "rebind_first",
    "rebind_second", "both", "rtc_page", "webtransport_page", "rtc_blank_frame", "worker_fetch",
    "worker_ws", "worker_wt",
}  # fmt: skip


def _make_site(forbidden_origin: str, forbidden_port: int, port_box: list[int]):
    values = {
        "forbidden": forbidden_origin,
        "forbidden_ws": forbidden_origin.replace("http://", "ws://"),
        "forbidden_port": forbidden_port,
    }

    def handler(method: str, path: str, headers: dict[str, str], body: bytes):
        if path.startswith("/redirect"):
            return 302, {"Location": f"{forbidden_origin}/after-redirect"}, b""
        if path == "/worker.js":
            return 200, {"Content-Type": "text/javascript"}, WORKER.format(**values).encode()
        if path.startswith("/data"):
            return 200, {"Content-Type": "text/plain", "Access-Control-Allow-Origin": "*"}, b"public data"
        page = PAGE.format(**values, allowed_port=port_box[0])
        return 200, {"Content-Type": "text/html"}, page.encode()

    return handler


@pytest.fixture
async def chromium_behind_proxy(forbidden):
    port_box = [0]
    site = await SiteServer("127.0.0.1", _make_site(forbidden.origin, forbidden.port, port_box)).start()
    port_box[0] = site.port
    refusals: list[Refusal] = []
    resolver = RebindingResolver(
        {"rebind.test": [["127.0.0.1"], ["127.0.0.2"]], "both.test": [["127.0.0.1", "127.0.0.2"]]}
    )
    # The allowed site is on loopback too: the allow-list names it by address and port.
    # 127.0.0.2 is not in it.
    policy = EgressPolicy.from_lists(allow=[f"127.0.0.1:{site.port}"])
    async with (
        EgressProxy(policy=policy, resolver=resolver, on_refusal=refusals.append) as proxy,
        async_playwright() as pw,
    ):
        browser = await pw.chromium.launch(**browser_launch_options(proxy.port))
        context = await browser.new_context(**context_options())
        await context.add_init_script(INIT_SCRIPT)
        try:
            yield context, site, proxy, refusals, resolver, browser
        finally:
            await context.close()
            await browser.close()
    await site.close()


async def _wait_for_results(page, keys: set[str], seconds: float = 15.0) -> dict[str, str]:
    for _ in range(int(seconds * 10)):
        results = await page.evaluate("window.results")
        if keys <= set(results):
            return results
        await asyncio.sleep(0.1)
    return await page.evaluate("window.results")


async def test_a_page_reaches_nothing_internal_by_any_route(chromium_behind_proxy, forbidden):
    context, site, proxy, refusals, resolver, _browser = chromium_behind_proxy
    page = await context.new_page()
    await page.goto(f"{site.origin}/")
    results = await _wait_for_results(page, EXPECTED_KEYS)
    await asyncio.sleep(1.0)  # let late retries (beacon, EventSource, ICE) arrive if they were going to

    assert forbidden.hits == 0, forbidden.tcp.requests
    assert set(results) >= EXPECTED_KEYS, results
    assert results["rebind_first"] == "public data"  # the first answer was the allowed address
    for key in ("img", "fetch", "xhr", "eventsource", "ws", "redirect", "rebind_second", "both",
                "worker_fetch", "worker_ws"):  # fmt: skip
        assert results[key] == "error", (key, results)
    assert results["rtc_page"] == "undefined" and results["webtransport_page"] == "undefined"
    assert results["worker_wt"] in ("error", "throws")

    refused_hosts = {r.host for r in refusals}
    assert {"127.0.0.2", "rebind.test", "both.test"} <= refused_hosts
    assert {"GET", "CONNECT"} <= {r.method for r in refusals if r.host == "127.0.0.2"}
    assert all("after-redirect" not in r.reason for r in refusals)
    assert resolver.lookups["rebind.test"] == 2
    assert proxy.stats["forwarded"] >= 3


async def test_navigations_to_internal_hosts_show_the_block_page(chromium_behind_proxy, forbidden):
    context, site, _proxy, refusals, _resolver, _browser = chromium_behind_proxy
    page = await context.new_page()
    for url in (f"{forbidden.origin}/admin", f"{site.origin}/redirect?top", "http://2130706434:80/",
                "http://169.254.169.254/latest/meta-data/"):  # fmt: skip
        response = await page.goto(url)
        assert response is not None and response.status == 403, url
        assert "Blocked by Tandem:" in await page.inner_text("h1")
    assert forbidden.hits == 0
    assert "169.254.169.254" in {r.host for r in refusals}


async def test_webrtc_sends_no_udp_even_without_the_init_script(chromium_behind_proxy, forbidden):
    """The launch flags are a layer of their own: workers and missed frames get no init script."""
    _context, site, _proxy, _refusals, _resolver, browser = chromium_behind_proxy
    bare = await browser.new_context(**context_options())
    try:
        page = await bare.new_page()
        await page.goto(f"{site.origin}/")
        results = await _wait_for_results(page, {"rtc_offer", "worker_wt"})
        await asyncio.sleep(1.5)  # ICE gathering sends its STUN requests within this
    finally:
        await bare.close()
    assert results.get("rtc_blank_frame") == "function" and results.get("rtc_offer") == "made", results
    assert forbidden.udp.datagrams == 0 and forbidden.hits == 0


async def test_the_resolver_rules_alone_stop_direct_connections(forbidden):
    """The backstop: with the proxy setting removed, Chromium still cannot connect anywhere else."""
    options = browser_launch_options(9)
    options.pop("proxy")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**options)
        try:
            page = await browser.new_page()
            for url in (f"{forbidden.origin}/", f"http://[::ffff:127.0.0.2]:{forbidden.port}/"):
                with pytest.raises(Exception, match="ERR_NAME_NOT_RESOLVED"):
                    await page.goto(url, timeout=10_000)
        finally:
            await browser.close()
    assert forbidden.hits == 0
