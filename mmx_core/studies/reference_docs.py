"""Every generated block whose contents the code defines: one registry the ``docs`` command refreshes.

Each entry is (doc file relative to the project, block name, renderer). The renderers
live in the layer that owns the data (generator defaults in ``data``, the training
recipe in ``train``, the paper's tables in ``evaluate``, exploration defaults in
``explore``); this module only gathers them, so it sits above all four.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mmx_core.base import docblocks, errors, module_map
from mmx_core.data import synth_doc
from mmx_core.evaluate import paper_doc
from mmx_core.explore import defaults_doc
from mmx_core.extract import budget
from mmx_core.train import recipe_doc

__all__ = ["GENERATORS", "stale_blocks", "write_blocks"]

GENERATORS: tuple[tuple[str, str, Callable[[], str]], ...] = (
    (synth_doc.DOC, synth_doc.BLOCK, synth_doc.render_synth_defaults),
    (recipe_doc.DOC, recipe_doc.BLOCK, recipe_doc.render_train_recipe),
    (defaults_doc.DOC, defaults_doc.BLOCK, defaults_doc.render_explore_defaults),
    (defaults_doc.SCALE_DOC, defaults_doc.SCALE_BLOCK, defaults_doc.render_scale_rules),
    (paper_doc.DOC, paper_doc.BLOCK, paper_doc.render_paper_block),
    (module_map.DOC, module_map.BLOCK, module_map.render_module_map),
    (errors.EXIT_CODES_DOC, errors.EXIT_CODES_BLOCK, errors.render_exit_codes),
    (budget.DOC, budget.BLOCK, budget.budget_markdown),
)


def stale_blocks(root: Path) -> list[str]:
    """``"FILE#BLOCK"`` of every registered block under ``root`` that differs from what its code renders now.

    Files that do not exist under ``root`` are skipped (a project folder may hold only some docs).
    """
    stale = []
    for doc, name, render in GENERATORS:
        path = Path(root) / doc
        if path.is_file() and docblocks.parse_blocks(path.read_text()).get(name) != render().strip():
            stale.append(f"{doc}#{name}")
    return stale


def write_blocks(root: Path) -> list[Path]:
    """Rewrite every registered block whose file exists under ``root``; returns the files changed."""
    changed = []
    for doc, name, render in GENERATORS:
        path = Path(root) / doc
        if not path.is_file():
            continue
        before = path.read_text()
        docblocks.update_block(path, name, render())
        if path.read_text() != before:
            changed.append(path)
    return changed
