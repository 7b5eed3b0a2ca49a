"""The apps form layers: no app imports one above it, not even inside a function.

Every import in production code counts (module level or inside a function); imports under
``if TYPE_CHECKING:`` are annotations, not dependencies, and do not. Tests and migrations are not
production code. ``config`` (settings, URLs, routing) is the project and may import any app.

Where a lower app must react to a higher one, the higher app registers a hook in its
``AppConfig.ready()`` (docs/architecture.md, "Layers").
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. An app may import the apps before it in this list, never those after it.
LAYERS: list[str] = [
    "masking",
    "audit",
    "accounts",
    "tickets",
    "cobrowse",
    "consent",
    "recordings",
    "outcomes",
    "live",
    "browser",
    "analytics",
    "demo",
]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Ids of every node inside an ``if TYPE_CHECKING:`` block."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(id(n) for n in ast.walk(child))
    return inside


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _type_checking_nodes(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def upward_imports() -> set[tuple[str, str]]:
    rank = {app: i for i, app in enumerate(LAYERS)}
    upward: set[tuple[str, str]] = set()
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")) if (ROOT / app).is_dir() else []:
            if "migrations" in path.parts:
                continue
            for module in _imports(path):
                top = module.split(".")[0]
                if top in rank and rank[top] > rank[app]:
                    upward.add((str(path.relative_to(ROOT)), module))
    return upward


def test_every_app_directory_is_in_a_layer():
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps <= set(LAYERS), f"add {sorted(apps - set(LAYERS))} to LAYERS"


def test_no_app_imports_one_above_it():
    new = upward_imports()
    assert not new, "upward imports (invert the dependency): " + ", ".join(
        f"{path} imports {module}" for path, module in sorted(new)
    )


def test_the_checker_sees_function_level_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from consent import models\n"
        "def f():\n    from recordings import live\n"
    )
    assert _imports(source) == ["typing", "recordings"]
