"""Generator style nuisance: a style per trailer (default) or one of K production looks shared by all experts."""

from __future__ import annotations

import numpy as np
import pytest

from mmx_core.data import TrailerStore
from mmx_core.data.synth import synthesize
from mmx_core.base.errors import MMXError

from mmx_data_helpers import TINY_DIMS

# every part of the features switched off but the style, so each clip row *is* its trailer's style
STYLE_ONLY = dict(genre_strength=0.0, subgenre_strength=0.0, trailer_noise=0.0, sequence_noise=0.0, clip_noise=0.0,
                  frame_noise=0.0, feature_noise=0.0, dims=TINY_DIMS, sequences=(1, 2))


def _distinct_trailer_styles(store: TrailerStore, expert: str) -> tuple[int, np.ndarray]:
    """Number of distinct per-trailer feature rows of ``expert`` and each trailer's style id (first clip)."""
    rows = np.stack([store.read(t).features[expert][0, 0, 0] for t in range(store.n_trailers)])
    unique, style_id = np.unique(rows.round(3), axis=0, return_inverse=True)
    return len(unique), style_id.reshape(-1)


def test_default_style_is_shared_by_a_trailers_clips_and_differs_between_trailers(tmp_path):
    store = TrailerStore.open(synthesize(tmp_path / "s", 40, seed=3, **STYLE_ONLY))
    distinct, _ = _distinct_trailer_styles(store, "image")
    assert distinct == 40
    clips = store.read(0).features["image"]  # (S, C, 1, D): every clip of the trailer is the same style
    assert np.allclose(clips, clips[0, 0, 0], atol=1e-3)


def test_style_looks_are_few_and_one_look_per_trailer_across_experts(tmp_path):
    store = TrailerStore.open(synthesize(tmp_path / "s", 60, seed=3, style_looks=3, **STYLE_ONLY))
    n_image, image_look = _distinct_trailer_styles(store, "image")
    n_scene, scene_look = _distinct_trailer_styles(store, "scene")
    assert n_image == n_scene == 3
    # the same trailers share a look in every expert (one look per trailer, not one per expert)
    pairs = set(zip(image_look.tolist(), scene_look.tolist()))
    assert len(pairs) == 3


def test_style_looks_zero_draws_nothing_extra(tmp_path):
    a = TrailerStore.open(synthesize(tmp_path / "a", 12, seed=5, dims=TINY_DIMS))
    b = TrailerStore.open(synthesize(tmp_path / "b", 12, seed=5, dims=TINY_DIMS, style_looks=0))
    c = TrailerStore.open(synthesize(tmp_path / "c", 12, seed=5, dims=TINY_DIMS, style_looks=4))
    assert np.array_equal(a.read(3).features["motion"], b.read(3).features["motion"])
    assert not np.allclose(a.read(3).features["motion"], c.read(3).features["motion"])


def test_negative_style_looks_is_refused(tmp_path):
    with pytest.raises(MMXError, match="style_looks=-1: must be an integer >= 0"):
        synthesize(tmp_path / "x", 5, style_looks=-1)
