"""Who reaches what: every URL and WebSocket route by every kind of visitor, against a table of rules.

The routes are read from the URL configuration itself (includes and DRF routers walked) and from
``config/routing.py``; ``authz_rules`` gives each one its concrete URL, its method and the exact
status each actor must get. A route without a rule fails, so does a rule whose route is gone, and
every mismatching cell is reported at once in one table.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import shutil
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token

from tests.config import authz_rules


def _sign(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def build_world() -> SimpleNamespace:
    """One of every object a URL can name, owned by ``customer`` and worked by the L2 agent.

    The L2 agent is the tickets' assignee and the sessions' agent; L1, certified L1 and L3 are other
    agents of the desk; the other customer is a customer of the same account.
    """
    from accounts import services as accounts_services
    from accounts import site_keys
    from cobrowse import services as cobrowse_services
    from consent import help_requests
    from consent import services as consent_services
    from outcomes import survey
    from recordings import services as recording_services
    from tests.consent import helpers
    from tests.factories import make_account, make_ticket, make_user
    from tests.recordings.rec_helpers import build_recording
    from tickets import satisfaction
    from tickets import services as ticket_services

    w = SimpleNamespace()
    w.account = make_account("Acme Home Loans")
    w.customer = make_user("matrix-own", role="customer", account=w.account)
    w.other_customer = make_user("matrix-other", role="customer", account=w.account)
    w.l1 = make_user("matrix-l1", role="agent", agent_level="L1")
    w.l1c = make_user("matrix-l1c", role="agent", agent_level="L1", cobrowse_certified_at=timezone.now())
    w.l2 = make_user("matrix-l2", role="agent", agent_level="L2")
    w.l3 = make_user("matrix-l3", role="agent", agent_level="L3")
    # Promoted as a real manager is: admin access through the Managers group.
    w.mgr = accounts_services.set_role(make_user("matrix-manager", role="agent", agent_level="L3"), "manager")

    # The widget's Get help, waiting in the queue on a ticket of its own (the customer's first).
    issued = site_keys.create_site_key(w.account, "matrix-site")
    ask = help_requests.parse_ask(
        {
            "site": "matrix-site",
            "user": {"id": w.customer.username, "signature": _sign(issued.secret, w.customer.username)},
            "page": {"url": "http://localhost:8001/apply", "title": "Apply"},
            "consent": {"mode": "guided", "recording": False},
        }
    )
    created = help_requests.create(ask, origin="http://localhost:8001")
    w.help_request, w.help_token = created.help_request, created.token

    def ticket(**fields):
        t = make_ticket(w.customer, **fields)
        ticket_services.assign(t, actor=w.mgr, assignee=w.l2)
        return t

    # A consented, recorded session with a team member watching; control and more time are asked.
    w.ticket = ticket()
    w.session, w.tab_grant = helpers.consent(w.ticket, w.l2, mode="guided", recording=True)
    w.team_viewer, w.viewer_grant = helpers.team_grant(w.session, customer=w.customer)
    w.pending_viewer, w.watch_token = helpers.invite_team(
        w.session, name="Sam Roe", email="sam.roe@acme.example", customer=w.customer
    )
    w.control_request = _request_mode(w.session, w.l2, "controlled")
    w.extension = _request_extension(w.session, w.l2)
    w.recording = build_recording(w.session)
    w.highlight = recording_services.create_highlight(
        w.recording, actor=w.mgr, start_ms=0, end_ms=1000, title="Step 3", tags=[]
    )
    first = recording_services.request_access(w.recording, customer=w.customer)
    decision = recording_services.decide_access_request(first.pk, manager=w.mgr, approve=True)
    w.copy_token = decision.link.rstrip("/").rsplit("/", 1)[1]
    w.access_request = recording_services.request_access(w.recording, customer=w.customer)

    # A consented session whose agent asked for full control: waiting for a manager.
    w.ticket_asked = ticket(subject="Asked for full control")
    w.session_asked, _ = helpers.consent(w.ticket_asked, w.l2, mode="controlled")
    w.full_request = _request_mode(w.session_asked, w.l2, "full")

    # An assigned ticket with no session yet.
    w.ticket_free = ticket(subject="No session yet")

    # An invited session: its join link is unused, and it went in-app to the portal.
    w.ticket_invited = ticket(subject="Invited")
    w.session_invited, w.join_token = helpers.start(w.ticket_invited, w.l2, channel="in_app")

    # A server-side browser session.
    w.ticket_browser = ticket(subject="Browser")
    w.browser_session, raw = helpers.start(
        w.ticket_browser, w.l2, kind="browser", target_url="http://localhost:8001/apply"
    )
    consented = consent_services.grant_consent(consent_services.open_invite(raw), mode="guided")
    w.browser_grant = helpers.confirm_on_device(w.browser_session, consented.grant).grant

    # An API token (a credential: no manager sees it in the admin).
    Token.objects.create(user=w.l2)

    # A resolved ticket whose session ended: the signed survey links of both are open.
    w.ticket_done = ticket(subject="Resolved")
    w.session_done, _ = helpers.consent(w.ticket_done, w.l2, mode="guided")
    cobrowse_services.mark_active(w.session_done)  # the customer's page connected
    cobrowse_services.end_session(w.session_done, actor=w.l2)
    ticket_services.change_status(w.ticket_done, actor=w.l2, status="resolved")
    w.satisfaction_token = satisfaction.token(w.ticket_done)
    w.survey_token = survey.survey_token(w.session_done)

    return w


def _request_mode(session, actor, mode):
    from cobrowse import services

    return services.request_mode(session, actor=actor, mode=mode)


def _request_extension(session, actor):
    from cobrowse import services

    return services.request_extension(session, actor=actor)


# --- the routes, read from the configuration ------------------------------------------------------


def http_routes() -> dict[str, str]:
    """Every HTTP pattern outside the admin, keyed as the rules are: ``namespace:name`` or route."""
    from django.urls import URLResolver, get_resolver

    found: dict[str, str] = {}

    def walk(resolver, prefix: str, namespace: str | None) -> None:
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern, route, inner)
            else:
                name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
                key = name or route
                assert key not in found, f"two patterns answer to {key!r}: {found[key]!r} and {route!r}"
                found[key] = route

    walk(get_resolver(), "", None)
    return found


def admin_routes() -> list[tuple[str, str | None]]:
    """The admin's patterns: (route, url name)."""
    from django.contrib import admin
    from django.urls import URLResolver

    found: list[tuple[str, str | None]] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                found.append((prefix + str(pattern.pattern), pattern.name))

    walk(admin.site.get_urls(), "admin/")
    return found


