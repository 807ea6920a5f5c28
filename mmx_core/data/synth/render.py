"""Rendering of expert features from trailer latents (:class:`FeatureRenderer`): sequences, clips, frames, styles.

The model (the noise of each level, the latent coordinates and style each expert sees) is described in
:mod:`mmx_core.data.synth`.
"""

from __future__ import annotations

import numpy as np

from mmx_core.data.manifest import ExpertSpec
from mmx_core.data.synth.config import SynthConfig

__all__ = ["FeatureRenderer"]


class FeatureRenderer:
    """Fixed random maps latent -> expert features; renders batches of trailers."""

    def __init__(self, cfg: SynthConfig, experts: dict[str, ExpertSpec], latent_dim: int, rng: np.random.Generator):
        self.cfg, self.experts, self.latent_dim = cfg, experts, latent_dim
        n_e = len(experts)
        vis = np.array([cfg.visibility.get(e, 0.4) if isinstance(cfg.visibility, dict) else cfg.visibility
                        for e in experts])
        seen = rng.random((n_e, latent_dim)) < vis[:, None]
        orphan = ~seen.any(axis=0)
        seen[rng.integers(0, n_e, size=orphan.sum()), np.flatnonzero(orphan)] = True
        self.maps = {}
        for i, (name, spec) in enumerate(experts.items()):
            n_in = int(seen[i].sum()) + cfg.style_dim
            w = rng.standard_normal((latent_dim + cfg.style_dim, spec.dim)) / np.sqrt(n_in)
            w[:latent_dim][~seen[i]] = 0.0
            self.maps[name] = w.astype(np.float32)
        # drawn after the maps and only when used, so style_looks=0 keeps earlier data sets bit-identical
        self.looks = ({name: rng.standard_normal((cfg.style_looks, cfg.style_dim)).astype(np.float32)
                       for name in experts} if cfg.style_looks else None)

    def render(self, z: np.ndarray, rng: np.random.Generator):
        """Render trailers with latents ``z`` (n, L): returns (sequence_counts, clip_counts, features)."""
        cfg, n = self.cfg, len(z)
        n_seq = rng.integers(cfg.sequences[0], cfg.sequences[1] + 1, size=n)
        c = cfg.clips_per_sequence
        short = rng.random(n_seq.sum()) < cfg.short_sequence_rate
        clip_counts = np.where(short, rng.integers(max(1, c - 4), c, size=n_seq.sum()) if c > 1 else c, c)
        seq_trailer = np.repeat(np.arange(n), n_seq)
        clip_seq = np.repeat(np.arange(len(clip_counts)), clip_counts)
        clip_trailer = seq_trailer[clip_seq]
        n_clips = len(clip_seq)
        z = z.astype(np.float32)
        def normal(*shape: int) -> np.ndarray:
            return rng.standard_normal(shape, dtype=np.float32)

        seq_lat = z[seq_trailer] + cfg.sequence_noise * normal(len(seq_trailer), self.latent_dim)
        clip_lat = seq_lat[clip_seq] + cfg.clip_noise * normal(n_clips, self.latent_dim)
        features = {}
        look = rng.integers(0, cfg.style_looks, size=n) if self.looks else None  # one look per trailer, all experts
        for name, spec in self.experts.items():
            style = cfg.style_strength * (normal(n, cfg.style_dim) if look is None else self.looks[name][look])
            shift = self._corruption_shift(z, rng)  # None when expert_corruption == 0 (no draws: same files)
            if spec.temporal == "frames":
                frame_counts = rng.integers(cfg.audio_frames[0], cfg.audio_frames[1] + 1, size=n_clips)
                frame_counts[rng.random(n_clips) < cfg.missing_audio] = 0
                frame_clip = np.repeat(np.arange(n_clips), frame_counts)
                lat = clip_lat[frame_clip] + cfg.frame_noise * normal(len(frame_clip), self.latent_dim)
                owner = clip_trailer[frame_clip]
            else:
                frame_counts = np.ones(n_clips, dtype=np.int64)
                lat, owner = clip_lat, clip_trailer
            if shift is not None:
                lat = lat + shift[owner]
            x = np.concatenate([lat, style[owner]], axis=1) @ self.maps[name]
            x += cfg.feature_noise * normal(*x.shape)
            features[name] = (x, frame_counts)
        return n_seq, clip_counts, features

    def _corruption_shift(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        """Per-trailer latent offsets (n, L) that swap a corrupted trailer's latent for another's, else None."""
        p, n = self.cfg.expert_corruption, len(z)
        if p <= 0 or n < 2:
            return None
        bad = rng.random(n) < p
        other = (np.arange(n) + rng.integers(1, n, size=n)) % n  # never the trailer itself
        return (z[other] - z) * bad[:, None].astype(z.dtype)
