"""Helpers of the data tests: tiny dims and trees of the authors' feature layout."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

TINY_DIMS = {"image": 6, "scene": 5, "motion": 4, "audio": 3}
AUTHOR_FOLDERS = {"image": "img-embeddings", "scene": "location-embeddings", "motion": "video-embeddings",
                  "audio": "audio-embeddings"}


class Payload:
    """Pickles to a call of os.system: what a malicious file would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def write_clip(clip_dir: Path, rng: np.random.Generator, dims=TINY_DIMS, audio_frames: int = 2,
               frames: int = 2, motion_folder: str = "video-embeddings", prefix: str = "") -> dict[str, np.ndarray]:
    """Write one clip's expert folders; returns the frames written per expert (float32 (n, D))."""
    written = {}
    for expert, dim in dims.items():
        n = audio_frames if expert == "audio" else frames
        if n == 0:
            continue
        folder = clip_dir / (prefix + (motion_folder if expert == "motion" else AUTHOR_FOLDERS[expert]))
        folder.mkdir(parents=True, exist_ok=True)
        data = rng.normal(size=(n, dim)).astype(np.float32)
        for i in range(n):
            torch.save(torch.from_numpy(data[i:i + 1].copy()), folder / f"{i}.pt")
        written[expert] = data
    return written


def write_trailer(root: Path, genres_dirs: list[str], trailer: str, meta, rng: np.random.Generator,
                  scenes: list[int] = (3, 2), **clip_kwargs) -> dict:
    """One trailer under each of ``genres_dirs`` (identical copies); returns {(scene, clip): frames}."""
    written = {}
    clip_rng_state = rng.bit_generator.state
    for genre in genres_dirs:
        rng.bit_generator.state = clip_rng_state  # identical copies in every genre folder
        for s, n_clips in enumerate(scenes):
            scene = root / genre / trailer / f"scene{s}"
            scene.mkdir(parents=True, exist_ok=True)
            if meta is not None:
                (scene / "meta.pkl").write_bytes(pickle.dumps(meta))
            for c in range(n_clips):
                written[(s, c)] = write_clip(scene / f"{c}", rng, **clip_kwargs)
    return written
