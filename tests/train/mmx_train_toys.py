"""Tiny expert dims, model sizes and data sets shared by the training tests."""

from __future__ import annotations

from mmx_core.data import synthesize

TINY_DIMS = {"image": 12, "scene": 12, "motion": 6, "audio": 4}
TINY_MODEL = dict(shared_dim=8, sequence_dim=16, bottleneck_dim=12, gating_hidden=8, head_hidden=16,
                  projection_dim=8, vlad_clusters=3, train_sequences=3)
TINY_MODEL_ARGS = ["--shared-dim", "8", "--sequence-dim", "16", "--bottleneck-dim", "12", "--gating-hidden", "8",
                   "--head-hidden", "16", "--projection-dim", "8", "--vlad-clusters", "3", "--train-sequences", "3"]


def make_set(path, n=96, seed=1, dims=None):
    return synthesize(path, n_trailers=n, seed=seed, latent="planted", dims=dims or TINY_DIMS, latent_dim=8,
                      subgenres_per_genre=2)

