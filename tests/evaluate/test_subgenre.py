"""Sub-genre recovery metrics and the generated blocks of docs/results.md."""

from __future__ import annotations

import numpy as np
import pytest

from mmx_core.base.errors import MMXError
from mmx_core.evaluate.results_doc import DEFAULT_HEADER, update_block
from mmx_core.studies.subgenre_metrics import (
    chance_precision_at_k,
    cluster_agreement,
    precision_at_k,
    subgenre_recovery,
)


def test_precision_at_k_hand_computed():
    # Two tight pairs along different axes plus one point between them.
    X = np.array([[1.0, 0.0], [0.99, 0.05], [0.0, 1.0], [0.05, 0.99], [0.71, 0.69]])
    truth = np.array(["a", "a", "b", "b", "a"])
    # k=1: a0->a1 yes, a1->a0 yes, b2->b3 yes, b3->b2 yes, a4 -> a1: cos (0.7029+0.0345)/(0.991*0.990) = 0.752
    # beats b3: (0.0355+0.6831)/(0.991*0.990) = 0.732.
    assert precision_at_k(X, truth, k=1) == pytest.approx(1.0)
    # k=2: a0 -> {a1, a4}: 2/2; a1 -> {a0, a4}: 2/2; b2 -> {b3, a4}: 1/2; b3 -> {b2, a4}: 1/2; a4 -> {a1, b3}: 1/2.
    assert precision_at_k(X, truth, k=2) == pytest.approx((1 + 1 + 0.5 + 0.5 + 0.5) / 5)
    with pytest.raises(MMXError, match="k=5 must be between 1 and n_trailers - 1 = 4"):
        precision_at_k(X, truth, k=5)


def test_chance_precision():
    truth = np.array(["a"] * 3 + ["b"] * 2)
    # a: 3 trailers with 2 same-sub-genre others out of 4; b: 2 with 1 of 4 -> (3*2 + 2*1) / (5*4)
    assert chance_precision_at_k(truth) == pytest.approx(8 / 20)


def test_cluster_agreement_counts_noise_as_a_label():
    truth = np.array(["a", "a", "b", "b", "c", "c"])
    perfect = cluster_agreement(np.array([0, 0, 1, 1, 2, 2]), truth)
    assert perfect["ari"] == pytest.approx(1.0) and perfect["nmi"] == pytest.approx(1.0)
    assert perfect["n_clusters"] == 3 and perfect["noise_fraction"] == 0
    noisy = cluster_agreement(np.array([0, 0, 1, 1, -1, -1]), truth)
    assert noisy["ari"] == pytest.approx(1.0)  # the noise group is exactly sub-genre c
    mixed = cluster_agreement(np.array([0, -1, 1, -1, 2, -1]), truth)
    assert mixed["ari"] < 0.5 and mixed["noise_fraction"] == 0.5 and mixed["n_clusters"] == 3
    with pytest.raises(MMXError, match="5 cluster labels for 6"):
        cluster_agreement(np.zeros(5), truth)


def test_recovery_separated_sub_genres_vs_noise(rng):
    centres = rng.normal(size=(6, 16)) * 3
    truth = np.repeat(np.arange(6), 40)
    X = centres[truth] + rng.normal(size=(240, 16)) * 0.5
    good = subgenre_recovery(X, truth.astype(str), space="raw", min_cluster_size=10)
    assert good.ari > 0.95 and good.nmi > 0.95 and good.precision_at_k > 0.95
    assert good.n_subgenres == 6 and good.n_trailers == 240
    bad = subgenre_recovery(rng.normal(size=(240, 16)), truth.astype(str), space="raw", min_cluster_size=10)
    assert bad.ari < 0.1 and bad.precision_at_k < 0.35  # chance is 39/239 = 0.16
    with pytest.raises(MMXError, match="space='tsne'"):
        subgenre_recovery(X, truth, space="tsne")


def test_update_block_keeps_hand_written_text(tmp_path):
    path = tmp_path / "results.md"
    update_block(path, "ablation", "table v1")
    text = path.read_text()
    assert text.startswith(DEFAULT_HEADER) and "table v1" in text
    path.write_text(text.replace("# Results", "# Results\n\nWritten by hand.") + "\nMore by hand.\n")
    update_block(path, "subgenre", "recovery v1")
    update_block(path, "ablation", "table v2")
    text = path.read_text()
    assert "Written by hand." in text and "More by hand." in text
    assert "table v2" in text and "table v1" not in text and "recovery v1" in text
    assert text.index("table v2") < text.index("More by hand.") < text.index("recovery v1")
    path.write_text(text.replace("<!-- END GENERATED: ablation -->", ""))
    with pytest.raises(MMXError, match="without '<!-- END GENERATED: ablation -->'"):
        update_block(path, "ablation", "table v3")
