"""The demo site's server: every page carries the loader snippet; nothing outside the site is served."""

from __future__ import annotations

import html
import http.client
import json
import re
import subprocess
from urllib.parse import urlsplit

import pytest

from demo_site.server import (
    PAGES_DIR,
    REACT_BUNDLE,
    ROUTES,
    loader_snippet,
    make_server,
    react_options_script,
)
from tests.demo_site.conftest import TANDEM_URL

SNIPPET = (
    '<script async src="http://tandem.test:8123/static/dist/tandem-loader.js" '
    'data-tandem-site="acme-home-loans"></script>'
)


def fetch(base: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A raw request, so the path reaches the server exactly as written (no client normalisation)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_page_carries_the_loader_snippet_in_its_head(demo_url, route):
    status, headers, body = fetch(demo_url, route)
    page = body.decode()
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert page.count(SNIPPET) == 1
    assert page.index(SNIPPET) < page.index("</head>")
    assert "$" + "loader" not in page and "$" + "body" not in page


def test_snippet_points_at_the_given_tandem_url_and_is_escaped():
    assert loader_snippet("http://127.0.0.1:8000/") == (
        '<script async src="http://127.0.0.1:8000/static/dist/tandem-loader.js" '
        'data-tandem-site="acme-home-loans"></script>'
    )
    assert 'src="http://x/&quot;&gt;&lt;script&gt;/static' in loader_snippet('http://x/"><script>')
    assert loader_snippet(TANDEM_URL) == SNIPPET


def test_a_tandem_url_that_is_not_http_is_refused():
    with pytest.raises(ValueError, match="tandem-url"):
        make_server("127.0.0.1", 0, "javascript:alert(1)")


def test_the_application_steps_are_separate_pages_with_stable_field_ids(demo_url):
    expected = {
        "/apply/personal": [
            'id="full-name" name="full_name"',
            'id="email" name="email"',
            'id="phone"',
            'id="dob"',
        ],
        "/apply/address": ['id="pin-code" name="pin_code"', 'pattern="^[1-9][0-9]{5}$"'],
        "/apply/property": ['name="property_type"', 'id="property-value"'],
        "/apply/income": ['id="pan" name="pan"', "data-pii", "data-sensitive", 'id="overseas-iban"'],
        "/apply/payment": ['autocomplete="cc-number"', 'autocomplete="cc-exp"', 'autocomplete="cc-csc"'],
        "/apply/verify": ['autocomplete="one-time-code"'],
        "/apply/review": ["Card on file: <span", "4111 1111 1111 1111"],
        "/login": ['type="password"', 'name="username"'],
    }
    for route, needles in expected.items():
        page = fetch(demo_url, route)[2].decode()
        for needle in needles:
            assert needle in page, (route, needle)
    # The PAN field carries no masking markup: only the server layer can catch it.
    pan = re.search(r"<input id=\"pan\"[^>]*>", fetch(demo_url, "/apply/income")[2].decode()).group(0)
    assert "data-sensitive" not in pan and "data-pii" not in pan and "autocomplete" not in pan


def test_static_files_are_served_with_their_types(demo_url):
    status, headers, body = fetch(demo_url, "/static/site.css")
    assert status == 200 and headers["content-type"].startswith("text/css") and b".stepper" in body
    status, headers, _ = fetch(demo_url, "/static/app.js")
    assert status == 200 and "javascript" in headers["content-type"]


def test_head_requests_send_no_body(demo_url):
    status, headers, body = fetch(demo_url, "/", method="HEAD")
    assert status == 200 and int(headers["content-length"]) > 1000 and body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/apply/step-9",
        "/index.html",
        "/pages/_layout.html",
        "/server.py",
        "/static/",
        "/static/../server.py",
        "/static/..%2fserver.py",
        "/static/%2e%2e/server.py",
        "/static/%2e%2e/%2e%2e/config/settings.py",
        "/static/..%5cserver.py",
        "/static//etc/passwd",
        "/static/%00site.css",
        "/../../etc/passwd",
    ],
)
def test_unknown_paths_and_traversal_get_404(demo_url, path):
    status, _, body = fetch(demo_url, path)
    assert status == 404
    assert b"import" not in body and b"root:" not in body


def test_unsupported_methods_are_refused(demo_url):
    assert fetch(demo_url, "/login", method="POST")[0] == 501


def test_favicon_ico_points_at_the_site_icon(demo_url):
    status, headers, _ = fetch(demo_url, "/favicon.ico")
    assert status == 301 and headers["location"] == "/static/favicon.svg"
    status, headers, body = fetch(demo_url, headers["location"])
    assert status == 200 and headers["content-type"].startswith("image/svg+xml") and b"<svg" in body


def test_every_pattern_is_a_valid_html_pattern():
    """Browsers compile a pattern as ``^(?:pattern)$`` with the ``v`` flag, in which ``[ -]`` is
    invalid; an invalid pattern is ignored (and reported in the console), so nothing is checked."""
    patterns = sorted(
        {
            html.unescape(match)
            for file in PAGES_DIR.glob("*.html")
            for match in re.findall(r'\spattern="([^"]*)"', file.read_text(encoding="utf-8"))
        }
    )
    assert len(patterns) >= 8
    script = (
        "const bad = []; for (const p of JSON.parse(process.argv[1])) {"
        " try { new RegExp(`^(?:${p})$`, 'v'); } catch (e) { bad.push(p); } }"
        " console.log(JSON.stringify(bad));"
    )
    done = subprocess.run(
        ["node", "-e", script, json.dumps(patterns)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_react_page_starts_the_widget_itself_under_a_script_policy(demo_url):
    status, headers, body = fetch(demo_url, "/react/")
    page = body.decode()
    assert status == 200
    # No snippet: the page's bundle calls Tandem.init through <TandemProvider> and adds the loader.
    assert SNIPPET not in page and "Tandem.init(" not in page
    assert '<script defer src="/react/app.js"></script>' in page
    options = json.loads(
        re.search(r'<script type="application/json" id="tandem-options">(.*?)</script>', page).group(1)
    )
    assert options == {
        "site": "acme-home-loans",
        "help": True,
        "loaderSrc": "http://tandem.test:8123/static/dist/tandem-loader.js",
    }
    assert headers["content-security-policy"] == (
        "script-src 'self' http://tandem.test:8123; object-src 'none'; base-uri 'none'"
    )
    # The other pages keep their inline init stub, so they carry no such policy.
    assert "content-security-policy" not in fetch(demo_url, "/apply/address")[1]


def test_the_react_options_cannot_close_their_script_element():
    tag = react_options_script("http://x", {"site": "</script><script>alert(1)</script>"})
    assert tag.count("</script>") == 1 and "\\u003c/script>" in tag


def test_the_react_bundle_is_served_when_built(demo_url):
    status, headers, body = fetch(demo_url, "/react/app.js")
    if not REACT_BUNDLE.is_file():
        assert status == 404
        return
    assert status == 200 and "javascript" in headers["content-type"] and b"tandem-options" in body
