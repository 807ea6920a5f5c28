"""Generated trailer data sets with known structure (``python -m mmx_core synth``).

Two kinds of trailer latents drive the same renderer of expert features:

``planted``
    Each genre holds ``subgenres_per_genre`` sub-genres. A trailer draws 1..6
    genres (frequencies proportional to the paper's test-set support, about 3
    labels on average); its first-drawn genre is its primary genre and it
    draws one of that genre's sub-genres uniformly, so sibling sub-genres have
    the same genre-label distribution. Its latent is::

        z_t = genre_strength * sum_{j in genres(t)} g_j / sqrt(|genres(t)|)
            + subgenre_strength * c_{subgenre(t)} + trailer_noise * n_t

    with g_j, c_k, n_t ~ N(0, I_L). Genre supervision sees g; the sub-genre
    content c is shared by all of the trailer's sequences, so a contrastive
    objective over two halves of a trailer can separate siblings.

``published``
    z_t is the top ``latent_dim`` principal components of the authors'
    published embedding of trailer t (unit-normalised, one global scale so
    the mean per-component variance is ``genre_strength**2``), so generated
    experts inherit the real neighbourhood structure, titles, years and TMDB
    genres (no ``subgenre`` column). The manifest says ``generated: true``.

Rendering (both): sequence latent = z_t + sequence_noise * eps, clip latent =
sequence latent + clip_noise * eps, audio frame latent = clip latent +
frame_noise * eps. Expert e sees only a random part of the latent
coordinates (each coordinate visible with probability ``visibility``, at least
one expert per coordinate) plus a per-trailer, per-expert "style" vector
(``style_strength``, shared by all the trailer's clips), mapped to its dim by a
fixed random matrix, plus ``feature_noise``. So every expert carries part of
the genre signal and its own nuisance, and fusing experts beats any one.

This module writes the set; the knobs live in :mod:`mmx_core.data.synth_config`,
the latents in :mod:`mmx_core.data.synth_latents` and the rendering in
:mod:`mmx_core.data.synth_render`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.outputs import DATASET, check_output, output_lock
from mmx_core.base.progress import progress
from mmx_core.data.synth_config import SynthConfig
from mmx_core.data.synth_latents import LABEL_CARDINALITY, planted_label_sets, planted_trailers, published_trailers
from mmx_core.data.synth_render import FeatureRenderer
from mmx_core.data.writer import DatasetWriter

__all__ = ["SynthConfig", "synthesize", "LABEL_CARDINALITY", "planted_label_sets", "estimate_size_bytes"]

log = logging.getLogger(__name__)

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
    cfg.check()
    if n_trailers is not None and n_trailers < 1:
        raise MMXError(f"--trailers must be >= 1, got {n_trailers}")
    if n_trailers is None and cfg.latent == "planted":
        raise MMXError("--trailers is required with --latent planted")
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
