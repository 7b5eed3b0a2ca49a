"""The customer's "Your details" form: the portal page and the import command read input through it."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import CustomerProfile, validate_profile_extra
from accounts.profile import format_extra, parse_extra

#: The profile's own fields on the form (the extra items come through ``extra_text``).
PROFILE_FORM_FIELDS = ("address_line1", "address_line2", "city", "postal_code", "phone", "date_of_birth")


class CustomerProfileForm(forms.ModelForm):
    """The profile's fields, with the extra items as ``name: value`` lines (one text box, no script)."""

    extra_text = forms.CharField(
        label="Other details",
        required=False,
        max_length=8000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='One item per line as "name: value", e.g. "known_pin: 560001". Names use lower-case '
        "letters, digits and _.",
    )

    class Meta:
        model = CustomerProfile
        fields = list(PROFILE_FORM_FIELDS)
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        date_field = self.fields["date_of_birth"]
        if isinstance(date_field, forms.DateField):
            date_field.input_formats = ["%Y-%m-%d"]
        date_field.help_text = "As YYYY-MM-DD."
        self.fields["address_line1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["address_line2"].widget.attrs["autocomplete"] = "address-line2"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"
        self.fields["postal_code"].widget.attrs["autocomplete"] = "postal-code"
        self.fields["phone"].widget.attrs["autocomplete"] = "tel"
        if self.instance.pk and not self.is_bound:
            self.initial["extra_text"] = format_extra(self.instance.extra)

    def clean_extra_text(self) -> dict[str, str]:
        try:
            items = parse_extra(self.cleaned_data.get("extra_text") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        validate_profile_extra(items)
        return items

    def profile_values(self) -> dict[str, object]:
        """The cleaned input as ``accounts.services.save_customer_profile`` takes it."""
        values: dict[str, object] = {name: self.cleaned_data[name] for name in PROFILE_FORM_FIELDS}
        values["extra"] = self.cleaned_data["extra_text"]
        return values
