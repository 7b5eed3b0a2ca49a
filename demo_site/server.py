"""A small threaded static server for the demo site.

Pages are fragments in ``pages/`` wrapped in one layout at start-up; every page carries the Tandem
widget loader snippet pointing at ``--tandem-url``. Only the routes in :data:`ROUTES` and files inside
``static/`` are served, so no request can reach anything else on disk.
"""

from __future__ import annotations

import argparse
import html
import json
import mimetypes
import string
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent
PAGES_DIR = ROOT / "pages"
STATIC_DIR = ROOT / "static"
#: The React page's bundle (``demo_site/react/app.js`` with React in it), built by frontend/build.mjs.
REACT_BUNDLE = ROOT.parent / "static" / "dist" / "demo-react.js"
REACT_ROUTE = "/react"
REACT_BUNDLE_ROUTE = "/react/app.js"
SITE_KEY = "acme-home-loans"
#: What every page passes to ``Tandem.init`` (docs/widget-sdk.md): help triggers on, no signed-in
#: user (the demo's visitors are anonymous; a site with logins adds ``user: {id, signature}``).
DEFAULT_INIT: dict = {"site": SITE_KEY, "help": True}


@dataclass(frozen=True)
class Page:
    template: str
    title: str
    step: int = 0  # 1-5 on the loan application, 0 elsewhere


ROUTES: dict[str, Page] = {
    "/": Page("index.html", "Home loans that move at your pace"),
    "/login": Page("login.html", "Log in"),
    "/apply/personal": Page("personal.html", "Personal details", 1),
    "/apply/address": Page("address.html", "Address", 2),
    "/apply/property": Page("property.html", "Property", 3),
    "/apply/income": Page("income.html", "Income and identity", 4),
    "/apply/review": Page("review.html", "Review and submit", 5),
    "/apply/payment": Page("payment.html", "Processing fee"),
    "/apply/verify": Page("verify.html", "Verify it's you"),
    "/apply/done": Page("done.html", "Application received"),
}
STEPS = ("Personal", "Address", "Property", "Income", "Review")


def loader_snippet(tandem_url: str) -> str:
    """The widget loader tag the site owner pastes into every page."""
    src = html.escape(f"{tandem_url.rstrip('/')}/static/dist/tandem-loader.js", quote=True)
    return f'<script async src="{src}" data-tandem-site="{SITE_KEY}"></script>'


def init_snippet(options: dict) -> str:
    """The site's ``Tandem.init`` call: queued by a two-line stub until the async loader runs it."""
    # "<" escaped so that no value can close the script element.
    payload = json.dumps(options, separators=(",", ":")).replace("<", "\\u003c")
    return (
        "<script>window.Tandem=window.Tandem||{q:[],init:function(o){this.q.push(o)}};"
        f"Tandem.init({payload});</script>"
    )


