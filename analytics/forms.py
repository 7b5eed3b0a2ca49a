from __future__ import annotations

from django import forms
from django.utils import timezone


class CertifyForm(forms.Form):
    certified_on = forms.DateField(
        label="Certified on", widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    notes = forms.CharField(
        label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(label="Why", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
