"""ModelConfig: every size and switch of the MMX encoder, validated in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mmx_core.base.constraints import Choice, Int, ParameterError, Real, check_params
from mmx_core.base.errors import MMXError

__all__ = ["ModelConfig", "FUSIONS", "SEQUENCE_ENCODERS", "GEM_SCALES", "DEFAULT_EXPERT_DIMS", "LIMITS"]

FUSIONS = ("collaborative", "gem", "concat")
SEQUENCE_ENCODERS = ("mlp", "mlp+mean")
GEM_SCALES = ("unit", "sqrt_dim")
DEFAULT_EXPERT_DIMS = {"image": 2048, "scene": 2048, "motion": 512, "audio": 128}
LIMITS = {"fusion": Choice(FUSIONS), "gem_scale": Choice(GEM_SCALES), "sequence_encoder": Choice(SEQUENCE_ENCODERS),
          **{name: Int(1) for name in ("shared_dim", "n_genres", "clips_per_sequence", "sequence_dim",
                                       "bottleneck_dim", "vlad_clusters", "gating_hidden", "head_hidden",
                                       "projection_dim", "train_sequences")},
          "vlad_ghost_clusters": Int(0), "dropout": Real(0, 1, high_open=True)}
"""What each size and switch of :class:`ModelConfig` accepts (``train``'s model options parse with them)."""


@dataclass
class ModelConfig:
    """Sizes and switches of :class:`~mmx_core.model.MMXEncoder` and its heads.

    Parameters
    ----------
    experts : tuple of str
        Experts the model reads (a subset of the data set's experts: single-expert
        ablations pass one name).
    expert_dims : dict
        Expert name -> feature size D of one frame.
    vlad_experts : tuple of str
        Experts aggregated over frames with NetVLAD (the paper: audio); the others
        are average-pooled.
    shared_dim : int
        Size every expert is projected to before gating.
    fusion : {"collaborative", "gem", "concat"}
        "collaborative" = collaborative gating + GEM (the paper), "gem" = GEM
        without gating, "concat" = naive concatenation of the projected experts.
    n_genres : int
        Outputs of the coarse head.
    clips_per_sequence : int
        Clips C concatenated into one sequence (the paper: 9).
    gem_scale : {"unit", "sqrt_dim"}
        Norm of every GEM output: "unit" = the paper (L2-normalised);
        "sqrt_dim" multiplies it by sqrt(shared_dim), so its entries are of
        order 1 like the projected features of "concat" (same directions,
        faster training; see docs/model.md). No effect with fusion "concat".
    sequence_encoder : {"mlp", "mlp+mean"}
        "mlp" = the paper: the C clips concatenated -> Linear-ReLU-Dropout-Linear.
        "mlp+mean" adds a residual path, a linear map of the mean of the
        sequence's valid clips, to the MLP's output (keeps what all clips share;
        see docs/model.md).
    sequence_dim, bottleneck_dim : int
        Size of a sequence embedding and of the trailer (bottleneck) embedding.
    vlad_clusters, vlad_ghost_clusters : int
        NetVLAD centres and ghost clusters (absorb noise, dropped from the output).
    gating_hidden, head_hidden, projection_dim : int
        Hidden size of the gating MLPs g/h, of the heads k and m, and the output
        size of the projection head m.
    dropout : float
        Dropout in the sequence MLP and the heads.
    train_sequences : int
        Sequences sampled per trailer in training (inference uses all).
    """

    experts: tuple[str, ...] = ("image", "scene", "motion", "audio")
    expert_dims: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_EXPERT_DIMS))
    vlad_experts: tuple[str, ...] = ("audio",)
    shared_dim: int = 128
    fusion: str = "collaborative"
    n_genres: int = 20
    clips_per_sequence: int = 9
    sequence_encoder: str = "mlp"
    gem_scale: str = "unit"
    sequence_dim: int = 256
    bottleneck_dim: int = 256
    vlad_clusters: int = 16
    vlad_ghost_clusters: int = 1
    gating_hidden: int = 128
    head_hidden: int = 256
    projection_dim: int = 128
    dropout: float = 0.1
    train_sequences: int = 4

    def __post_init__(self) -> None:
        self.experts = tuple(self.experts)
        self.vlad_experts = tuple(self.vlad_experts)
        self.expert_dims = {str(k): int(v) for k, v in dict(self.expert_dims).items()}

    def validate(self) -> "ModelConfig":
        """Raise :class:`MMXError` naming the parameter for invalid values; return self."""
        check_params(self, **LIMITS)
        if not self.experts:
            raise ParameterError("experts", self.experts, "non-empty: at least one expert, e.g. ('image',)")
        if len(set(self.experts)) != len(self.experts):
            raise ParameterError("experts", self.experts, "distinct experts")
        missing = [e for e in self.experts if e not in self.expert_dims]
        if missing:
            raise MMXError(f"model experts {missing} have no entry in expert_dims={self.expert_dims}; "
                           "give their feature sizes (they come from the data manifest)")
        return self

    def expert_input_dim(self, name: str) -> int:
        """Size of expert ``name`` after temporal aggregation."""
        dim = self.expert_dims[name]
        return dim * self.vlad_clusters if name in self.vlad_experts else dim

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (tuples as lists); :meth:`from_dict` reads it back."""
        return {**dataclasses.asdict(self), "experts": list(self.experts), "vlad_experts": list(self.vlad_experts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise MMXError(f"unknown model config key(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    @classmethod
    def for_store(cls, manifest, **overrides: Any) -> "ModelConfig":
        """A config matching a data manifest (expert dims, genres, clips per sequence)."""
        values: dict[str, Any] = {
            "expert_dims": {name: spec.dim for name, spec in manifest.experts.items()},
            "n_genres": len(manifest.genres),
            "clips_per_sequence": manifest.clips_per_sequence,
        }
        if "experts" not in overrides:
            values["experts"] = tuple(e for e in cls.experts if e in manifest.experts) or tuple(manifest.experts)
        if "vlad_experts" not in overrides:  # the paper: NetVLAD for audio, average pooling for video
            values["vlad_experts"] = tuple(n for n in manifest.experts if n == "audio")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