def admin_requests() -> tuple[list[tuple[str, authz_rules.Rule]], list[str]]:
    """A request for every admin pattern (one per model for a model's pattern), and the patterns no
    rule covers."""
    from django.apps import apps
    from django.contrib import admin

    requests, uncovered = [], []
    models = {f"admin/{m._meta.app_label}/{m._meta.model_name}/": m for m in admin.site._registry}
    for route, _name in admin_routes():
        rules = authz_rules.admin_site_rules(route)
        if rules is None:
            prefix = next((p for p in models if route.startswith(p)), None)
            model = models.get(prefix) if prefix else None
            rule = None
            if model is not None:
                label = f"{model._meta.app_label}.{model._meta.model_name}"
                # The token admin finds a token by its user's id, not by the key.
                field = "user_id" if label == "authtoken.tokenproxy" else "pk"
                rows = apps.get_model(label)._default_manager.order_by(field)
                pk = rows.values_list(field, flat=True).first()
                rule = authz_rules.admin_model_rule(route, label, pk)
            rules = [rule] if rule else None
        if rules is None:
            uncovered.append(route)
        else:
            requests += [(route, rule) for rule in rules]
    return requests, uncovered


def websocket_routes() -> list[str]:
    from config.routing import websocket_urlpatterns

    return [str(pattern.pattern) for pattern in websocket_urlpatterns]


def _coverage_problems(routes, rules) -> list[str]:
    problems = [f"no rule for {key!r} ({route})" for key, route in routes.items() if key not in rules]
    problems += [f"a rule for {key!r}, which no route has" for key in rules if key not in routes]
    return problems


def test_every_route_has_a_rule_and_every_rule_a_route():
    routes = {key: route for key, route in http_routes().items() if not route.startswith("admin/")}
    problems = _coverage_problems(routes, authz_rules.HTTP_RULES)
    problems += _coverage_problems({r: r for r in websocket_routes()}, authz_rules.WEBSOCKET_RULES)
    assert not problems, "Every URL needs a rule in tests/config/authz_rules.py:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_every_admin_page_has_a_rule(world):
    _requests, uncovered = admin_requests()
    assert not uncovered, "Admin pages without a rule in tests/config/authz_rules.py:\n" + "\n".join(
        uncovered
    )


