"""The package's layers and a map of its modules, for docs/architecture.md and the layer test.

:data:`LAYERS` is the one statement of the layer rule: each top-level part of ``mmx_core`` (a package or
a root module) has a layer, and a module imports only from lower layers or from its own part.
:func:`render_module_map` lists every module with the first line of its docstring, layer by layer,
so the architecture page cannot miss a module (``python -m mmx_core docs`` rewrites it).
"""

from __future__ import annotations

import ast
from pathlib import Path

from mmx_core.base.paths import PROJECT_ROOT

__all__ = ["LAYERS", "LAYER_NAMES", "module_summaries", "render_module_map", "DOC", "BLOCK"]

LAYERS: dict[str, int] = {
    "base": 0,
    "data": 1, "model": 1, "annotations": 1,
    "extract": 2,
    "train": 3,
    "evaluate": 4,
    "explore": 5,
    "studies": 6,
    "jobs": 7,
    "workspace": 8,
    "appkit": 9,
    "serving": 10,
    "commands": 11, "cli": 12, "__main__": 13,
    "__init__": 1,  # the package's face: only the error type from base
}
"""Layer of each top-level part of mmx_core; imports go only to lower layers (or within a part)."""

LAYER_NAMES: dict[int, str] = {
    0: "foundations", 1: "data sets, the model and annotations", 2: "feature extraction from videos", 3: "training and inference",
    4: "evaluation", 5: "exploration", 6: "studies that chain stages", 7: "background jobs",
    8: "the catalogue of what is on disk", 9: "app support (no streamlit)",
    10: "serving to many people (nginx, workers, sign-in)", 11: "CLI commands", 12: "the CLI", 13: "entry point",
}

DOC, BLOCK = "docs/architecture.md", "module-map"


def _first_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except SyntaxError:
        return "(does not parse)"
    return (doc or "").strip().splitlines()[0].strip() if doc else "(no docstring)"


def module_summaries(root: Path = PROJECT_ROOT) -> list[tuple[int, str, str]]:
    """``(layer, path relative to root, first docstring line)`` of every module of mmx_core, ui/ and the pages."""
    rows = []
    package = root / "mmx_core"
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        top = parts[0] if len(parts) > 1 else parts[0]
        if path.name == "__init__.py" and len(parts) > 1:
            top = parts[0]
        rows.append((LAYERS.get(top, -1), str(path.relative_to(root)), _first_line(path)))
    app_layer = max(LAYERS.values()) + 1
    for path in [root / "app.py", *sorted((root / "ui").glob("*.py")), *sorted((root / "pages").glob("*.py"))]:
        if path.is_file():
            rows.append((app_layer, str(path.relative_to(root)), _first_line(path)))
    return sorted(rows, key=lambda r: (r[0], r[1]))


def render_module_map(root: Path = PROJECT_ROOT) -> str:
    """Markdown: one table per layer, every module with its one line."""
    names = dict(LAYER_NAMES)
    names[max(LAYERS.values()) + 1] = "the app (streamlit)"
    lines = []
    current = None
    for layer, path, summary in module_summaries(root):
        if layer != current:
            current = layer
            lines += ["", f"**Layer {layer}: {names.get(layer, 'unassigned')}**", "", "| module | what it holds |",
                      "| --- | --- |"]
        lines.append(f"| `{path}` | {summary.replace('|', '/')} |")
    return "\n".join(lines).strip() + "\n"
