"""The package's layers and a map of its packages and modules, for docs/architecture.md and the layer test.

:data:`LAYERS` is the one statement of the layer rule: each top-level part of ``mmx_core`` (a package or
a root module) has a layer, and a module imports only from lower layers or from its own part.
:func:`render_module_map` lists every package and module with the first line of its docstring, layer by
layer, so the architecture page cannot miss a module (``python -m mmx_core docs`` rewrites it).
"""

from __future__ import annotations

import ast
from pathlib import Path

from mmx_core.base.paths import PROJECT_ROOT

__all__ = ["LAYERS", "LAYER_NAMES", "module_summaries", "render_module_map"]

LAYERS: dict[str, int] = {
    "base": 0,
    "trailers": 1,
    "data": 2, "model": 2, "annotations": 2,
    "extract": 3,
    "train": 4,
    "evaluate": 5,
    "explore": 6,
    "studies": 7,
    "jobs": 8,
    "workspace": 9,
    "appkit": 10,
    "serving": 11,
    "docs": 12,
    "commands": 13, "cli": 14, "__main__": 15,
    "__init__": 1,  # the package's face: only the error type from base
}
"""Layer of each top-level part of mmx_core; imports go only to lower layers (or within a part)."""

LAYER_NAMES: dict[int, str] = {
    0: "foundations", 1: "the trailer task's vocabulary", 2: "data sets, the model and annotations",
    3: "feature extraction from videos", 4: "training and inference", 5: "evaluation", 6: "exploration",
    7: "studies that chain stages", 8: "background jobs", 9: "the catalogue of what is on disk",
    10: "app support (no streamlit)", 11: "serving to many people (nginx, workers, sign-in)",
    12: "docs generated from the code", 13: "CLI commands", 14: "the CLI", 15: "entry point",
}


def _first_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except SyntaxError:
        return "(does not parse)"
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else "(no docstring)"


def module_summaries(root: Path = PROJECT_ROOT) -> list[tuple[int, str, str]]:
    """``(layer, path relative to root, first docstring line)`` of every module of mmx_core, ui/ and the pages.

    A package is listed as its folder (``mmx_core/data/``) with its ``__init__.py``'s line, before its modules.
    """
    app_layer = max(LAYERS.values()) + 1
    package = root / "mmx_core"
    placed = [(LAYERS.get(path.relative_to(package).parts[0].removesuffix(".py"), -1), path)
              for path in sorted(package.rglob("*.py"))]
    placed += [(app_layer, path) for path in [root / "app.py", *sorted((root / "ui").glob("*.py")),
                                              *sorted((root / "pages").glob("*.py"))] if path.is_file()]
    rows = [(layer, str(path.relative_to(root)).removesuffix("__init__.py"), _first_line(path))  # a package: its folder
            for layer, path in placed]
    return sorted(rows, key=lambda r: (r[0], r[1]))


def render_module_map(root: Path = PROJECT_ROOT) -> str:
    """Markdown: one table per layer, each package (in bold, with its purpose) above its modules."""
    names = {**LAYER_NAMES, max(LAYERS.values()) + 1: "the app (streamlit)"}
    lines, current = [], None
    for layer, path, summary in module_summaries(root):
        if layer != current:
            current = layer
            lines += ["", f"**Layer {layer}: {names.get(layer, 'unassigned')}**", "",
                      "| module | what it holds |", "| --- | --- |"]
        shown = f"**`{path}`**" if path.endswith("/") else f"`{path}`"
        lines.append(f"| {shown} | {summary.replace('|', '/')} |")
    return "\n".join(lines).strip() + "\n"