# --- the world, once per module -------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once in a transaction that is rolled back after the module; each cell runs in a
    savepoint of its own, so no request sees what another changed."""
    from django.test.utils import override_settings

    from recordings.keys import generate_entry

    media = tmp_path_factory.mktemp("matrix") / "media"
    overrides = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        RECORDING_KEYS=[generate_entry("matrix")],
        MEDIA_ROOT=str(media),
    )
    overrides.enable()
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            w = build_world()
            w.media, w.pristine_media = media, media.with_name("pristine")
            shutil.copytree(media, w.pristine_media)
            w.clients = _clients(w)
            # After signing in: the token covers the last sign-in.
            w.customer.refresh_from_db()
            w.reset_uid = urlsafe_base64_encode(force_bytes(w.customer.pk))
            w.reset_token = default_token_generator.make_token(w.customer)
            yield w
            transaction.set_rollback(True)
    finally:
        overrides.disable()


def _clients(w) -> dict[str, str]:
    """One browser per actor: its session cookie, reused for every cell."""
    from consent.views import BOUND_KEY, WATCH_JOINED_KEY

    clients = {}
    for actor in authz_rules.ACTORS:
        client = Client(raise_request_exception=False)
        user = ACTOR_USERS.get(actor)
        if user:
            client.force_login(getattr(w, user))
        clients[actor] = client
    bound = clients["tab"].session
    bound[BOUND_KEY] = [w.session.pk, w.session_asked.pk]
    bound.save()
    joined = clients["team"].session
    joined[WATCH_JOINED_KEY] = [w.session.pk]
    joined.save()
    cookies = {actor: client.cookies.get(settings.SESSION_COOKIE_NAME) for actor, client in clients.items()}
    return {actor: cookie.value for actor, cookie in cookies.items() if cookie}


def _browser(w, actor: str) -> Client:
    """The actor's browser, afresh: a cell that signs out or drops the cookie spoils no other."""
    client = Client(raise_request_exception=False)
    if actor in w.clients:
        client.cookies[settings.SESSION_COOKIE_NAME] = w.clients[actor]
    return client


ACTOR_USERS = {
    "own": "customer",
    "other": "other_customer",
    "l1": "l1",
    "l1c": "l1c",
    "l2": "l2",
    "l3": "l3",
    "mgr": "mgr",
}
ACTOR_GRANTS = {"team": "viewer_grant", "tab": "tab_grant"}


