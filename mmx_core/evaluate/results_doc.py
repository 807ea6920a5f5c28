"""docs/results.md: generated blocks between markers, hand-written text around them.

``ablate`` and ``subgenre-eval`` each own one block::

    <!-- BEGIN GENERATED: ablation -->
    ...
    <!-- END GENERATED: ablation -->

and replace only that block, so the explanation written by hand around the
blocks survives every regeneration. A missing file is created from a short
default text.
"""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError

__all__ = ["update_block", "DEFAULT_HEADER"]

DEFAULT_HEADER = """# Results

All numbers below are on **generated** data (`python -m mmx_core synth`), not on the paper's
MMX-Trailer-20 features, so they are not comparable to the paper's numbers printed beside them;
the paper's rows are there to show the shape of the comparison, not a target.
"""


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"


def update_block(path: str | Path, name: str, content: str) -> Path:
    """Replace (or append) the generated block ``name`` of the Markdown file ``path``."""
    path = Path(path)
    begin, end = _markers(name)
    text = path.read_text() if path.exists() else DEFAULT_HEADER
    block = f"{begin}\n{content.rstrip()}\n{end}"
    if begin in text:
        start = text.index(begin)
        stop = text.find(end, start)
        if stop < 0:
            raise MMXError(f"found '{begin}' without '{end}'; restore the end marker or delete the block", path)
        text = text[:start] + block + text[stop + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with atomic_write(path, "w") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path
