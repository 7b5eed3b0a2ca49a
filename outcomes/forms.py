from __future__ import annotations

from django import forms

from accounts import permissions
from outcomes.models import Outcome
from tickets.models import EscalationLevel, Team


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", choices=Outcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label="Resolution note (internal)",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_step = forms.CharField(label="Next step (follow-up)", required=False, max_length=500)
    owner = forms.ModelChoiceField(
        label="Who owns it (follow-up)", queryset=permissions.support_staff(), required=False, empty_label="—"
    )
    level = forms.ChoiceField(
        label="Escalate to (escalated)",
        choices=[
            ("", "—"),
            (EscalationLevel.L2, EscalationLevel.L2.label),
            (EscalationLevel.L3, EscalationLevel.L3.label),
        ],
        required=False,
    )
    team = forms.ModelChoiceField(
        label="Team (escalated)", queryset=Team.objects.all(), required=False, empty_label="—"
    )
