"""Industry masking presets: the fields an industry's pages hold that no pattern can recognise.

A medical record number, an insurance member number or an account number is just digits; a date of
birth is just a date. Which of them a form holds is said by its field names and labels, so a preset
is a list of selectors in the subset both the widget (CSS) and the server (:mod:`masking.selector`)
understand, matched without regard to case. A customer account chooses its presets
(``CustomerAccount.masking_presets``); their selectors extend the account's own.

Text on the page is covered for every account by the labelled-identifier rule of
:mod:`masking.patterns` ("MRN: 00123456", "Account no. 1234 5678").
"""

from __future__ import annotations

from collections.abc import Iterable


def _fields(*words: str) -> tuple[str, ...]:
    """Elements whose name, id, autocomplete, aria-label or placeholder holds one of the words.

    Substrings, so few words cover many spellings ("medical" for medical_record and medicalRecordNo);
    every selector costs the widget a little on each node, so the lists stay short.
    """
    attrs = ("name", "id", "autocomplete", "aria-label", "placeholder")
    return tuple(f'[{attr}*="{word}" i]' for word in words for attr in attrs)


PRESETS: dict[str, tuple[str, ...]] = {
    # Medical record and insurance member numbers, dates of birth.
    "healthcare": (
        *_fields(
            "mrn", "medical", "patient_id", "patient-id", "patientid", "member", "subscriber",
            "insurance", "policy", "dob", "birth", "bday",
        ),
        '[autocomplete^="bday"]',
    ),
    # Bank account, routing and sort-code numbers, tax ids.
    "finance": _fields(
        "account_n", "account-n", "accountn", "account n", "acct", "routing", "sort_code",
        "sort-code", "sortcode", "iban", "bsb", "tax_id", "tax-id", "taxid", "ssn",
    ),
}  # fmt: skip


def preset_selectors(names: Iterable[str]) -> tuple[str, ...]:
    """The selectors of the named presets, in order; an unknown name raises ``ValueError``."""
    selectors: list[str] = []
    for name in names:
        if name not in PRESETS:
            raise ValueError(f"unknown masking preset {name!r}: choose from {', '.join(sorted(PRESETS))}")
        selectors.extend(PRESETS[name])
    return tuple(selectors)
