"""The docs build: every generated block the code defines, the includes quoting blocks, and the check of both.

:data:`GENERATORS` lists each block whose contents the code defines (doc file, block name, renderer);
:func:`write_blocks` rewrites them and :func:`refresh_includes` the includes of :func:`doc_files`
(``python -m mmx_core docs``); :func:`check` only reports (``--check``): a stale block, a stale include,
or a figure without a source (:mod:`mmx_core.docs.figures`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mmx_core.base import errors
from mmx_core.base.artefacts import atomic_write
from mmx_core.base.docblocks import parse_blocks, update_block
from mmx_core.base.errors import MMXError
from mmx_core.docs import defaults, module_map, references
from mmx_core.docs.figures import prose_figures, requirement_names
from mmx_core.docs.includes import refresh
from mmx_core.extract import budget

__all__ = ["GENERATORS", "check", "doc_files", "refresh_includes", "stale_blocks", "write_blocks"]

GENERATORS: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("docs/data-format.md", "synth-defaults", defaults.render_synth_defaults),
    ("docs/model.md", "train-recipe", defaults.render_train_recipe),
    ("docs/explore.md", "explore-defaults", defaults.render_explore_defaults),
    ("docs/scale.md", "scale-rules", defaults.render_scale_rules),
    ("docs/paper.md", "paper-tables", references.render_paper_block),
    ("docs/extract.md", "experts", references.experts_markdown),
    ("docs/architecture.md", "module-map", module_map.render_module_map),
    (errors.EXIT_CODES_DOC, errors.EXIT_CODES_BLOCK, errors.render_exit_codes),
    (budget.DOC, budget.BLOCK, budget.budget_markdown),
)
"""Every block whose contents the code defines; a doc file missing under the root is skipped."""


def doc_files(root: Path) -> list[Path]:
    """The Markdown files whose figures must have a source: README, docs/*.md, models/README.md."""
    files = [root / "README.md", *sorted((root / "docs").glob("*.md")), root / "models" / "README.md"]
    return [f for f in files if f.is_file()]


def stale_blocks(root: Path) -> list[str]:
    """``"FILE#BLOCK"`` of every registered block under ``root`` that differs from what its code renders now."""
    return [f"{doc}#{name}" for doc, name, render in GENERATORS if (Path(root) / doc).is_file()
            and parse_blocks((Path(root) / doc).read_text()).get(name) != render().strip()]


def write_blocks(root: Path) -> list[Path]:
    """Rewrite every registered block whose file exists under ``root``; returns the files changed."""
    changed = []
    for doc, name, render in GENERATORS:
        path = Path(root) / doc
        if path.is_file():
            before = path.read_text()
            update_block(path, name, render())
            if path.read_text() != before:
                changed.append(path)
    return changed


def refresh_includes(root: Path) -> list[Path]:
    """Rewrite every doc file whose includes (or old markers) are stale; returns the files changed."""
    changed = []
    for path in doc_files(root):
        text = refresh(path)
        if text != path.read_text():
            with atomic_write(path, "w") as handle:
                handle.write(text)
            changed.append(path)
    return changed


def check(root: Path) -> list[str]:
    """One line per problem of the docs under ``root``: a stale block or file, or a figure without a source."""
    problems = [f"{ref}: stale generated block; run `python -m mmx_core docs`" for ref in stale_blocks(root)]
    packages = requirement_names(root)
    for path in doc_files(root):
        name = path.relative_to(root)
        try:
            if refresh(path) != path.read_text():
                problems.append(f"{name}: stale; run `python -m mmx_core docs`")
        except MMXError as exc:
            problems.append(f"{name}: {exc}")
        problems += [f"{name}:{fig.line}: figure {fig.number} has no source: {fig.context}"
                     for fig in prose_figures(path.read_text(), packages)]
    return problems
