"""The paper's metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

from mmx_core.base.errors import MMXError
from mmx_core.trailers.metrics import auprc_weighted, average_precision, genre_metrics, paired_bootstrap
from mmx_core.evaluate.thresholds import best_f1_threshold, tune_thresholds

# Two genres, four trailers; the expected values are worked out by hand in the comments.
SCORES = np.array([[0.9, 0.2], [0.8, 0.6], [0.4, 0.7], [0.1, 0.3]])
LABELS = np.array([[1, 0], [0, 1], [1, 1], [0, 1]])


def test_hand_computed_values():
    report = genre_metrics(SCORES, LABELS, ["A", "B"])
    # A: ranking + - + -: AP = 0.5 * 1 + 0.5 * 2/3; at 0.5 predicts [1,1,0,0]: P = R = F1 = 0.5.
    assert report.per_genre["A"]["auprc"] == pytest.approx(5 / 6)
    assert report.per_genre["A"]["f1"] == pytest.approx(0.5)
    # B: all three positives rank first: AP = 1; predicts [0,1,1,0]: P = 1, R = 2/3, F1 = 0.8.
    assert report.per_genre["B"]["auprc"] == pytest.approx(1.0)
    assert report.per_genre["B"]["f1"] == pytest.approx(0.8)
    assert report.per_genre["A"]["support"] == 2 and report.per_genre["B"]["support"] == 3
    # Weighted by support 2 and 3.
    assert report.f1_weighted == pytest.approx((2 * 0.5 + 3 * 0.8) / 5)
    assert report.precision_weighted == pytest.approx((2 * 0.5 + 3 * 1.0) / 5)
    assert report.recall_weighted == pytest.approx((2 * 0.5 + 3 * 2 / 3) / 5)
    assert report.auprc_weighted == pytest.approx((2 * 5 / 6 + 3 * 1.0) / 5)
    assert report.auprc_macro == pytest.approx((5 / 6 + 1.0) / 2)
    # Micro: pooled ranking + - + + + + - -, 5 positives: (1 + 2/3 + 3/4 + 4/5 + 5/6) / 5.
    assert report.auprc_micro == pytest.approx((1 + 2 / 3 + 3 / 4 + 4 / 5 + 5 / 6) / 5)
    assert report.n_trailers == 4


def test_matches_sklearn(rng):
    labels = (rng.random((300, 6)) < [0.05, 0.1, 0.2, 0.3, 0.5, 0.7]).astype(int)
    scores = np.clip(0.35 * labels + rng.random(labels.shape) * 0.65, 0, 1)
    report = genre_metrics(scores, labels)
    predictions = (scores >= 0.5).astype(int)
    for average in ("micro", "macro", "weighted"):
        assert getattr(report, f"auprc_{average}") == pytest.approx(average_precision_score(labels, scores, average=average))
    assert report.f1_weighted == pytest.approx(f1_score(labels, predictions, average="weighted", zero_division=0))
    assert report.precision_weighted == pytest.approx(precision_score(labels, predictions, average="weighted", zero_division=0))
    assert report.recall_weighted == pytest.approx(recall_score(labels, predictions, average="weighted", zero_division=0))


def test_perfect_scores_give_one(rng):
    labels = (rng.random((100, 5)) < 0.3).astype(int)
    labels[0] = 1
    report = genre_metrics(labels.astype(float), labels)
    for key in ("f1_weighted", "auprc_weighted", "precision_weighted", "recall_weighted", "auprc_micro", "auprc_macro"):
        assert getattr(report, key) == pytest.approx(1.0), key


def test_random_scores_give_prevalence(rng):
    prevalence = np.array([0.05, 0.2, 0.5])
    labels = (rng.random((20000, 3)) < prevalence).astype(int)
    report = genre_metrics(rng.random(labels.shape), labels, ["a", "b", "c"])
    for g, name in enumerate("abc"):
        assert report.per_genre[name]["auprc"] == pytest.approx(labels[:, g].mean(), abs=0.02)


def test_genre_without_positives_is_reported_not_dropped():
    labels = np.array([[1, 0], [0, 0], [1, 0]])
    scores = np.array([[0.9, 0.7], [0.1, 0.2], [0.8, 0.1]])
    report = genre_metrics(scores, labels, ["Drama", "Western"])
    assert set(report.per_genre) == {"Drama", "Western"}
    assert report.per_genre["Western"]["support"] == 0
    assert math.isnan(report.per_genre["Western"]["auprc"])
    # Left out of the averages: the macro and weighted AU(PRC) are Drama's alone.
    assert report.auprc_macro == pytest.approx(1.0)
    assert report.auprc_weighted == pytest.approx(1.0)
    assert report.f1_weighted == pytest.approx(1.0)


def test_per_genre_threshold_array():
    report = genre_metrics(SCORES, LABELS, ["A", "B"], threshold=np.array([0.3, 0.25]))
    # A at 0.3: predicts [1,1,1,0]: P = 2/3, R = 1, F1 = 0.8; B at 0.25: [0,1,1,1]: F1 = 1.
    assert report.per_genre["A"]["f1"] == pytest.approx(0.8)
    assert report.per_genre["B"]["f1"] == pytest.approx(1.0)
    assert report.per_genre["A"]["threshold"] == 0.3


@pytest.mark.parametrize(
    "scores, labels, match",
    [
        (np.zeros(3), np.zeros(3), "2-D"),
        (np.zeros((3, 2)), np.zeros((3, 3)), "differ in shape"),
        (np.zeros((0, 2)), np.zeros((0, 2)), "no trailers"),
        (np.array([[np.nan, 0.1]]), np.array([[1, 0]]), "NaN"),
        (np.array([[0.2, 0.1]]), np.array([[2, 0]]), "0 or 1"),
    ],
)
def test_bad_inputs(scores, labels, match):
    with pytest.raises(MMXError, match=match):
        genre_metrics(scores, labels)


def test_wrong_number_of_genre_names():
    with pytest.raises(MMXError, match="3 genre names for 2 score columns"):
        genre_metrics(SCORES, LABELS, ["a", "b", "c"])


def test_best_f1_threshold_separates_and_sits_between_scores():
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.7])
    labels = np.array([0, 0, 0, 1, 1])
    threshold = best_f1_threshold(scores, labels)
    assert threshold == pytest.approx(0.45)  # midpoint of 0.3 and 0.6
    assert best_f1_threshold(scores, np.zeros(5), default=0.5) == 0.5


def test_tune_thresholds_improves_validation_f1(rng):
    labels = (rng.random((400, 4)) < [0.05, 0.1, 0.3, 0.6]).astype(int)
    scores = np.clip(0.25 * labels + 0.3 * rng.random(labels.shape), 0, 1)  # mostly below 0.5
    thresholds = tune_thresholds(scores, labels)
    assert thresholds.shape == (4,)
    fixed = genre_metrics(scores, labels, threshold=0.5)
    tuned = genre_metrics(scores, labels, threshold=thresholds)
    assert tuned.f1_weighted > fixed.f1_weighted + 0.2
    for g in range(4):  # each threshold is F1-optimal on these scores
        best = max(f1_score(labels[:, g], scores[:, g] >= t) for t in np.unique(scores[:, g]))
        assert f1_score(labels[:, g], scores[:, g] >= thresholds[g]) == pytest.approx(best)


def test_average_precision_matches_sklearn_with_ties(rng):
    for _ in range(5):
        labels = (rng.random(200) < 0.3).astype(int)
        labels[0] = 1
        scores = np.round(rng.random(200), 1)  # many ties
        assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
    labels = (rng.random((150, 4)) < 0.3).astype(int)
    scores = rng.random(labels.shape)
    assert auprc_weighted(scores, labels) == pytest.approx(genre_metrics(scores, labels).auprc_weighted)


def test_paired_bootstrap_separates_a_better_model_from_a_tie(rng):
    labels = (rng.random((400, 5)) < 0.3).astype(int)
    good = np.clip(0.5 * labels + 0.6 * rng.random(labels.shape), 0, 1)
    weak = np.clip(0.1 * labels + 0.6 * rng.random(labels.shape), 0, 1)
    better = paired_bootstrap(auprc_weighted, good, weak, labels, n_resamples=200)
    assert better["low"] > 0 and better["p_not_better"] == 0
    assert better["low"] <= better["difference"] <= better["high"]
    tie = paired_bootstrap(auprc_weighted, good, good, labels, n_resamples=50)
    assert tie["difference"] == 0 and tie["low"] == 0 and tie["high"] == 0 and tie["p_not_better"] == 1
    with pytest.raises(MMXError, match="paired rows"):
        paired_bootstrap(auprc_weighted, good, weak[:10], labels)
