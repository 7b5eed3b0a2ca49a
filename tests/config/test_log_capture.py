"""Every log record of a whole session, at DEBUG, holds none of the customer's secrets.

A customer consents through the link, confirms on the page and shares a page on which they type a
password, a card number, a one-time code, an Aadhaar number, an SSN and a field marked
``data-sensitive``; the error paths run too (a malformed frame, a refused action, bad grants and
tokens, a used link, an exception in a view). Every record of every logger is captured as the
project's log handlers receive it (their filters applied, as in production), and none may hold a
secret, the raw join token, a grant or the customer's e-mail address in its message, arguments,
traceback, stack or extra attributes. Everything runs in this process (HTTP through Django's test
client, sockets through Channels' communicator), so one handler sees it all.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path

from cobrowse.models import CoBrowseSession, SessionState
from config.asgi import application
from tests.consent.helpers import start
from tests.factories import make_account, make_ticket, make_user
from tests.live.test_consumers import _agent, _full_snapshot_with_secrets, _input_event, _msg, _receive_type

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://localhost:8001"
EMAIL = "dana.secretary@acme-loans.example"
SECRETS = {
    "password": "hunter2-Secret!",
    "card": "4111 1111 1111 1111",
    "otp": "493817",
    "aadhaar": "2345 6789 0123",
    "ssn": "123-45-6789",
    "sensitive": "Mothers-Maiden-Qwerty",
}
#: The attributes every LogRecord has; anything else on a record came in as ``extra``.
STANDARD = set(vars(logging.LogRecord("n", 0, "p", 0, "m", None, None))) | {"message", "asctime"}


def broken(request: HttpRequest) -> HttpResponse:
    """A view that fails on what it was sent (an unparsable card number, as a careless one would)."""
    int(request.POST.get("card", ""))
    return HttpResponse("unreachable")


urlpatterns = [path("test-log/broken/", broken), path("", include("config.urls"))]


class Capture(logging.Handler):
    """Keeps each record after the project's console filters ran on it (what would be written)."""

    def __init__(self, filters: list) -> None:
        super().__init__(level=logging.DEBUG)
        for f in filters:
            self.addFilter(f)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.texts.append(logging.Formatter("%(levelname)s %(name)s %(message)s").format(record))


@pytest.fixture
def captured():
    """A capturing handler on the root logger and every logger that does not propagate, with every
    logger at DEBUG, for the length of the test."""
    root = logging.getLogger()
    console = next(h for h in root.handlers if not type(h).__module__.startswith("_pytest"))
    capture = Capture(console.filters)
    loggers = [root] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    hooked = [root] + [logger for logger in loggers[1:] if not logger.propagate]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    for logger in hooked:
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger in hooked:
            logger.removeHandler(capture)
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled


def _record_text(record: logging.LogRecord, written: str) -> str:
    """Everything a record carries that a handler or formatter could write."""
    parts = [written, str(record.msg), repr(record.args), record.exc_text or "", record.stack_info or ""]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    for key, value in vars(record).items():
        if key not in STANDARD:
            try:
                parts.append(f"{key}={value!r}")
            except Exception:  # an unprintable extra cannot leak when printed either
                continue
    return "\n".join(parts)


def _http_part(raw_token: str) -> dict:
    """The customer's side over HTTP, with its error paths; returns the grants it got."""
    customer_browser = Client()
    assert customer_browser.get(f"/j/{raw_token}/").status_code == 200
    decided = customer_browser.post(f"/j/{raw_token}/", {"decision": "controlled"})
    assert decided.status_code == 302
    link_grant = urlsplit(decided["Location"]).fragment.removeprefix("tandem=")
    api = Client(HTTP_ORIGIN=ORIGIN)
    confirm = api.post(
        "/api/cobrowse/grants/confirm/",
        {"allow": True},
        content_type="application/json",
        HTTP_X_TANDEM_GRANT=link_grant,
    )
    assert confirm.status_code == 200, confirm.content
    tab_grant = confirm.json()["grant"]
    refreshed = api.post("/api/cobrowse/grants/refresh/", HTTP_X_TANDEM_GRANT=tab_grant)
    assert refreshed.status_code == 200
    # Error paths: a used link, an unknown one, a bad grant, a link grant where a tab grant is due.
    assert Client().get(f"/j/{raw_token}/").status_code == 410
    assert Client().get(f"/j/{raw_token[::-1]}/").status_code == 404
    assert api.post("/api/cobrowse/grants/refresh/", HTTP_X_TANDEM_GRANT="not-a-grant").status_code == 401
    assert api.post("/api/cobrowse/grants/refresh/", HTTP_X_TANDEM_GRANT=link_grant).status_code == 401
    # An exception in a view, on a request full of secrets.
    failing = Client(raise_request_exception=False)
    response = failing.post(
        f"/test-log/broken/?grant={tab_grant}",
        {"card": SECRETS["card"], "password": SECRETS["password"], "email": EMAIL},
        HTTP_X_TANDEM_GRANT=tab_grant,
    )
    assert response.status_code == 500
    return {"link": link_grant, "tab": tab_grant}


