"""Forms of the agent queue, the agent ticket page and the customer portal."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from accounts import permissions
from accounts.models import User
from tickets.models import STATUS_TRANSITIONS, Category, EscalationLevel, Priority, Status, Team, Ticket

ACTIVE = "active"
STATUS_FILTER_CHOICES = [("", "Any status"), (ACTIVE, "Active (not resolved)"), *Status.choices]


class FlagInput(forms.CheckboxInput):
    """A checkbox whose submitted text reaches the field as is, so that ``mine=perhaps`` is an error
    rather than "checked" (Django's checkbox treats any text but "false" as ticked)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class FlagField(forms.Field):
    """A yes/no filter. The page's checkbox sends "on"; API clients send true/false, 1/0, yes/no."""

    widget = FlagInput
    TRUE = frozenset({"true", "1", "yes", "on"})
    FALSE = frozenset({"false", "0", "no", "off", ""})
    default_error_messages = {"invalid": "Must be true or false."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return bool(value)
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def prepare_value(self, value: Any) -> bool:
        try:
            return self.to_python(value)
        except forms.ValidationError:
            return False


class TicketFilterForm(forms.Form):
    """The one definition of the ticket list filters: the agent queue's GET form and the query
    parameters of ``GET /api/tickets/`` (``tickets.api``), so both accept and refuse the same values
    and give the same tickets. Field names match ``tickets.selectors.filter_tickets``, except the
    search text: ``q`` on the page, ``search`` on the API (``search_param``); both names predate
    this form and are in links and clients.

    The queue shows active tickets when no status is given (a page's choice, made by the view);
    the API lists every status unless asked.
    """

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        help_text="Subject, description or number (`1042` / `T-1042`); staff also match the requester.",
    )
    status = forms.ChoiceField(
        label="Status",
        choices=STATUS_FILTER_CHOICES,
        required=False,
        help_text="A status, or `active` for anything not resolved or closed.",
    )
    priority = forms.ChoiceField(
        label="Priority", choices=[("", "Any priority"), *Priority.choices], required=False
    )
    category = forms.ChoiceField(
        label="Category", choices=[("", "Any category"), *Category.choices], required=False
    )
    level = forms.ChoiceField(
        label="Level",
        choices=[("", "Any level"), *EscalationLevel.choices],
        required=False,
        help_text="Escalation level.",
    )
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.all(),
        required=False,
        empty_label="Any team",
        help_text="A team's id.",
    )
    mine = FlagField(label="Assigned to me", help_text="Only tickets assigned to the caller.")
    unassigned = FlagField(label="Unassigned", help_text="Only tickets without an assignee.")

    def __init__(self, *args: Any, search_param: str = "q", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.search_param = search_param
        if search_param != "q":
            self.fields = {(search_param if name == "q" else name): f for name, f in self.fields.items()}
        self.fields[search_param].widget.attrs.update(
            {"placeholder": "T-1001, subject, requester…", "type": "search", "autocomplete": "off"}
        )

    def filters(self) -> dict[str, Any]:
        """The cleaned filters as keyword arguments of ``selectors.filter_tickets``."""
        data = self.cleaned_data
        return {
            "search": data[self.search_param] or None,
            "status": data["status"] or None,
            "priority": data["priority"] or None,
            "category": data["category"] or None,
            "level": data["level"] or None,
            "team": data["team"].pk if data["team"] else None,
            "mine": data["mine"],
            "unassigned": data["unassigned"],
        }


class AssigneeField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        level = f" ({obj.agent_level})" if obj.agent_level else ""
        role = " (manager)" if obj.is_manager else ""
        return f"{obj.display_name}{level}{role}"


class TicketUpdateForm(forms.Form):
    """Status, priority, category and assignee of one ticket, applied by ``services.update_ticket``.

    The status field accepts every status so that an illegal change reaches the workflow and is
    reported with its reason; the drop-down only offers the changes the workflow allows.
    """

    status = forms.ChoiceField(label="Status", choices=Status.choices)
    priority = forms.ChoiceField(label="Priority", choices=Priority.choices)
    category = forms.ChoiceField(label="Category", choices=Category.choices)
    assignee = AssigneeField(
        label="Assignee", queryset=permissions.support_staff(), required=False, empty_label="Unassigned"
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "status": ticket.status,
                "priority": ticket.priority,
                "category": ticket.category,
                "assignee": ticket.assignee_id,
            },
        )
        super().__init__(*args, **kwargs)
        self.ticket = ticket
        allowed = {ticket.status, *STATUS_TRANSITIONS[ticket.status]}
        self.fields["status"].widget.choices = [c for c in Status.choices if c[0] in allowed]
        # The current assignee stays selectable even if no longer active, so that saving other
        # fields does not silently unassign the ticket.
        staff = permissions.support_staff()
        if ticket.assignee_id is not None:
            staff |= User.objects.filter(pk=ticket.assignee_id)
        assignee = cast(AssigneeField, self.fields["assignee"])  # the copy of the field declared above
        assignee.queryset = staff.order_by("first_name", "username")

    def changes(self) -> dict[str, Any]:
        """Only the values that differ from the ticket, as keyword arguments of ``update_ticket``."""
        data, ticket, changes = self.cleaned_data, self.ticket, {}
        for field in ("status", "priority", "category"):
            if data[field] != getattr(ticket, field):
                changes[field] = data[field]
        assignee = data["assignee"]
        if (assignee.pk if assignee else None) != ticket.assignee_id:
            changes["assignee"] = assignee
        return changes


class EscalateForm(forms.Form):
    """Move a ticket to another level's queue and team (``services.escalate``)."""

    level = forms.ChoiceField(label="Level", choices=EscalationLevel.choices)
    team = forms.ModelChoiceField(
        label="Team", queryset=Team.objects.all(), required=False, empty_label="No team"
    )
    reason = forms.CharField(
        label="Why (internal note)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"level": ticket.escalation_level, "team": ticket.team_id})
        super().__init__(*args, **kwargs)


class AgentReplyForm(forms.Form):
    PUBLIC, INTERNAL = "public", "internal"

    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)
    visibility = forms.ChoiceField(
        label="Send as",
        choices=[(PUBLIC, "Public reply"), (INTERNAL, "Internal note")],
        widget=forms.RadioSelect,
        initial=PUBLIC,
    )

    @property
    def is_internal(self) -> bool:
        return self.cleaned_data["visibility"] == self.INTERNAL


class PortalReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 5}), max_length=20000)


class NewTicketForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=200)
    category = forms.ChoiceField(label="What is it about?", choices=Category.choices, initial=Category.OTHER)
    description = forms.CharField(
        label="Describe the problem",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
        help_text="What were you trying to do, what happened, and any error message you saw.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subject"].widget.attrs["placeholder"] = "e.g. The application form stops at step 3"
