"""The generator's defaults as a generated block of docs/data-format.md (read from :class:`SynthConfig`).

:func:`render_synth_defaults` lists every knob with its default as the code holds it,
the label-cardinality distribution, the genre support the planted latents use and
the bytes a clip costs at the real dims, so the doc cannot drift from the code.
``python -m mmx_core docs`` writes it as the block ``synth-defaults``.
"""

from __future__ import annotations

import dataclasses

from mmx_core.base.genres import PAPER_SUPPORT
from mmx_core.data.manifest import PAPER_EXPERTS
from mmx_core.data.synth_config import SynthConfig
from mmx_core.data.synth_latents import LABEL_CARDINALITY

__all__ = ["BLOCK", "DOC", "clip_bytes", "render_synth_defaults"]

DOC = "docs/data-format.md"
BLOCK = "synth-defaults"

# knob -> (CLI flag, "" when only the Python API sets it; meaning); every field of SynthConfig has one.
KNOBS: dict[str, tuple[str, str]] = {
    "latent": ("--latent", "where the trailer latents come from"),
    "dims": ("--dims", "expert dims (none: the paper's dims)"),
    "subgenres_per_genre": ("--subgenres", "sub-genres per genre"),
    "latent_dim": ("--latent-dim", "L (none: 64 planted, 128 published)"),
    "genre_strength": ("--genre-strength", "scale of the genre part (published: of the latents)"),
    "subgenre_strength": ("--subgenre-strength", "scale of the sub-genre content"),
    "trailer_noise": ("--trailer-noise", "the trailer's own individuality"),
    "sequence_noise": ("--sequence-noise", "per-sequence variation"),
    "clip_noise": ("--clip-noise", "per-clip variation"),
    "frame_noise": ("--frame-noise", "per-audio-frame variation"),
    "style_dim": ("--style-dim", "width of the per-trailer, per-expert nuisance"),
    "style_strength": ("--style-strength", "scale of that nuisance (the section below says why this value)"),
    "style_looks": ("--style-looks", "0: a style per trailer and expert; K > 0: one of K production looks per trailer"),
    "visibility": ("--visibility", "share of latent coordinates each expert sees"),
    "feature_noise": ("--feature-noise", "noise in feature space"),
    "sequences": ("--sequences MIN MAX", "sequences per trailer, uniform"),
    "clips_per_sequence": ("", "C, clips in a full sequence"),
    "short_sequence_rate": ("--short-sequence-rate", "share of sequences with fewer than C clips"),
    "audio_frames": ("--audio-frames MIN MAX", "audio frames per clip, uniform"),
    "missing_audio": ("--missing-audio", "share of clips without audio (stored as missing)"),
    "expert_corruption": ("--expert-corruption", "probability that an expert of a trailer is unreliable (below)"),
    "splits": ("", "train / val / test fractions"),
}


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    return str(value)


def clip_bytes(config: SynthConfig | None = None) -> float:
    """Mean bytes a clip costs in float16 at the config's dims (audio frames at their mean, minus missing audio)."""
    config = config or SynthConfig()
    experts = config.experts()
    frames = (sum(config.audio_frames) / 2) * (1 - config.missing_audio)
    return sum(2 * spec.dim * (frames if spec.temporal == "frames" else 1) for spec in experts.values())


def render_synth_defaults() -> str:
    """Markdown: the knob table, the label cardinality, the planted support and the cost of a clip."""
    config = SynthConfig()
    lines = ["### Generator defaults (`SynthConfig`)", "", "| knob | CLI flag | default | what |", "| --- | --- | --- | --- |"]
    for field in dataclasses.fields(SynthConfig):
        flag, meaning = KNOBS[field.name]
        flag = f"`{flag}`" if flag else "(Python only)"
        lines.append(f"| `{field.name}` | {flag} | {_value(getattr(config, field.name))} | {meaning} |")
    mean = sum((k + 1) * p for k, p in enumerate(LABEL_CARDINALITY))
    lines += ["", "### Genres per trailer (planted)", "",
              "| genres k | " + " | ".join(str(k + 1) for k in range(len(LABEL_CARDINALITY))) + " | mean |",
              "| --- |" + " --- |" * (len(LABEL_CARDINALITY) + 1),
              "| P(k) | " + " | ".join(f"{p:g}" for p in LABEL_CARDINALITY) + f" | {mean:.3g} |"]
    lines += ["", "### Genre support used by the planted latents (`PAPER_SUPPORT`)", "",
              "| genre | support |", "| --- | --- |"]
    lines += [f"| {genre} | {count} |" for genre, count in PAPER_SUPPORT.items()]
    per_clip = clip_bytes(config)
    lines += ["", "### Bytes a clip costs (real dims, float16)", "", "| expert | dim | frames a clip (mean) | bytes |",
              "| --- | --- | --- | --- |"]
    frames = (sum(config.audio_frames) / 2) * (1 - config.missing_audio)
    for name, spec in PAPER_EXPERTS.items():
        n = frames if spec.temporal == "frames" else 1
        lines.append(f"| {name} | {spec.dim} | {n:.3g} | {2 * spec.dim * n:,.0f} |")
    lines.append(f"| clip | | | {per_clip:,.0f} |")
    return "\n".join(lines)
