"""The exploration defaults as a generated block of docs/explore.md, read from the estimators' ``defaults()``.

``python -m mmx_core docs`` writes :func:`render_explore_defaults` as the block
``explore-defaults``: every parameter of :class:`Projector`, :class:`SubgenreClusterer`
and :class:`NeighbourIndex` with the default the code uses, and the comparison's minimum
of shared ids.
"""

from __future__ import annotations

from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.compare import MIN_SHARED_IDS
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.projection import Projector

__all__ = ["BLOCK", "DOC", "render_explore_defaults"]

DOC = "docs/explore.md"
BLOCK = "explore-defaults"


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def render_explore_defaults() -> str:
    """Markdown: one table per estimator (parameter, default), then the comparison's constants."""
    lines = []
    for estimator in (Projector, SubgenreClusterer, NeighbourIndex):
        lines += [f"### `{estimator.__name__}`", "", "| parameter | default |", "| --- | --- |"]
        lines += [f"| {name} | {_value(value)} |" for name, value in estimator.defaults().items()]
        lines.append("")
    lines += ["### Comparison", "", "| constant | value |", "| --- | --- |",
              f"| minimum shared ids | {MIN_SHARED_IDS} |"]
    return "\n".join(lines)