def react_options_script(tandem_url: str, options: dict) -> str:
    """The React page's provider options: ``Tandem.init``'s plus where the loader is, as JSON data
    (the provider, not a snippet, calls ``Tandem.init`` and loads the loader)."""
    loader = f"{tandem_url.rstrip('/')}/static/dist/tandem-loader.js"
    payload = json.dumps({**options, "loaderSrc": loader}, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="tandem-options">{payload}</script>'


def react_policy(tandem_url: str) -> str:
    """The React page's Content-Security-Policy: scripts from the site and Tandem only, nothing
    inline, no eval. The provider, the React bundle and the widget need no more."""
    parts = urlsplit(tandem_url)
    return f"script-src 'self' {parts.scheme}://{parts.netloc}; object-src 'none'; base-uri 'none'"


def _stepper(step: int) -> str:
    if not step:
        return ""
    items = []
    for number, name in enumerate(STEPS, start=1):
        state = "done" if number < step else "current" if number == step else "todo"
        current = ' aria-current="step"' if number == step else ""
        items.append(f'<li class="step step-{state}"{current}><span class="dot">{number}</span>{name}</li>')
    return f'<ol class="stepper" aria-label="Application progress">{"".join(items)}</ol>'


def render_pages(tandem_url: str, tandem_init: dict | None = None) -> dict[str, bytes]:
    """Every page, rendered once: the layout around each fragment, with the loader snippet and the
    site's ``Tandem.init`` call (``tandem_init``, by default :data:`DEFAULT_INIT`)."""
    snippet = (
        init_snippet(DEFAULT_INIT if tandem_init is None else tandem_init) + "\n" + loader_snippet(tandem_url)
    )
    layout = string.Template((PAGES_DIR / "_layout.html").read_text(encoding="utf-8"))
    rendered = {}
    for route, page in ROUTES.items():
        body = (PAGES_DIR / page.template).read_text(encoding="utf-8")
        rendered[route] = layout.substitute(
            title=html.escape(page.title),
            loader=snippet,
            stepper=_stepper(page.step),
            body=body,
        ).encode("utf-8")
    # The React page: no snippet, its bundle starts the widget through <TandemProvider>.
    body = (PAGES_DIR / "react.html").read_text(encoding="utf-8")
    rendered[REACT_ROUTE] = layout.substitute(
        title="Ask about your application",
        loader=f'<script defer src="{REACT_BUNDLE_ROUTE}"></script>',
        stepper="",
        body=body + react_options_script(tandem_url, DEFAULT_INIT if tandem_init is None else tandem_init),
    ).encode("utf-8")
    return rendered


def resolve_static(path: str) -> Path | None:
    """The file under ``static/`` that a ``/static/...`` path names, or ``None`` (also for ``..``)."""
    relative = unquote(path[len("/static/") :])
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    candidate = (STATIC_DIR / relative).resolve()
    if not candidate.is_relative_to(STATIC_DIR) or not candidate.is_file():
        return None
    return candidate


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "AcmeHomeLoans/1.0"
    pages: dict[str, bytes] = {}
    #: A Content-Security-Policy per route, for the pages that set one (the React page).
    policies: dict[str, str] = {}
    quiet = False

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, *, head: bool) -> None:
        path = urlsplit(self.path).path
        if path != "/" and path.endswith("/"):
            path = path.rstrip("/")
        if path in self.pages:
            policy = self.policies.get(path)
            self._send(HTTPStatus.OK, self.pages[path], "text/html; charset=utf-8", head=head, policy=policy)
            return
        if path == REACT_BUNDLE_ROUTE and REACT_BUNDLE.is_file():
            kind = "application/javascript; charset=utf-8"
            self._send(HTTPStatus.OK, REACT_BUNDLE.read_bytes(), kind, head=head, cache="no-store")
            return
        if path == "/favicon.ico":
            # Asked for by browsers and tools whatever the pages' <link rel=icon> says.
            self._send(
                HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain; charset=utf-8", head=head,
                cache="max-age=86400", location="/static/favicon.svg",
            )  # fmt: skip
            return
        if path.startswith("/static/") and (file := resolve_static(path)) is not None:
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
                kind += "; charset=utf-8"
            self._send(HTTPStatus.OK, file.read_bytes(), kind, head=head, cache="max-age=60")
            return
        body = self.pages.get("/404", b"<!doctype html><title>Not found</title><h1>Page not found</h1>")
        self._send(HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8", head=head)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        kind: str,
        *,
        head: bool,
        cache: str = "no-store",
        location: str | None = None,
        policy: str | None = None,
    ) -> None:
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        if policy:
            self.send_header("Content-Security-Policy", policy)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(
    host: str, port: int, tandem_url: str, *, quiet: bool = False, tandem_init: dict | None = None
) -> ThreadingHTTPServer:
    """A ready (bound, not yet serving) server; ``port=0`` picks a free port."""
    if not tandem_url.startswith(("http://", "https://")):
        raise ValueError("--tandem-url must be an http or https URL")
    handler = type(
        "BoundDemoHandler",
        (DemoHandler,),
        {
            "pages": render_pages(tandem_url, tandem_init),
            "policies": {REACT_ROUTE: react_policy(tandem_url)},
            "quiet": quiet,
        },
    )
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo_site", description="Acme Home Loans demo site")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument(
        "--tandem-url", default="http://127.0.0.1:8000", help="where the widget loader is served"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.tandem_url, quiet=args.quiet)
    print(
        f"Acme Home Loans on http://localhost:{server.server_address[1]}/ (widget from {args.tandem_url})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
