"""tickets.panels: apps above tickets add panels to the portal ticket page without tickets importing them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from tests.factories import make_ticket
from tickets import panels


@pytest.fixture
def registry(monkeypatch):
    """A registry of this test's own: the installed apps' providers are left as they were."""
    providers: list = []
    monkeypatch.setattr(panels, "_portal_panels", providers)
    return providers


def _page(user, ticket) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/portal/tickets/{ticket.number}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_each_registered_panel_shows_once_in_order_and_an_empty_one_shows_nothing(registry, customer):
    ticket = make_ticket(customer)
    seen = []

    def first(request, for_ticket):
        seen.append((request.user.pk, for_ticket.pk))
        return format_html('<p data-testid="panel-one">{}</p>', for_ticket.reference)

    def second(request, for_ticket):
        return mark_safe('<p data-testid="panel-two">two</p>')

    def nothing(request, for_ticket):
        return ""

    for provider in (first, second, first, nothing):
        panels.register_portal_panel(provider)
    assert registry == [first, second, nothing]
    page = _page(customer, ticket)
    assert page.count('data-testid="panel-one"') == 1
    assert page.index('data-testid="panel-one"') < page.index('data-testid="panel-two"')
    assert f'<p data-testid="panel-one">{ticket.reference}</p>' in page  # rendered as HTML, not escaped
    assert seen == [(customer.pk, ticket.pk)]


def test_consent_registers_the_invitations_panel():
    from consent.portal import invitations_panel

    assert invitations_panel in panels._portal_panels
