"""Write a generated trailer data set: planted or published latents rendered into expert features, batch by batch.

The model is described in :mod:`mmx_core.data.synth`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mmx_core.base.constraints import Int
from mmx_core.base.errors import MMXError
from mmx_core.base.output_writer import output_lock
from mmx_core.base.outputs import DATASET, check_output
from mmx_core.base.progress import progress
from mmx_core.data.synth.config import SynthConfig
from mmx_core.data.synth.latents import planted_trailers, published_trailers
from mmx_core.data.synth.render import FeatureRenderer
from mmx_core.data.writer import DatasetWriter

__all__ = ["synthesize", "estimate_size_bytes"]

_BATCH = 64  # trailers rendered at a time; part of the determinism contract (do not change per run)


def estimate_size_bytes(n_trailers: int, cfg: SynthConfig | None = None) -> int:
    """Expected bytes on disk of a generated set (float16 features dominate)."""
    cfg = cfg or SynthConfig()
    c = cfg.clips_per_sequence
    mean_clips = (1 - cfg.short_sequence_rate) * c + cfg.short_sequence_rate * (max(1, c - 4) + c - 1) / 2
    clips = n_trailers * np.mean(cfg.sequences) * mean_clips
    per_clip = 0.0
    for spec in cfg.experts().values():
        frames = (1 - cfg.missing_audio) * np.mean(cfg.audio_frames) if spec.temporal == "frames" else 1.0
        per_clip += 2 * spec.dim * frames + 8
    return int(clips * per_clip)


def synthesize(out: str | Path, n_trailers: int | None = 1000, seed: int = 0, *, overwrite: bool = False,
               command: str | None = None, **knobs: Any) -> Path:
    """Generate a trailer data set and write it to ``out``.

    Parameters
    ----------
    out : str or Path
        Destination folder (must not exist unless ``overwrite``).
    n_trailers : int or None
        Number of trailers; None with ``latent="published"`` = all 7,594.
    seed : int
        The same seed and knobs give byte-identical features.
    overwrite : bool
        Replace an existing data set at ``out``.
    command : str, optional
        The command line, recorded in the manifest.
    **knobs
        Fields of :class:`SynthConfig` (``latent``, ``dims``, ...).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    check_output(out, DATASET, overwrite=overwrite)   # before any work: an unsafe --out touches nothing
    try:
        cfg = SynthConfig(**knobs)
    except TypeError as exc:
        raise MMXError(f"unknown generator knob: {exc}") from None
    cfg.validate()
    Int(1, none=True).check("n_trailers", n_trailers)
    if n_trailers is None and cfg.latent == "planted":
        raise MMXError("n_trailers is required with latent='planted'")
    rng = np.random.default_rng([seed, 0])
    if cfg.latent == "planted":
        genres, rows, z = planted_trailers(cfg, n_trailers, rng)
        source = "generated: planted sub-genre latents (mmx_core.data.synth)"
    else:
        genres, rows, z = published_trailers(cfg, n_trailers, rng)
        source = "generated expert features from the authors' published embeddings as latents (mmx_core.data.synth)"
    experts = cfg.experts()
    renderer = FeatureRenderer(cfg, experts, z.shape[1], np.random.default_rng([seed, 1]))
    params = {"command": command or "synth", "step": "synth", "trailers": len(rows), "seed": seed, **cfg.to_params()}
    with output_lock(out, "the data set"):     # one writer of ``out`` (and its staging folder) at a time
        writer = DatasetWriter(out, genres, experts, cfg.clips_per_sequence, generated=True, generator=params,
                               source=source, overwrite=overwrite)
        try:
            starts = range(0, len(rows), _BATCH)
            for b, start in enumerate(progress(starts, "generating trailers")):
                stop = min(start + _BATCH, len(rows))
                n_seq, clip_counts, features = renderer.render(z[start:stop], np.random.default_rng([seed, 2, b]))
                writer.add_trailers(rows[start:stop], n_seq, clip_counts, features)
            return writer.finish()
        except BaseException:
            writer.abort()  # a generated set is cheap to redo: leave nothing behind
            raise
