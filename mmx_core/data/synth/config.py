"""The knobs of the trailer generator (:class:`SynthConfig`), their ranges and their record in the manifest."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mmx_core.base.constraints import Choice, Int, ParameterError, Real, check_params
from mmx_core.base.errors import MMXError
from mmx_core.data.manifest import PAPER_EXPERTS, ExpertSpec, paper_experts

__all__ = ["SynthConfig"]


@dataclass
class SynthConfig:
    """Knobs of the generator (defaults in brackets are documented in docs/data-format.md).

    Parameters
    ----------
    latent : {"planted", "published"}
        Where the trailer latents come from.
    dims : dict of str to int, optional
        Override expert dims (e.g. ``{"image": 16, "scene": 16, "motion": 8,
        "audio": 4}`` for tests); default the real dims 2048/2048/512/128.
    subgenres_per_genre : int
        Sub-genres per genre (planted) [3].
    latent_dim : int or None
        L, the latent dimension [64 planted, 128 published].
    genre_strength, subgenre_strength, trailer_noise : float
        Scales of the genre part, the sub-genre content and the trailer's own
        individuality in z_t [1.0, 0.8, 1.0].
    sequence_noise, clip_noise, frame_noise : float
        Per-sequence, per-clip and per-audio-frame variation [1.0, 0.7, 0.3].
    style_dim, style_strength : int, float
        Per-trailer, per-expert nuisance [16, 0.75] (docs/data-format.md: why 0.75).
    style_looks : int
        0: every trailer draws its own style for every expert, so the style
        identifies the trailer. K > 0: a trailer draws one of K "looks"
        (a production look: grade, format, sound mix), and every expert
        shows that look through its own fixed style vector, so a look is
        shared by about 1/K of all trailers [0].
    visibility : float or dict of str to float
        Fraction of latent coordinates each expert sees [0.4].
    feature_noise : float
        Isotropic noise in feature space [0.5].
    sequences : (int, int)
        Min and max sequences per trailer, uniform [2, 6] (mean 4).
    clips_per_sequence : int
        C [9].
    short_sequence_rate : float
        Probability that a sequence holds fewer than C clips (C-4..C-1) [0.1].
    audio_frames : (int, int)
        Min and max audio frames per clip, uniform [2, 6].
    missing_audio : float
        Probability that a clip has no audio (stored as missing) [0.05].
    expert_corruption : float
        Probability that one expert of one trailer is unreliable: all of that
        trailer's clips render, for that expert, the latent of another trailer
        of the same batch instead of its own (a wrong soundtrack, foreign
        footage). Features keep their distribution, so the expert alone cannot
        tell; only disagreement with the other experts can [0.0].
    splits : (float, float, float)
        Train / val / test fractions [0.7, 0.1, 0.2].
    """

    latent: str = "planted"
    dims: dict[str, int] | None = None
    subgenres_per_genre: int = 3
    latent_dim: int | None = None
    genre_strength: float = 1.0
    subgenre_strength: float = 0.8
    trailer_noise: float = 1.0
    sequence_noise: float = 1.0
    clip_noise: float = 0.7
    frame_noise: float = 0.3
    style_dim: int = 16
    style_strength: float = 0.75
    style_looks: int = 0
    visibility: float | dict[str, float] = 0.4
    feature_noise: float = 0.5
    sequences: tuple[int, int] = (2, 6)
    clips_per_sequence: int = 9
    short_sequence_rate: float = 0.1
    audio_frames: tuple[int, int] = (2, 6)
    missing_audio: float = 0.05
    expert_corruption: float = 0.0
    splits: tuple[float, float, float] = (0.7, 0.1, 0.2)

    def experts(self) -> dict[str, ExpertSpec]:
        unknown = set(self.dims or {}) - set(PAPER_EXPERTS)
        if unknown:
            raise MMXError(f"dims: unknown expert(s) {sorted(unknown)}; experts are {list(PAPER_EXPERTS)}")
        return paper_experts(self.dims)

    def resolved_latent_dim(self) -> int:
        if self.latent_dim is not None:
            return int(self.latent_dim)
        return 64 if self.latent == "planted" else 128

    def validate(self) -> "SynthConfig":
        """Self, once every knob is in its range (else :class:`ParameterError` naming the first outside it)."""
        scales = ("genre_strength", "subgenre_strength", "trailer_noise", "sequence_noise", "clip_noise",
                  "frame_noise", "style_strength", "feature_noise")
        rates = ("short_sequence_rate", "missing_audio", "expert_corruption")
        check_params(self, latent=Choice(("planted", "published")), subgenres_per_genre=Int(1), style_dim=Int(1),
                     style_looks=Int(0), clips_per_sequence=Int(1), **dict.fromkeys(scales, Real(0)),
                     **dict.fromkeys(rates, Real(0, 1, high_open=True)))
        for name, spec in self.experts().items():
            Int(1).check(f"dims[{name!r}]", spec.dim)
        Int(2).check("latent_dim", self.resolved_latent_dim())
        for share in self.visibility.values() if isinstance(self.visibility, dict) else [self.visibility]:
            Real(0, 1, low_open=True).check("visibility", share)
        for name in ("sequences", "audio_frames"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ParameterError(name, getattr(self, name), "(min, max) with 1 <= min <= max")
        if len(self.splits) != 3 or min(self.splits) < 0 or not math.isclose(sum(self.splits), 1.0, abs_tol=1e-6):
            raise ParameterError("splits", self.splits, "three fractions summing to 1")
        return self

    def to_params(self) -> dict[str, Any]:
        params = asdict(self)
        params["latent_dim"] = self.resolved_latent_dim()
        params["dims"] = {k: v.dim for k, v in self.experts().items()}
        return params
