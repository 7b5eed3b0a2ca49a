"""Server-rendered help desk: the agent queue and ticket page, and the customer portal.

Views parse input, ask ``accounts.permissions`` who may do what, call ``tickets.services`` for
writes and ``tickets.selectors`` for reads, and render. They work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import names, permissions
from accounts.decorators import staff_only
from accounts.http import AuthenticatedHttpRequest
from accounts.models import User
from tickets import panels, satisfaction, selectors, services
from tickets.forms import (
    AgentReplyForm,
    EscalateForm,
    NewTicketForm,
    PortalReplyForm,
    TicketFilterForm,
    TicketUpdateForm,
)
from tickets.models import (
    Category,
    Channel,
    EscalationLevel,
    EventKind,
    Priority,
    Status,
    Team,
    Ticket,
    TicketEvent,
)
from tickets.pagination import CURSOR_PARAM, Keyset, KeysetPage, bounded_count, link_query

QUEUE_PAGE_SIZE = 25
PORTAL_PAGE_SIZE = 20

# Most recently changed first. ``updated_at`` moves on every edit, so a ticket edited while someone
# pages may jump to the top (missed or seen twice): fine for a work queue, where the change is news.
QUEUE_KEYSET = Keyset("updated_at", "id", salt="tickets.queue")
PORTAL_KEYSET = Keyset("updated_at", "id", salt="tickets.portal")

View = Callable[..., HttpResponse]


# --- access ----------------------------------------------------------------------------------


def portal_only(view: View) -> View:
    """The customer portal. Support staff are sent to the agent pages instead."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if permissions.is_support_staff(request.user):
            number = kwargs.get("number")
            if number is not None and request.method == "GET":
                return redirect("tickets:agent_ticket", number=number)
            return redirect("tickets:queue")
        return view(request, *args, **kwargs)

    return wrapper


# --- activity feed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityLine:
    actor: str
    actor_id: int | None
    text: str
    created_at: datetime
    internal: bool
    kind: str


