"""Report format, paper tables, baselines and the ``score`` command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmx_core.cli import main
from mmx_core.base.errors import MMXError
from mmx_core.evaluate.baselines import LinearProbe, random_scores
from mmx_core.trailers.metrics import genre_metrics
from mmx_core.evaluate.paper import load_table2, load_table3
from mmx_core.evaluate.predictions import load_predictions, save_predictions
from mmx_core.evaluate.report import abbreviation, format_markdown_summary, format_text, report_json

GENRES = ["Action", "Drama", "Western", "Thriller"]
KEYS = {"f1_weighted", "auprc_weighted", "precision_weighted", "recall_weighted", "auprc_micro", "auprc_macro", "per_genre"}


@pytest.fixture
def predictions(rng):
    labels = (rng.random((120, 4)) < [0.3, 0.5, 0.0, 0.2]).astype(int)
    scores = np.clip(0.3 * labels + 0.7 * rng.random(labels.shape), 0, 1)
    return scores, labels


def test_text_report_lists_every_genre_with_support(predictions):
    scores, labels = predictions
    fixed = genre_metrics(scores, labels, GENRES)
    tuned = genre_metrics(scores, labels, GENRES, threshold=np.array([0.4, 0.3, 0.5, 0.45]))
    text = format_text([("t=0.5", fixed), ("tuned", tuned)], title="demo")
    lines = text.splitlines()
    assert lines[0] == "demo"
    header = lines[2].split()
    assert header == ["Actn", "Drma", "Wstrn", "Thrll"]
    support = lines[3].split()
    assert support == ["Support", *(str(int(s)) for s in labels.sum(axis=0))]
    assert lines[4].split()[0] == "t=0.5" and lines[4].split()[3] == "-"  # Western: no positives
    assert f"{fixed.per_genre['Action']['f1']:.2f}" == lines[4].split()[1]
    summary_header = next(line for line in lines if "AU(PRC)w" in line).split()
    assert summary_header == ["F1w", "AU(PRC)w", "Pw", "Rw", "AU(PRC)mi", "AU(PRC)ma"]
    assert f"{fixed.auprc_weighted:.3f}" in text and f"{tuned.f1_weighted:.3f}" in text
    assert "No positives in this split (support 0, left out of the averages): Western" in text
    assert "Thresholds of row 'tuned'" in text


def test_abbreviations_follow_table2_without_the_swap():
    assert abbreviation("Thriller") == "Thrll"
    assert abbreviation("Western") == "Wstrn"
    assert abbreviation("Sci-Fi") == "SciFi"
    assert abbreviation("Martial arts") == "Martialarts"


def test_json_report_has_contract_keys_and_null_for_missing(predictions):
    scores, labels = predictions
    result = report_json(genre_metrics(scores, labels, GENRES), genre_metrics(scores, labels, GENRES, 0.4))
    assert KEYS <= set(result) and KEYS <= set(result["tuned"])
    assert result["per_genre"]["Western"] == {**result["per_genre"]["Western"], "support": 0, "auprc": None}
    assert set(result["per_genre"]["Action"]) >= {"f1", "support", "auprc"}
    json.dumps(result, allow_nan=False)


def test_markdown_summary_prints_dash_for_missing():
    text = format_markdown_summary([("ours", {"f1_weighted": 0.5, "auprc_weighted": float("nan")})])
    assert text.splitlines()[0].startswith("| Model | F1w | AU(PRC)w")
    assert text.splitlines()[2] == "| ours | 0.500 | - | - | - | - | - |"


def test_paper_table2_undoes_the_swap_and_reads_table3():
    table = load_table2()
    assert len(table.support) == 20
    assert table.support["Thriller"] == 181 and table.support["Western"] == 12
    full = table.rows["MMX-Trailer-20"]
    assert full.per_genre_f1["Thriller"] == 0.64 and full.per_genre_f1["Western"] == 0.13
    assert (full.f1_weighted, full.auprc_weighted, full.precision_weighted, full.recall_weighted) == (0.597, 0.583, 0.554, 0.697)
    assert (full.auprc_micro, full.auprc_macro) == (0.456, 0.589)
    assert table.rows["Naive Concat"].auprc_weighted == 0.497
    methods = {row.name: row for row in load_table3()}
    assert np.isnan(methods["Moviescope"].auprc_weighted)


def test_paper_table_bad_file(tmp_path):
    bad = tmp_path / "table2.csv"
    bad.write_text("Model,Actn,Oops\nSupport,1,2\n")
    with pytest.raises(MMXError, match=r"unknown columns \['Oops'\]"):
        load_table2(bad)
    with pytest.raises(MMXError, match="not found"):
        load_table2(tmp_path / "nope.csv")


def test_random_scores_are_uniform_and_seeded():
    a = random_scores(1000, 3, seed=1)
    assert a.shape == (1000, 3) and a.min() >= 0 and a.max() < 1
    assert abs(a.mean() - 0.5) < 0.03
    np.testing.assert_array_equal(a, random_scores(1000, 3, seed=1))
    with pytest.raises(MMXError, match="n_trailers=0"):
        random_scores(0, 3)


def test_linear_probe_learns_a_linear_signal_and_handles_constant_genres(rng):
    X = rng.normal(size=(400, 8))
    Y = np.stack([(X[:, 0] > 0), (X[:, 1] + X[:, 2] > 1), np.zeros(400)], axis=1).astype(int)
    probe = LinearProbe().fit(X[:300], Y[:300])
    scores = probe.predict_proba(X[300:])
    assert scores.shape == (100, 3)
    report = genre_metrics(scores, Y[300:])
    assert report.per_genre["genre_0"]["auprc"] > 0.95 and report.per_genre["genre_1"]["auprc"] > 0.9
    np.testing.assert_array_equal(scores[:, 2], 0.0)  # training prevalence of a genre without positives
    with pytest.raises(MMXError, match="not fitted"):
        LinearProbe().predict_proba(X)


def test_score_cli_json(tmp_path, predictions, capsys):
    scores, labels = predictions
    path = save_predictions(tmp_path / "pred.npz", scores, labels, GENRES)
    val = save_predictions(tmp_path / "val.npz", scores[::-1], labels[::-1], GENRES)
    assert main(["score", str(path), "--json", "--tune-on", str(val)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert KEYS <= set(result)
    assert list(result["per_genre"]) == GENRES
    assert result["per_genre"]["Western"]["support"] == 0 and result["per_genre"]["Western"]["auprc"] is None
    expected = genre_metrics(scores, labels, GENRES)
    assert result["auprc_weighted"] == pytest.approx(expected.auprc_weighted)
    assert result["tuned"]["f1_weighted"] >= result["f1_weighted"]


def test_score_cli_text_without_genres(tmp_path, predictions, capsys):
    scores, labels = predictions
    np.savez(tmp_path / "p.npz", scores=scores, labels=labels)
    assert main(["score", str(tmp_path / "p.npz")]) == 0
    out = capsys.readouterr().out
    assert "genre_0" in out and "AU(PRC)w" in out


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"scores": np.zeros((2, 2))}, r"missing array\(s\) \['labels'\]"),
        ({"scores": np.zeros((2, 2)), "labels": np.zeros((2, 3))}, "differ in shape"),
        ({"scores": np.zeros((2, 2)), "labels": np.full((2, 2), 3)}, "0 or 1"),
        ({"scores": np.zeros((2, 2)), "labels": np.zeros((2, 2)), "genres": np.array(["a"])}, "1 genre names for 2"),
        ({"scores": np.zeros((2, 2)), "labels": np.zeros((2, 2)), "genres": np.array(["a", "a"])}, "repeat"),
        ({"scores": np.array([["x", "y"]]), "labels": np.zeros((1, 2))}, "numeric"),
        ({"scores": np.array([[1, None]], dtype=object), "labels": np.zeros((1, 2))}, "pickled"),
    ],
)
def test_score_cli_bad_files_name_the_file(tmp_path, arrays, match, capsys):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(MMXError, match=match) as info:
        load_predictions(path)
    assert str(path) in str(info.value)
    assert main(["score", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_score_cli_not_an_npz(tmp_path, capsys):
    path = tmp_path / "scores.npz"
    path.write_text("scores,labels\n")
    assert main(["score", str(path)]) == 2
    assert f"error: {path}: not an .npz file" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "missing.npz")]) == 2
    assert "not found" in capsys.readouterr().err