def _flush_redis() -> None:
    """Rate limits and relay bookkeeping from one cell never decide another."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    client.close()


@contextlib.contextmanager
def _isolated(w, *, writes: bool):
    """A savepoint rolled back after the cell; a cell that may write also gets the recordings'
    files back (a deleted recording's chunks leave the disk, which no rollback restores)."""
    _flush_redis()
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
    if writes:
        shutil.rmtree(w.media)
        shutil.copytree(w.pristine_media, w.media)


# --- HTTP -------------------------------------------------------------------------------------------


def _answer(response) -> object:
    """The status, and for a redirect where to (the path, without the query)."""
    if response.status_code in (301, 302, 303):
        return f"{response.status_code} → {urlsplit(response['Location']).path}"
    return response.status_code


def _matches(expected: object, got: object) -> bool:
    """An int is a status (any redirect target); ``"302 → /path/"`` a redirect there, and
    ``"302 → /path/…"`` a redirect anywhere under it."""
    if isinstance(expected, int) and isinstance(got, str):
        return got.startswith(f"{expected} → ")
    if isinstance(expected, str) and expected.endswith("…") and isinstance(got, str):
        return got.startswith(expected[:-1])
    return expected == got


def _http_cell(w, client: Client, actor: str, rule: authz_rules.Rule) -> object:
    path = rule.path.format(**vars(w))
    extra = dict(rule.headers)
    if rule.grant and actor in ACTOR_GRANTS:
        extra["HTTP_X_TANDEM_GRANT"] = getattr(w, ACTOR_GRANTS[actor])
    data = {k: v.format(**vars(w)) if isinstance(v, str) else v for k, v in (rule.data or {}).items()}
    send = getattr(client, rule.method.lower())
    if rule.json:
        response = send(path, data=json.dumps(data), content_type="application/json", **extra)
    elif rule.method == "GET":
        response = send(path, **extra)
    else:
        response = send(path, data=data, **extra)
    return _answer(response)


def _table(rows: list[tuple[str, str, str, object, object]]) -> str:
    header = ("route", "request", "actor", "expected", "got")
    lines = [header, *[(a, b, c, str(d), str(e)) for a, b, c, d, e in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines
    )


@pytest.mark.slow  # ~1,900 requests, about a minute: `make test-slow` (every route's rule is checked above)
@pytest.mark.django_db
def test_http_matrix(world):
    mismatches = []
    for key, rule in [*authz_rules.http_requests(), *admin_requests()[0]]:
        for actor in rule.sample:
            with _isolated(world, writes=rule.method != "GET"):
                got = _http_cell(world, _browser(world, actor), actor, rule)
            expected = rule.expect[actor]
            if not _matches(expected, got):
                mismatches.append((key, f"{rule.method} {rule.path}", actor, expected, got))
    assert not mismatches, f"{len(mismatches)} cells differ from the rules:\n" + _table(mismatches)


# --- WebSockets ---------------------------------------------------------------------------------------

UNKNOWN_GRANT = "u" * 43


def _communicator(path: str, headers: list[tuple[bytes, bytes]]):
    """A test socket whose application runs in this context (asgiref starts it in an empty one):
    its database calls then run on the test's thread, in the cell's savepoint, instead of on a
    connection of their own that would not see the world."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    class Communicator(WebsocketCommunicator):
        @property
        def future(self):
            if self._future is None:
                self._future = asyncio.ensure_future(
                    self.application(self.scope, self.input_queue.get, self.output_queue.put)
                )
            return self._future

    return Communicator(application, path, headers=headers)


async def _socket_cell(w, actor: str, rule: authz_rules.SocketRule) -> object:
    """Open the socket as ``actor``: ``("reject", code)`` if refused before the handshake,
    ``("close", code)`` if closed after it (before or after hello), ``OPEN`` if admitted."""
    headers = [(b"origin", rule.origin.encode())]
    if actor in w.clients:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={w.clients[actor]}".encode()))
    comm = _communicator(rule.path.format(**vars(w)), headers)
    connected, code = await comm.connect(timeout=5)
    if not connected:
        return ("reject", code)
    try:
        if rule.hello:
            grant = getattr(w, ACTOR_GRANTS[actor]) if actor in ACTOR_GRANTS else UNKNOWN_GRANT
            hello = {
                "grant": grant,
                "page_id": "p1",
                "last_acked_seq": -1,
                "url": "http://localhost:8001/apply",
                "title": "Apply",
            }
            await comm.send_json_to({"type": "hello", "seq": 0, "ts": 1_700_000_000_000, "data": hello})
        error = None
        while True:
            # A socket that admits says so in a frame (no timing involved); one that stays silent
            # when admitted is given a moment to refuse instead.
            if await comm.receive_nothing(timeout=0.5 if rule.admitted is None else 5):
                return authz_rules.OPEN if rule.admitted is None else ("waiting", error)
            message = await comm.receive_output()
            if message["type"] == "websocket.close":
                return ("close", message.get("code"))
            frame = json.loads(message.get("text") or "{}")
            if frame.get("type") == rule.admitted:
                return authz_rules.OPEN
            if frame.get("type") == "error" and error is None:
                error = frame.get("data", {}).get("code")
    finally:
        await comm.disconnect()


@pytest.mark.django_db
def test_websocket_matrix(world, monkeypatch):
    from asgiref.sync import async_to_sync

    # Channels closes "old" connections before each database call, which inside the test's
    # transaction means closing the only one; Django's test client skips the same for requests.
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)

    mismatches = []
    for route, rule in authz_rules.WEBSOCKET_RULES.items():
        for actor in authz_rules.ACTORS:
            with _isolated(world, writes=False):
                got = async_to_sync(_socket_cell)(world, actor, rule)
            if got != rule.expect[actor]:
                mismatches.append((route, rule.path, actor, rule.expect[actor], got))
    assert not mismatches, f"{len(mismatches)} socket cells differ from the rules:\n" + _table(mismatches)
