"""Import paths used from outside the code (integrations, operations scripts) stay importable when
the code behind them moves."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = [
    ("cobrowse.masking", "Redactor"),
    ("cobrowse.browser.urlguard", "check_url"),
    ("consent.services", "claim_invite"),
    ("consent.services", "grant_consent"),
    ("cobrowse.models", "CoBrowseSession"),
]


@pytest.mark.parametrize(("module", "name"), PUBLIC)
def test_public_import_path_still_works(module: str, name: str) -> None:
    assert callable(getattr(importlib.import_module(module), name))
