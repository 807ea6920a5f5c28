"""The knobs of the trailer generator (:class:`SynthConfig`), their ranges and their record in the manifest."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from mmx_core.base.errors import MMXError
from mmx_core.data.manifest import PAPER_EXPERTS, ExpertSpec

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
        dims = dict(self.dims or {})
        unknown = set(dims) - set(PAPER_EXPERTS)
        if unknown:
            raise MMXError(f"dims: unknown expert(s) {sorted(unknown)}; experts are {list(PAPER_EXPERTS)}")
        return {name: ExpertSpec(int(dims.get(name, spec.dim)), spec.temporal) for name, spec in PAPER_EXPERTS.items()}

    def resolved_latent_dim(self) -> int:
        if self.latent_dim is not None:
            return int(self.latent_dim)
        return 64 if self.latent == "planted" else 128

    def check(self) -> None:
        """Raise :class:`MMXError` naming the first knob outside its range."""
        if self.latent not in ("planted", "published"):
            raise MMXError(f"--latent must be 'planted' or 'published', got {self.latent!r}")
        for name, spec in self.experts().items():
            if spec.dim < 1:
                raise MMXError(f"dims: {name} must be >= 1, got {spec.dim}")
        if self.subgenres_per_genre < 1:
            raise MMXError(f"subgenres_per_genre must be >= 1, got {self.subgenres_per_genre}")
        if self.resolved_latent_dim() < 2 or self.style_dim < 1:
            raise MMXError(f"latent_dim must be >= 2 and style_dim >= 1, got {self.latent_dim}, {self.style_dim}")
        if self.style_looks < 0:
            raise MMXError(f"style_looks must be >= 0 (0 = a style per trailer), got {self.style_looks}")
        for name in ("genre_strength", "subgenre_strength", "trailer_noise", "sequence_noise", "clip_noise",
                     "frame_noise", "style_strength", "feature_noise"):
            if getattr(self, name) < 0:
                raise MMXError(f"{name} must be >= 0, got {getattr(self, name)}")
        vis = self.visibility.values() if isinstance(self.visibility, dict) else [self.visibility]
        if any(not 0 < v <= 1 for v in vis):
            raise MMXError(f"visibility must be in (0, 1], got {self.visibility}")
        lo, hi = self.sequences
        if not 1 <= lo <= hi:
            raise MMXError(f"sequences must be 1 <= min <= max, got {self.sequences}")
        lo, hi = self.audio_frames
        if not 1 <= lo <= hi:
            raise MMXError(f"audio_frames must be 1 <= min <= max, got {self.audio_frames}")
        if self.clips_per_sequence < 1:
            raise MMXError(f"clips_per_sequence must be >= 1, got {self.clips_per_sequence}")
        for name in ("short_sequence_rate", "missing_audio", "expert_corruption"):
            if not 0 <= getattr(self, name) < 1:
                raise MMXError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if len(self.splits) != 3 or min(self.splits) < 0 or not math.isclose(sum(self.splits), 1.0, abs_tol=1e-6):
            raise MMXError(f"splits must be three fractions summing to 1, got {self.splits}")

    def to_params(self) -> dict[str, Any]:
        params = asdict(self)
        params["latent_dim"] = self.resolved_latent_dim()
        params["dims"] = {k: v.dim for k, v in self.experts().items()}
        return params
