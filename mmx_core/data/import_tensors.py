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

from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import regular_file
from mmx_core.data.import_tree import EXPERT_FOLDERS, ImportProblems, TreeTrailer, natural_key, subdirs
from mmx_core.data.manifest import ExpertSpec

__all__ = ["load_tensor", "read_clip", "read_trailer"]


def load_tensor(file: Path, dim: int, problems: ImportProblems, trailer: str) -> np.ndarray | None:
    """Frames of one .pt file as float32 (n, dim), or None (reported) when unusable."""
    import torch

    try:
        regular_file(file, "tensor file")
    except MMXError as exc:
        problems.add(file, f"{exc.message}; expert left missing", trailer)
        return None
    try:
        value = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt, truncated or refused (malicious) files alike
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.add(file, f"cannot read tensor with weights_only=True ({reason[:200]}); expert left missing", trailer)
        return None
    if not isinstance(value, torch.Tensor):
        problems.add(file, f"holds {type(value).__name__}, not a tensor; expert left missing", trailer)
        return None
    shape = tuple(value.shape)
    if len(shape) not in (1, 2) or shape[-1] != dim or 0 in shape:
        problems.add(file, f"tensor of shape {shape}, expected last dim {dim} in a shape ({dim},), (1, {dim}) or "
                     f"(n, {dim}); expert left missing", trailer)
        return None
    try:
        array = value.detach().to(torch.float32).numpy().reshape(-1, dim)
    except (RuntimeError, TypeError) as exc:  # e.g. a complex or quantised tensor
        problems.add(file, f"tensor of dtype {value.dtype} cannot be read as float ({str(exc)[:120]}); expert left "
                     "missing", trailer)
        return None
    if not np.isfinite(array).all() or (np.abs(array) > 65000).any():
        problems.add(file, "tensor holds NaN/Inf or values beyond float16 range; expert left missing", trailer)
        return None
    return array


def read_clip(clip_dir: Path, experts: dict[str, ExpertSpec], test_sampling: bool, problems: ImportProblems,
               trailer: str) -> dict[str, np.ndarray] | None:
    """Per expert the clip's frames (0 rows = missing); None when the clip folder holds no feature."""
    folders: dict[str, Path] = {}
    for sub in subdirs(clip_dir):
        name, is_test = sub.name, sub.name.startswith("test-")
        base = name[5:] if is_test else name
        if base not in EXPERT_FOLDERS or is_test != test_sampling:
            continue
        expert = EXPERT_FOLDERS[base]
        if expert in experts:
            folders.setdefault(expert, sub)
    frames = {}
    for expert, spec in experts.items():
        rows = []
        if expert in folders:
            for file in sorted(folders[expert].glob("*.pt"), key=lambda p: natural_key(p.name)):
                array = load_tensor(file, spec.dim, problems, trailer)
                if array is not None:
                    rows.append(array)
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
    features = {}
    for expert, spec in experts.items():
        arrays = per_expert[expert]
        features[expert] = (np.concatenate(arrays) if arrays else np.zeros((0, spec.dim), np.float32),
                            np.array([len(a) for a in arrays], dtype=np.int64))
    return np.array(clip_counts, dtype=np.int64), features
