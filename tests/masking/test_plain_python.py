"""The masking rules are plain Python: any layer may use them, so they import only the standard library."""

from __future__ import annotations

import sys

from tests.test_layers import ROOT, _imports

PACKAGE = ROOT / "masking"


def test_the_masking_package_imports_only_the_standard_library_and_itself():
    outside = {
        (str(path.relative_to(ROOT)), module)
        for path in sorted(PACKAGE.rglob("*.py"))
        for module in _imports(path)
        if module.split(".")[0] not in sys.stdlib_module_names and module.split(".")[0] != "masking"
    }
    assert not outside, f"masking must stay plain Python: {sorted(outside)}"