def _page_events() -> list[dict]:
    snapshot = _full_snapshot_with_secrets()
    body = snapshot["data"]["node"]["childNodes"][0]["childNodes"][0]
    body["childNodes"].append(
        {
            "type": 2,
            "id": 40,
            "tagName": "input",
            "attributes": {"type": "text", "data-sensitive": "", "value": SECRETS["sensitive"]},
            "childNodes": [],
        }
    )
    return [
        {
            "type": 4,
            "timestamp": 0,
            "data": {"href": f"{ORIGIN}/apply?email={EMAIL}", "width": 1280, "height": 720},
        },
        snapshot,
        _input_event(30, SECRETS["password"]),
        _input_event(31, SECRETS["otp"]),
        _input_event(10, SECRETS["card"]),
        _input_event(13, SECRETS["aadhaar"]),
        _input_event(40, SECRETS["sensitive"]),
        _input_event(7, EMAIL),
    ]


@pytest.mark.urls(__name__)
async def test_a_whole_session_logs_no_secret(captured):
    account = await database_sync_to_async(make_account)("Acme Home Loans")
    customer = await database_sync_to_async(make_user)("dana", role="customer", account=account, email=EMAIL)
    agent = await database_sync_to_async(make_user)(
        "priya", role="agent", agent_level="L2", first_name="Priya"
    )
    ticket = await database_sync_to_async(make_ticket)(customer)
    session, raw_token = await database_sync_to_async(start)(ticket, agent, target_url=f"{ORIGIN}/apply")
    grants = await database_sync_to_async(_http_part)(raw_token)

    # A hello with a wrong grant is refused; then the page shares with its tab grant.
    headers = [(b"origin", ORIGIN.encode())]
    refused = WebsocketCommunicator(application, f"/ws/cobrowse/{session.pk}/customer/", headers=headers)
    assert (await refused.connect())[0]
    hello = {"page_id": "p1", "last_acked_seq": -1, "url": f"{ORIGIN}/apply?email={EMAIL}", "title": "Apply"}
    await refused.send_json_to(_msg("hello", {**hello, "grant": grants["link"]}, 0))
    assert (await _receive_type(refused, "error"))["data"]["code"] == "refused"
    await refused.disconnect()
    page = WebsocketCommunicator(application, f"/ws/cobrowse/{session.pk}/customer/", headers=headers)
    assert (await page.connect())[0]
    await page.send_json_to(_msg("hello", {**hello, "grant": grants["tab"]}, 0))
    await _receive_type(page, "welcome")
    console = await _agent(session.pk, agent)
    await _receive_type(console, "welcome")

    await page.send_json_to(_msg("rrweb", {"events": _page_events(), "page_id": "p1"}, 1))
    await _receive_type(console, "rrweb")
    detail = f"{SECRETS['card']} rejected for {EMAIL}"
    await page.send_json_to(
        _msg("signal", {"kind": "validation_error", "field": "card", "detail": detail}, 2)
    )
    await _receive_type(console, "signal")
    # Malformed frames: not JSON, a wrong shape carrying secrets, an unknown type.
    await page.send_to(text_data="{not json " + SECRETS["password"])
    await _receive_type(page, "error")
    await page.send_json_to(_msg("rrweb", {"events": SECRETS["card"], "page_id": "p1"}, 3))
    await _receive_type(page, "error")
    await page.send_json_to(_msg("nonsense", {"otp": SECRETS["otp"]}, 3))
    await _receive_type(page, "error")
    # A refused action: typing into the password field is never allowed.
    await console.send_json_to(
        _msg("action", {"kind": "type", "page_id": "p1", "node_id": 30, "value": "x"}, 1)
    )
    assert (await _receive_type(console, "error"))["data"]["code"] == "not_allowed"
    # The customer stops sharing.
    await page.send_json_to(_msg("stop", {"reason": "customer"}, 3))
    await _receive_type(page, "ended")
    await page.disconnect()
    await console.disconnect()
    state = await database_sync_to_async(lambda: CoBrowseSession.objects.get(pk=session.pk).state)()
    assert state == SessionState.REVOKED

    forbidden = {
        **SECRETS,
        "card (no spaces)": SECRETS["card"].replace(" ", ""),
        "aadhaar (no spaces)": SECRETS["aadhaar"].replace(" ", ""),
        "join token": raw_token,
        "link grant": grants["link"],
        "tab grant": grants["tab"],
        "e-mail": EMAIL,
    }
    assert len(captured.records) > 10, captured.texts  # the capture saw the session
    leaks = [
        f"{name} in {record.name}: {written[:200]}"
        for record, written in zip(captured.records, captured.texts, strict=True)
        for name, secret in forbidden.items()
        if secret in _record_text(record, written)
    ]
    assert not leaks, json.dumps(leaks, indent=1)
