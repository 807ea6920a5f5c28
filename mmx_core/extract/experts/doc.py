"""The generated part of docs/extract.md: each expert's sampling and weights, read from the registry.

``python -m mmx_core.extract.experts.doc`` rewrites the block ``experts`` of
docs/extract.md; a test checks that the block equals :func:`experts_markdown`.
"""

from __future__ import annotations

from pathlib import Path

from mmx_core.base import docblocks
from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.extract import audio
from mmx_core.extract.experts import EXPERTS
from mmx_core.extract.experts.base import AudioSampling, Expert

__all__ = ["BLOCK", "experts_markdown", "write_experts_block"]

BLOCK = "experts"


def _fmt(values: tuple[float, ...]) -> str:
    return "(" + ", ".join(f"{v:g}" for v in values) + ")"


def _input(expert: Expert) -> str:
    s = expert.sampling
    if isinstance(s, AudioSampling):
        return f"the clip's sound, mono, resampled to {s.sample_rate} Hz; examples of {s.example_seconds:g} s"
    when = (f"{s.frames_per_clip} consecutive frames at {s.fps:g} frames/s centred on the clip's middle"
            if s.fps is not None else f"{s.frames_per_clip} frames spread evenly over the clip")
    return f"{when}; short side {s.resize}, centre crop {s.size} x {s.size}; mean {_fmt(s.mean)}, std {_fmt(s.std)}"


def experts_markdown() -> str:
    """Markdown tables of the registered experts (sampling, output) and their weights files."""
    lines = [
        "| expert | backbone | input per clip | output | temporal |",
        "| --- | --- | --- | --- | --- |",
    ]
    for e in EXPERTS.values():
        per = "per example" if e.temporal == "frames" else "per clip"
        lines.append(f"| `{e.name}` | {e.weights.what} | {_input(e)} | {e.dim}-d {per} | `{e.temporal}` |")
    lines += [
        "",
        f"Audio front end: {audio.WINDOW / audio.SAMPLE_RATE * 1000:g} ms periodic Hann window, "
        f"{audio.HOP / audio.SAMPLE_RATE * 1000:g} ms hop, {audio.N_FFT}-point FFT magnitude, "
        f"{audio.N_MELS} mel bands from {audio.F_MIN:g} to {audio.F_MAX:g} Hz (HTK), "
        f"log(mel + {audio.LOG_OFFSET:g}), examples of {audio.EXAMPLE_FRAMES} frames x {audio.N_MELS} bands.",
        "",
        "| expert | weights file | published at |",
        "| --- | --- | --- |",
    ]
    for e in EXPERTS.values():
        lines.append(f"| `{e.name}` | `{e.weights.file_name}` | `{e.weights.url}` |")
    return "\n".join(lines)


def write_experts_block(path: str | Path = PROJECT_ROOT / "docs" / "extract.md") -> Path:
    """Rewrite the ``experts`` block of docs/extract.md from the registry."""
    return docblocks.update_block(path, BLOCK, experts_markdown())


if __name__ == "__main__":
    print(write_experts_block())
