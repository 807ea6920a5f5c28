"""Reading the authors' feature files: one checked ``.pt`` tensor, a clip folder, a trailer's sequences.

Tensors are read with ``torch.load(weights_only=True)``, and only from regular
files (a FIFO in place of a feature file would block the reader); a file that
cannot be read, is not a tensor, is not shaped (D,), (1, D) or (n, D) for its
expert's dim D, or holds NaN/Inf (or values beyond float16) is reported and left
out, never raised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmx_core.base.errors import MMXError, first_line
from mmx_core.base.safeio import regular_file
from mmx_core.data.importer.tree import EXPERT_FOLDERS, ImportProblems, TreeTrailer, natural_key, subdirs
from mmx_core.data.manifest import ExpertSpec

__all__ = ["read_clip", "read_trailer"]


def _checked_frames(file: Path, dim: int) -> np.ndarray:
    """The frames of one .pt file as float32 (n, dim); :class:`MMXError` saying why when the file is unusable."""
    import torch

    regular_file(file, "tensor file")
    try:
        value = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt, truncated or refused (malicious) files alike
        raise MMXError(f"cannot read tensor with weights_only=True ({first_line(exc)[:200]})") from None
    if not isinstance(value, torch.Tensor):
        raise MMXError(f"holds {type(value).__name__}, not a tensor")
    shape = tuple(value.shape)
    if len(shape) not in (1, 2) or shape[-1] != dim or 0 in shape:
        raise MMXError(f"tensor of shape {shape}, expected last dim {dim} in a shape ({dim},), (1, {dim}) or "
                       f"(n, {dim})")
    try:
        array = value.detach().to(torch.float32).numpy().reshape(-1, dim)
    except (RuntimeError, TypeError) as exc:  # e.g. a complex or quantised tensor
        raise MMXError(f"tensor of dtype {value.dtype} cannot be read as float ({str(exc)[:120]})") from None
    if not np.isfinite(array).all() or (np.abs(array) > 65000).any():
        raise MMXError("tensor holds NaN/Inf or values beyond float16 range")
    return array


def read_clip(clip_dir: Path, experts: dict[str, ExpertSpec], test_sampling: bool, problems: ImportProblems,
               trailer: str) -> dict[str, np.ndarray] | None:
    """Per expert the clip's frames (0 rows = missing); None when the clip folder holds no feature."""
    folders: dict[str, Path] = {}
    for sub in subdirs(clip_dir):
        base = sub.name.removeprefix("test-")
        expert = EXPERT_FOLDERS.get(base)
        if expert in experts and (base != sub.name) == test_sampling:  # a test- folder only for test sampling
            folders.setdefault(expert, sub)
    frames = {}
    for expert, spec in experts.items():
        files = sorted(folders[expert].glob("*.pt"), key=lambda p: natural_key(p.name)) if expert in folders else []
        rows = []
        for file in files:
            try:
                rows.append(_checked_frames(file, spec.dim))
            except MMXError as exc:
                problems.add(file, f"{exc.message}; expert left missing", trailer)
        if rows:
            stacked = np.concatenate(rows)
            frames[expert] = stacked.mean(axis=0, keepdims=True) if spec.temporal == "pooled" else stacked
        else:
            frames[expert] = np.zeros((0, spec.dim), np.float32)
    if not any(len(f) for f in frames.values()):
        problems.add(clip_dir, "clip folder holds no usable expert feature; clip skipped", trailer)
        return None
    return frames


def read_trailer(trailer: TreeTrailer, experts: dict[str, ExpertSpec], clips_per_sequence: int, test_sampling: bool,
                  problems: ImportProblems):
    """All usable clips of a trailer grouped into sequences (scenes cut into runs of at most C clips)."""
    scenes: dict[str, Path] = {}
    listings: dict[str, tuple] = {}
    for genre, trailer_dir in trailer.copies:
        for scene in subdirs(trailer_dir):
            scenes.setdefault(scene.name, scene)
        listings[genre] = tuple((s.name, tuple(c.name for c in subdirs(s))) for s in subdirs(trailer_dir))
    if len(set(listings.values())) > 1:
        problems.add(trailer.copies[0][1], f"copies under genre folders {sorted(listings)} hold different scenes or "
                     "clips; using the union (first copy of each scene)", trailer.id)
    clip_counts, per_expert = [], {name: [] for name in experts}
    for name in sorted(scenes, key=natural_key):
        clips = [c for c in (read_clip(d, experts, test_sampling, problems, trailer.id) for d in subdirs(scenes[name]))
                 if c is not None]
        for start in range(0, len(clips), clips_per_sequence):
            chunk = clips[start:start + clips_per_sequence]
            clip_counts.append(len(chunk))
            for clip in chunk:
                for expert in experts:
                    per_expert[expert].append(clip[expert])
    if not clip_counts:
        return None
    # every clip holds an array per expert (0 rows: missing), so no list is empty here
    features = {expert: (np.concatenate(arrays), np.array([len(a) for a in arrays], dtype=np.int64))
                for expert, arrays in per_expert.items()}
    return np.array(clip_counts, dtype=np.int64), features
