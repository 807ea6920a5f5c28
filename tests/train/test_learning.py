"""The model learns: both stages, trained by the library's loop on a small planted set, beat their baselines.

One planted set for both tests: 1,000 trailers, small expert dims, two sub-genres a genre, the generator's
per-trailer style nuisance off and the sub-genre content stronger than its default (docs/data-format.md), so
that a few epochs of a small model show both effects clearly. Measured by hand on data seeds 0-4 (training
seed 0, the settings below, one torch thread):

- coarse test-split AU(PRC)w minus the random baseline's: +0.251, +0.187, +0.212, +0.261, +0.149;
- sub-genre precision@10 over all trailers, fine minus coarse: +0.113, +0.119, +0.159, +0.093, +0.180
  (coarse 0.24-0.36, chance 0.04).

The tests run data seed 1 and assert margins below the smallest of those five: +0.10 and +0.05. With the
learning rates at 1e-9 (nothing learnt) the same run gives -0.017 and +0.000, so both tests fail when training
does not learn. Both tests together take about 10 s of CPU on one core.
"""

from __future__ import annotations

import pytest

from mmx_core.data import TrailerStore, synthesize
from mmx_core.evaluate import genre_metrics
from mmx_core.evaluate.baselines import random_scores
from mmx_core.model import ModelConfig
from mmx_core.studies.subgenre import run_subgenre_experiment
from mmx_core.train import TrainConfig, predict_scores, train

DATA_SEED = 1
PLANTED = dict(latent="planted", dims={"image": 32, "scene": 32, "motion": 16, "audio": 8}, latent_dim=16,
               subgenres_per_genre=2, style_strength=0.0, subgenre_strength=1.5)
SMALL_MODEL = dict(shared_dim=16, sequence_dim=32, bottleneck_dim=32, gating_hidden=16, head_hidden=32,
                   projection_dim=16, vlad_clusters=4, train_sequences=3)
AUPRC_MARGIN = 0.10  # smallest measured gain over random: +0.149 (seed 4)
PRECISION_MARGIN = 0.05  # smallest measured fine-minus-coarse gain: +0.093 (seed 3)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The planted set (read-only for the tests)."""
    return synthesize(tmp_path_factory.mktemp("learning") / "planted", n_trailers=1000, seed=DATA_SEED, **PLANTED)


@pytest.fixture(scope="module")
def coarse_run(planted, tmp_path_factory):
    """8 coarse epochs, every epoch kept (no early stopping), the last one scored."""
    model = ModelConfig.for_store(TrailerStore.open(planted).manifest, **SMALL_MODEL)
    return train(TrainConfig(stage="coarse", data=planted, out=tmp_path_factory.mktemp("learning") / "coarse",
                             epochs=8, batch_size=16, lr=3e-3, patience=0, seed=0, device="cpu", model=model))


@pytest.fixture(scope="module")
def fine_run(planted, coarse_run, tmp_path_factory):
    """10 fine epochs from the coarse run, the fine stage's recipe: a fixed budget, the last epoch kept."""
    return train(TrainConfig(stage="fine", data=planted, out=tmp_path_factory.mktemp("learning") / "fine",
                             init=coarse_run, epochs=10, batch_size=32, lr=1e-3, patience=0, seed=0, device="cpu"))


def test_coarse_training_beats_random_scores_on_auprc_weighted(planted, coarse_run):
    scores, labels = predict_scores(planted, coarse_run, split="test", device="cpu")
    trained = genre_metrics(scores, labels).auprc_weighted
    random = genre_metrics(random_scores(*labels.shape, seed=0), labels).auprc_weighted
    assert trained >= random + AUPRC_MARGIN, f"coarse AU(PRC)w {trained:.3f} vs random {random:.3f}"


def test_fine_stage_beats_coarse_at_subgenre_precision_at_10(planted, coarse_run, fine_run):
    experiment = run_subgenre_experiment(planted, {"coarse": coarse_run, "fine": fine_run}, split="all", k=10,
                                         space="raw", min_cluster_size=5, device="cpu", reference=False,
                                         probe=False)
    coarse = experiment.rows["coarse"].precision_at_k
    fine = experiment.rows["fine"].precision_at_k
    assert coarse > 2 * experiment.chance_precision  # two working embeddings are compared, not a broken one
    assert fine >= coarse + PRECISION_MARGIN, f"precision@10 fine {fine:.3f} vs coarse {coarse:.3f}"
    # the gain holds over resampled trailers, not only on average
    assert experiment.comparison["low"] > 0, experiment.comparison
