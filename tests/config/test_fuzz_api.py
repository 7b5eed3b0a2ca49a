"""The REST API fuzzed from its own OpenAPI schema (``/api/schema/``) with Schemathesis.

Every operation of the served schema is called through the WSGI application as a signed-in agent
(L2) and as a customer (API token; the customer also sends the tab grant of their live session in
``X-Tandem-Grant``). Every other call uses the objects of the caller's world (the ticket's number,
the live session's id, a Full Control request's id) instead of the generated path parameters, so
the operations reach their objects and not only their 404s.

Checks: no 5xx, every status code documented, the documented content type, bodies that match the
documented schema. The run is bounded and repeatable: Schemathesis's coverage phase is off
(it sends every boundary case of every parameter: about 20 times the calls), each operation gets
``MAX_EXAMPLES`` = 8 generated cases per role: 43 operations, about 690 calls in all, 25 to 50 s
on this shared machine. Derandomized, with no example database and no deadline.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks as core_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as openapi_checks

from cobrowse.models import ModeRequest
from tests.consent.helpers import consent
from tests.factories import make_account, make_ticket, make_user

MAX_EXAMPLES = 8
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application(), config=CONFIG)

CHECKS = [
    core_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def same_connection(db):
    """Keep the test's transaction: a WSGI request closes old connections as it starts and ends
    (Django's test client turns that off the same way)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(same_connection):
    """A customer's ticket with a live controlled session waiting for a Full Control decision."""
    from cobrowse import services as session_services

    account = make_account("Acme Home Loans")
    customer = make_user("fuzz-customer", role="customer", account=account)
    agent = make_user("fuzz-agent", role="agent", agent_level="L2")
    ticket = make_ticket(customer)
    session, grant = consent(ticket, agent, mode="controlled")
    session_services.request_mode(session.pk, actor=agent, mode="full")
    return {
        "agent": {"Authorization": f"Token {Token.objects.create(user=agent).key}"},
        "customer": {
            "Authorization": f"Token {Token.objects.create(user=customer).key}",
            "X-Tandem-Grant": grant,
        },
        "ids": {
            "/api/tickets/{number}": ticket.number,
            "/api/cobrowse/sessions/{id}": session.pk,
            "/api/browser-sessions/{id}": session.pk,
            "/api/cobrowse/mode-requests/{id}": ModeRequest.objects.get(session=session).pk,
        },
        "turn": itertools.count(),
    }


def _call(case, world: dict, role: str) -> None:
    if next(world["turn"]) % 2:
        for prefix, value in world["ids"].items():
            if case.path.startswith(prefix):
                case.path_parameters = {**(case.path_parameters or {}), prefix.rsplit("{", 1)[1][:-1]: value}
    case.call_and_validate(headers=world[role], checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_api_as_agent(case, world):
    _call(case, world, "agent")


@schema.parametrize()
@FUZZ
def test_api_as_customer(case, world):
    _call(case, world, "customer")
