"""evaluate, score, ablate and subgenre-eval end to end on a tiny generated set (1 epoch, tiny dims)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from mmx_core.trailers.embeddings import load_embeddings
from mmx_core.cli import main
from mmx_core.data import TrailerStore
from mmx_core.evaluate import genre_metrics
from mmx_core.evaluate.baselines import random_scores
from mmx_core.evaluate.predictions import load_predictions
from mmx_core.studies.subgenre import pooled_features
from mmx_core.studies.subgenre_metrics import chance_precision_at_k, precision_at_k

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:The number of unique classes is greater than 50%:UserWarning")]

SMALL_MODEL = {"shared_dim": 8, "sequence_dim": 16, "bottleneck_dim": 16, "gating_hidden": 8, "head_hidden": 16,
               "projection_dim": 8, "vlad_clusters": 2, "train_sequences": 2}
CONTRACT_KEYS = {"f1_weighted", "auprc_weighted", "precision_weighted", "recall_weighted", "auprc_micro",
                 "auprc_macro", "per_genre"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_pipeline")
    data = root / "tiny"
    assert main(["synth", "--out", str(data), "--trailers", "80", "--seed", "5",
                 "--dims", "image=8,scene=8,motion=4,audio=4"]) == 0
    config = root / "small.json"
    config.write_text(json.dumps(SMALL_MODEL))
    return root, data, config


VARIANTS = ["random", "image-only", "naive-concat", "full-model", "fine-emb-probe"]


@pytest.fixture(scope="module")
def ablation(tiny):
    """The ablation, run once for the module: its command line, results file and printed JSON."""
    root, data, config = tiny
    out = root / "results.md"
    argv = ["ablate", "--data", str(data), "--work", str(root / "work"), "--epochs", "1", "--batch-size", "16",
            "--model-config", str(config), "--out", str(out), "--json", "--variants", ",".join(VARIANTS)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(argv) == 0
    return argv, out, json.loads(printed.getvalue())


def test_ablate_writes_results_and_json(tiny, ablation):
    root, data, _ = tiny
    argv, out, result = ablation
    names = [r["variant"]["name"] for r in result["results"]]
    assert names == ["Random", "Image only", "Naive Concat", "Full model", "Fine emb. + probe"]
    for slug, r in zip(VARIANTS, result["results"]):
        assert CONTRACT_KEYS <= set(r["fixed"]) and CONTRACT_KEYS <= set(r["tuned"])
        # every row is the score of the predictions file it wrote
        saved = load_predictions(root / "work" / "predictions" / f"{slug}-test.npz")
        assert r["fixed"]["auprc_weighted"] == pytest.approx(genre_metrics(saved.scores, saved.labels).auprc_weighted)
    random_row = load_predictions(root / "work" / "predictions" / "random-test.npz")
    assert np.allclose(random_row.scores, random_scores(*random_row.scores.shape, seed=1))  # --seed 0, test: 0 + 1
    assert (root / "work" / "ablation.json").exists()
    assert (root / "work" / "runs" / "fine" / "status.json").exists()
    text = out.read_text()
    assert "not comparable" in text  # the default header says what the numbers are on
    assert "| *MMX-Trailer-20 (paper)* | 0.597 | 0.583 | 0.554 | 0.697 | 0.456 | 0.589 |" in text
    assert "| *Naive Concat (paper)* | 0.525 | 0.497 |" in text
    assert f"python -m mmx_core ablate --data {data}" in text
    assert "Goal (issue 4): the full model's AU(PRC)w" in text
    assert "- Naive Concat: " in text and "- Image only: " in text  # bootstrap intervals of the rivals
    assert set(result["comparisons"]) == {"Image only", "Naive Concat"}
    assert (root / "work" / "predictions" / "full-model-test.npz").exists()
    assert "| *Support (paper)* | 130 | 197 |" in text


def test_ablate_again_reuses_runs_and_keeps_hand_text(tiny, ablation, capsys):
    root, _, _ = tiny
    argv, out, _ = ablation
    out.write_text(out.read_text() + "\nHand-written note.\n")
    checkpoint = root / "work" / "runs" / "full-model" / "checkpoints" / "last.pt"
    before = checkpoint.stat().st_mtime_ns
    assert main(argv) == 0
    capsys.readouterr()
    assert checkpoint.stat().st_mtime_ns == before
    assert "Hand-written note." in out.read_text()
    # Other settings in the same work folder: refused, nothing overwritten.
    other = [("2" if a == "1" else a) for a in argv]
    assert main(other) == 2
    assert "holds a run with other settings (epochs: run has 1, wanted 2)" in capsys.readouterr().err
    assert checkpoint.stat().st_mtime_ns == before


def test_evaluate_json_and_predictions_round_trip(tiny, ablation, capsys):
    root, data, _ = tiny
    run = root / "work" / "runs" / "full-model"
    predictions = root / "pred.npz"
    assert main(["evaluate", "--data", str(data), "--model", str(run), "--split", "test", "--json",
                 "--save-predictions", str(predictions)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert CONTRACT_KEYS <= set(result) and CONTRACT_KEYS <= set(result["tuned"])
    assert len(result["per_genre"]) == 20
    assert main(["score", str(predictions), "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    for key in CONTRACT_KEYS - {"per_genre"}:
        assert scored[key] == pytest.approx(result[key], nan_ok=True)
    assert main(["evaluate", "--data", str(data), "--model", str(run), "--split", "test"]) == 0
    text = capsys.readouterr().out
    assert "Support" in text and "tuned on val" in text and "AU(PRC)w" in text
    assert main(["evaluate", "--data", str(data), "--model", str(run), "--split", "val"]) == 2
    assert "--tune-split val equals --split" in capsys.readouterr().err


def test_subgenre_eval_on_given_checkpoints(tiny, ablation, capsys):
    root, data, _ = tiny
    coarse, fine = root / "work" / "runs" / "full-model", root / "work" / "runs" / "fine"
    out = root / "subgenre-results.md"
    assert main(["subgenre-eval", "--data", str(data), "--coarse", str(coarse), "--fine", str(fine),
                 "--work", str(root / "sub"), "--space", "raw", "--min-cluster-size", "5", "--out", str(out),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["rows"]) == {"coarse", "fine", "pooled expert features"}
    for row in result["rows"].values():
        assert {"ari", "nmi", "precision_at_k", "n_clusters", "noise_fraction", "probe_accuracy"} <= set(row)
    store = TrailerStore.open(data)
    truth = store.trailers["subgenre"].to_numpy().astype(str)
    assert result["n_trailers"] == 80 and result["chance_precision"] == pytest.approx(chance_precision_at_k(truth))
    # each row is precision@10 of that embedding over all trailers, in store order
    assert result["rows"]["pooled expert features"]["precision_at_k"] == pytest.approx(
        precision_at_k(pooled_features(store), truth, k=10))
    for name in ("coarse", "fine"):
        saved = load_embeddings(root / "sub" / "embeddings" / f"{name}.npz")
        assert saved.ids.tolist() == store.trailers["id"].astype(str).tolist()
        assert result["rows"][name]["precision_at_k"] == pytest.approx(precision_at_k(saved.vectors, truth, k=10))
    assert result["comparison"]["low"] <= result["comparison"]["difference"] <= result["comparison"]["high"]
    # The saved embeddings give the same scores without the checkpoints.
    assert main(["subgenre-eval", "--data", str(data), "--coarse", str(root / "sub" / "embeddings" / "coarse.npz"),
                 "--fine", str(root / "sub" / "embeddings" / "fine.npz"), "--work", str(root / "sub2"),
                 "--space", "raw", "--min-cluster-size", "5", "--out", "-", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["rows"]["fine"]["precision_at_k"] == pytest.approx(result["rows"]["fine"]["precision_at_k"])
    text = out.read_text()
    assert "<!-- BEGIN GENERATED: subgenre-all -->" in text and "| *chance* |" in text


def test_ablate_bad_options(tiny, capsys):
    _, data, _ = tiny
    assert main(["ablate", "--data", str(data), "--variants", "full-model,transformer", "--out", "-"]) == 2
    assert "--variants: unknown ['transformer']" in capsys.readouterr().err
    for option, value, message in (("--fine-lr", "0", "must be a finite number > 0, got '0'"),
                                   ("--patience", "-1", "must be an integer >= 0, got '-1'"),  # 0: no early stopping
                                   ("--fine-patience", "-2", "must be an integer >= 0, got '-2'")):
        with pytest.raises(SystemExit) as refused:
            main(["ablate", "--data", str(data), option, value, "--out", "-"])
        err = capsys.readouterr().err
        assert refused.value.code == 2 and len(err.strip().splitlines()) == 1
        assert f"argument {option}: {message}" in err


def test_subgenre_eval_bad_options_and_no_subgenre_column(tmp_path, tiny, capsys):
    import shutil

    import pandas as pd

    _, data, _ = tiny
    with pytest.raises(SystemExit) as refused:
        main(["subgenre-eval", "--data", str(data), "--coarse", "x", "--fine", "y", "--k", "0"])
    assert refused.value.code == 2 and "argument --k: must be an integer >= 1, got '0'" in capsys.readouterr().err
    copy = tmp_path / "no_subgenre"
    shutil.copytree(data, copy)
    table = pd.read_parquet(copy / "trailers.parquet").drop(columns=["subgenre"])
    table.to_parquet(copy / "trailers.parquet")
    assert main(["subgenre-eval", "--data", str(copy), "--coarse", "x", "--fine", "y", "--out", "-"]) == 2
    assert "has no 'subgenre' column" in capsys.readouterr().err


def test_subgenre_eval_trains_a_fixed_budget_fine_stage(tiny, ablation, capsys):
    """--fine-patience 0: the fine stage runs every epoch and the scored checkpoint is the last one."""
    root, data, _ = tiny
    coarse = root / "work" / "runs" / "full-model"
    work = root / "fixed-budget"
    assert main(["subgenre-eval", "--data", str(data), "--coarse", str(coarse), "--fine-epochs", "2",
                 "--batch-size", "16", "--patience", "1", "--fine-patience", "0", "--fine-lr", "1e-12",
                 "--work", str(work), "--space", "raw", "--min-cluster-size", "5", "--no-probe", "--out", "-",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "--fine-patience 0" in result["command"]
    fine_run = work / "runs" / "fine"
    assert json.loads((fine_run / "config.json").read_text())["train"]["patience"] == 0
    best = torch.load(fine_run / "checkpoints" / "best.pt", weights_only=True)
    assert best["epoch"] == 2  # kept although lr 1e-12 cannot have improved the validation loss
