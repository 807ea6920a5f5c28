"""docs/results.md: generated blocks between markers, hand-written text around them.

``ablate`` and ``subgenre-eval`` each own one block (the marker format of
:mod:`mmx_core.base.docblocks`)::

    <!-- BEGIN GENERATED: ablation -->
    ...
    <!-- END GENERATED: ablation -->

and replace only that block, so the explanation written by hand around the
blocks survives every regeneration; that text quotes a block's figures through
includes (``python -m mmx_core docs`` refreshes them). A missing file is created
from a short default text.
"""

from __future__ import annotations

from pathlib import Path

from mmx_core.base import docblocks

__all__ = ["update_block", "DEFAULT_HEADER"]

DEFAULT_HEADER = """# Results

All numbers below are on **generated** data (`python -m mmx_core synth`), not on the paper's
MMX-Trailer-20 features, so they are not comparable to the paper's numbers printed beside them;
the paper's rows are there to show the shape of the comparison, not a target.
"""


def update_block(path: str | Path, name: str, content: str) -> Path:
    """Replace (or append) the generated block ``name`` of the Markdown file ``path``."""
    return docblocks.update_block(path, name, content, default_text=DEFAULT_HEADER)
