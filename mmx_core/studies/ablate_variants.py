"""The rows of the Table-2 ablation (:class:`Variant`, :func:`default_variants`) and their results."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmx_core.trailers.metrics import GenreReport
from mmx_core.evaluate.report import json_safe

__all__ = ["Variant", "FULL", "PAPER_EXPERT_ROWS", "default_variants", "VariantResult", "AblationResult"]


@dataclass(frozen=True)
class Variant:
    """One row of the ablation.

    Parameters
    ----------
    name : str
        Row name.
    kind : {"random", "model", "probe"}
    fusion : str, optional
        ModelConfig.fusion of a ``model`` variant.
    experts : tuple of str, optional
        ModelConfig.experts of a ``model`` variant (None = all the data's experts).
    embedding : {"coarse", "fine"}, optional
        Bottleneck a ``probe`` variant reads (of the full model).
    paper_row : str, optional
        Name of the matching row of the paper's Table 2.
    """

    name: str
    kind: str
    fusion: str | None = None
    experts: tuple[str, ...] | None = None
    embedding: str | None = None
    paper_row: str | None = None

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


FULL = "Full model"
PAPER_EXPERT_ROWS = {"image": "Image", "scene": "Scene", "motion": "Motion", "audio": "Audio"}


def default_variants(experts: list[str], probes: bool = True) -> list[Variant]:
    """The ablation rows for a data set with the given experts (in the paper's order)."""
    variants = [Variant("Random", "random", paper_row="Random")]
    for expert in experts:
        variants.append(Variant(f"{expert.capitalize()} only", "model", fusion="gem", experts=(expert,),
                                paper_row=PAPER_EXPERT_ROWS.get(expert)))
    variants += [
        Variant("Naive Concat", "model", fusion="concat", paper_row="Naive Concat"),
        Variant("No gating (GEM)", "model", fusion="gem"),
        Variant(FULL, "model", fusion="collaborative", paper_row="MMX-Trailer-20"),
    ]
    if probes:
        variants += [Variant("Coarse emb. + probe", "probe", embedding="coarse"),
                     Variant("Fine emb. + probe", "probe", embedding="fine")]
    return variants


@dataclass
class VariantResult:
    """Test metrics of one variant at threshold 0.5 (``fixed``) and with thresholds tuned on val (``tuned``)."""

    variant: Variant
    fixed: GenreReport
    tuned: GenreReport
    thresholds: np.ndarray
    seconds: float
    run_dir: str | None = None
    test_scores: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "variant": dataclasses.asdict(self.variant),
            "fixed": self.fixed.to_dict(),
            "tuned": self.tuned.to_dict(),
            "thresholds": self.thresholds.tolist(),
            "seconds": self.seconds,
            "run_dir": self.run_dir,
        }


@dataclass
class AblationResult:
    """Every variant's result on one data set, the settings and command, and the bootstrap comparisons."""

    data: str
    data_summary: dict[str, Any]
    settings: dict[str, Any]
    command: str
    results: list[VariantResult] = field(default_factory=list)
    seconds: float = 0.0
    comparisons: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return json_safe({"data": self.data, "data_summary": self.data_summary, "settings": self.settings,
                          "command": self.command, "seconds": self.seconds,
                          "results": [r.to_dict() for r in self.results], "comparisons": self.comparisons})

    def get(self, name: str) -> VariantResult | None:
        return next((r for r in self.results if r.variant.name == name), None)