def _label(choices: type, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def describe_events(events: Iterable[TicketEvent], reader: Any = None) -> list[ActivityLine]:
    """Turn activity rows into sentences: "Priya Sharma changed status from new to open".

    People are named as ``reader`` may see them (accounts/names.py): customers never see a login name.
    """
    events = list(events)
    user_ids = {
        value
        for event in events
        if event.kind == EventKind.ASSIGNMENT
        for value in (event.data.get("from"), event.data.get("to"))
        if isinstance(value, int)
    }
    escalations = [e.data for e in events if e.kind == EventKind.ESCALATION and isinstance(e.data, dict)]
    user_ids |= {d["unassigned"] for d in escalations if isinstance(d.get("unassigned"), int)}
    people = {user.pk: names.name_for(user, reader) for user in User.objects.filter(pk__in=user_ids)}
    team_ids = {d["to_team"] for d in escalations if isinstance(d.get("to_team"), int)}
    teams = {team.pk: team.name for team in Team.objects.filter(pk__in=team_ids)} if team_ids else {}

    def name(pk: Any) -> str:
        return people.get(pk, "a former team member")

    lines = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        before, after = data.get("from"), data.get("to")
        kind = event.kind
        if kind == EventKind.CREATED:
            channel = data.get("channel")
            text = f"opened the ticket via {_label(Channel, channel)}" if channel else "opened the ticket"
        elif kind == EventKind.STATUS:
            text = f"changed status from {_label(Status, before).lower()} to {_label(Status, after).lower()}"
        elif kind == EventKind.PRIORITY:
            text = (
                f"changed priority from {_label(Priority, before).lower()} "
                f"to {_label(Priority, after).lower()}"
            )
        elif kind == EventKind.CATEGORY:
            text = f"changed category from {_label(Category, before)} to {_label(Category, after)}"
        elif kind == EventKind.ASSIGNMENT:
            if after is None:
                text = f"unassigned {name(before)}" if before else "unassigned the ticket"
            elif after == event.actor_id:
                text = "took the ticket"
            elif before:
                text = f"reassigned the ticket from {name(before)} to {name(after)}"
            else:
                text = f"assigned the ticket to {name(after)}"
        elif kind == EventKind.COMMENT:
            text = "replied"
        elif kind == EventKind.NOTE:
            text = "added an internal note"
        elif kind == EventKind.SCREEN_SHARE_REQUESTED:
            text = "asked for a screen share"
        elif kind == EventKind.HELP_REQUESTED:
            text = "asked for help from the page (Get help)"
        elif kind == EventKind.ESCALATION:
            to_team = data.get("to_team")
            team = teams.get(to_team) if isinstance(to_team, int) else None
            levels = (_label(EscalationLevel, before), _label(EscalationLevel, after))
            text = "moved the ticket from {} to {}".format(*levels)
            text += f" ({team})" if team else ""
            if data.get("unassigned"):
                text += f" and unassigned {name(data['unassigned'])}"
        elif kind == EventKind.COBROWSE:
            detail = next((str(data[k]) for k in ("summary", "action", "state", "status") if data.get(k)), "")
            text = f"co-browse: {detail.replace('_', ' ')}" if detail else "co-browse activity"
        else:
            text = event.get_kind_display().lower()
        lines.append(
            ActivityLine(
                actor=names.name_for(event.actor, reader) if event.actor else "Tandem",
                actor_id=event.actor_id,
                text=text,
                created_at=event.created_at,
                internal=event.internal,
                kind=kind,
            )
        )
    return lines


# --- agent -----------------------------------------------------------------------------------


@require_GET
@staff_only
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = "active"  # a fresh visit shows the work still to do
    form = TicketFilterForm(params)
    status = 200
    if form.is_valid():
        tickets = selectors.filter_tickets(request.user, **form.filters())
    else:
        tickets, status = Ticket.objects.none(), 400
    page = QUEUE_KEYSET.page_for_link(tickets, request.GET.get(CURSOR_PARAM), QUEUE_PAGE_SIZE)
    total, more = bounded_count(tickets, page)
    # The list pages in recency order; above its first page, a search shows its best matches.
    best: list[Ticket] = []
    # ``total`` is exact up to 1,000: more matches than that are too many to rank (search.FEW).
    if status == 200 and page.start == 0 and not more and total > 1 and form.cleaned_data.get("q"):
        best = selectors.best_matches(request.user, form.filters())
    keep = params.copy()
    keep.pop("page", None)
    counts = selectors.queue_counts(request.user)
    return render(
        request,
        "tickets/agent/queue.html",
        {
            "form": form,
            "page": page,
            "links": _page_links(keep, page),
            "total": total,
            "total_is_more": more,
            "best": best,
            "counts": counts,
            "nav": "queue",
        },
        status=status,
    )


def _page_links(params: QueryDict, page: KeysetPage[Ticket]) -> dict[str, str | None]:
    """Query strings of the "Newer" and "Older" links, keeping the list's filters."""
    return {
        "previous": link_query(params, page.previous_cursor) if page.previous_cursor else None,
        "next": link_query(params, page.next_cursor) if page.next_cursor else None,
    }


def _render_agent_ticket(
    request: AuthenticatedHttpRequest,
    ticket: Ticket,
    *,
    update_form: TicketUpdateForm | None = None,
    reply_form: AgentReplyForm | None = None,
    escalate_form: EscalateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    context = {
        "ticket": ticket,
        "comments": selectors.visible_comments(user, ticket),
        "activity": describe_events(selectors.visible_events(user, ticket), user),
        "update_form": update_form or TicketUpdateForm(ticket=ticket),
        "reply_form": reply_form or AgentReplyForm(),
        "escalate_form": escalate_form or EscalateForm(ticket=ticket),
        "other_tickets": selectors.ticket_queryset(user)
        .filter(requester=ticket.requester_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:5],
        "nav": "queue",
    }
    return render(request, "tickets/agent/ticket.html", context, status=status)


@require_GET
@staff_only
def agent_ticket(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    return _render_agent_ticket(request, selectors.ticket_or_404(request.user, number))


@require_POST
@staff_only
def agent_ticket_update(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_or_404(request.user, number)
    form = TicketUpdateForm(request.POST, ticket=ticket)
    if form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "Nothing to change.")
            return redirect("tickets:agent_ticket", number=ticket.number)
        try:
            services.update_ticket(ticket, actor=request.user, **changes)
        except services.InvalidTransition as exc:
            form.add_error("status", exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{ticket.reference} updated.")
            return redirect("tickets:agent_ticket", number=ticket.number)
    ticket = selectors.ticket_or_404(request.user, number)  # nothing was saved; show the current state
    return _render_agent_ticket(request, ticket, update_form=form, status=400)


@require_POST
@staff_only
def agent_ticket_escalate(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_or_404(request.user, number)
    form = EscalateForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            escalated = services.escalate(
                ticket,
                actor=request.user,
                level=form.cleaned_data["level"],
                team=form.cleaned_data["team"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            where = escalated.get_escalation_level_display()
            if escalated.team:
                where += f", {escalated.team.name}"
            unassigned = " and is waiting in its queue" if escalated.assignee_id is None else ""
            messages.success(request, f"{ticket.reference} moved to {where}{unassigned}.")
            return redirect("tickets:agent_ticket", number=ticket.number)
    ticket = selectors.ticket_or_404(request.user, number)
    return _render_agent_ticket(request, ticket, escalate_form=form, status=400)


@require_POST
@staff_only
def agent_ticket_comment(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    ticket = selectors.ticket_or_404(request.user, number)
    form = AgentReplyForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(
                ticket, author=request.user, body=form.cleaned_data["body"], internal=form.is_internal
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Internal note added." if form.is_internal else "Reply sent.")
            return redirect(reverse("tickets:agent_ticket", args=[ticket.number]) + "#thread-end")
    return _render_agent_ticket(request, ticket, reply_form=form, status=400)


# --- customer portal -------------------------------------------------------------------------


@require_GET
@portal_only
def portal(request: AuthenticatedHttpRequest) -> HttpResponse:
    tickets = selectors.ticket_queryset(request.user)
    page = PORTAL_KEYSET.page_for_link(tickets, request.GET.get(CURSOR_PARAM), PORTAL_PAGE_SIZE)
    links = _page_links(request.GET, page)
    return render(request, "tickets/portal/list.html", {"page": page, "links": links, "nav": "portal"})


@require_http_methods(["GET", "POST"])
@portal_only
def portal_new_ticket(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = NewTicketForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                ticket = services.create_ticket(
                    requester=request.user,
                    subject=form.cleaned_data["subject"],
                    description=form.cleaned_data["description"],
                    category=form.cleaned_data["category"],
                    channel=Channel.WEB,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Thanks — your request {ticket.reference} is with our team.")
                return redirect("tickets:portal_ticket", number=ticket.number)
        return render(request, "tickets/portal/new.html", {"form": form, "nav": "new"}, status=400)
    return render(request, "tickets/portal/new.html", {"form": form, "nav": "new"})


def _render_portal_ticket(
    request: AuthenticatedHttpRequest,
    ticket: Ticket,
    *,
    reply_form: PortalReplyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    history = [
        line
        for line in describe_events(selectors.visible_events(user, ticket), user)
        if line.kind in (EventKind.CREATED, EventKind.STATUS)
    ]
    context = {
        "ticket": ticket,
        "comments": selectors.visible_comments(user, ticket),
        "history": history,
        "panels": panels.portal_panels(request, ticket),
        "reply_form": reply_form or PortalReplyForm(),
        # Asked by e-mail and not answered yet: the same question where the customer already is.
        "satisfaction_url": satisfaction.open_question(ticket),
        "nav": "portal",
    }
    return render(request, "tickets/portal/ticket.html", context, status=status)


@require_GET
@portal_only
def portal_ticket(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    return _render_portal_ticket(request, selectors.ticket_or_404(request.user, number))


@require_POST
@portal_only
def portal_ticket_reply(request: AuthenticatedHttpRequest, number: str) -> HttpResponse:
    """Customers only ever post public replies: anything else in the request is ignored."""
    ticket = selectors.ticket_or_404(request.user, number)
    form = PortalReplyForm(request.POST)
    if form.is_valid():
        try:
            services.add_comment(ticket, author=request.user, body=form.cleaned_data["body"], internal=False)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Your reply was sent.")
            return redirect(reverse("tickets:portal_ticket", args=[ticket.number]) + "#thread-end")
    return _render_portal_ticket(request, ticket, reply_form=form, status=400)
