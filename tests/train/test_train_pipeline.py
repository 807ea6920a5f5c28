"""Both stages end to end on a tiny generated set: run folder, events, inference, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmx_train_toys import TINY_MODEL, TINY_MODEL_ARGS
from mmx_core.cli import main
from mmx_core.data import TrailerStore
from mmx_core.trailers.embeddings import load_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.model import ModelConfig
from mmx_core.train import TrainConfig, embed_store, load_checkpoint, predict_scores, train


@pytest.fixture(scope="module")
def runs(tiny_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    store = TrailerStore.open(tiny_data)
    model = ModelConfig.for_store(store.manifest, **TINY_MODEL)
    coarse = train(TrainConfig(stage="coarse", data=tiny_data, out=root / "coarse", epochs=3, batch_size=16,
                               model=model, log_every=2))
    fine = train(TrainConfig(stage="fine", data=tiny_data, out=root / "fine", epochs=2, batch_size=16, init=coarse))
    return store, coarse, fine


def _events(run):
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def test_run_folder_contents(runs):
    store, coarse, fine = runs
    for run, stage in ((coarse, "coarse"), (fine, "fine")):
        assert (run / "checkpoints" / "last.pt").exists() and (run / "checkpoints" / "best.pt").exists()
        status = json.loads((run / "status.json").read_text())
        assert status["state"] == "finished" and status["progress"] == 1.0 and status["stage"] == stage
        assert status["best_checkpoint"].endswith("best.pt")
        config = json.loads((run / "config.json").read_text())
        assert config["train"]["stage"] == stage and config["model"]["shared_dim"] == 8
        events = _events(run)
        kinds = [e["event"] for e in events]
        assert kinds[0] == "start" and kinds[-1] == "end" and "step" in kinds
        step = next(e for e in events if e["event"] == "step")
        for key in ("time", "stage", "epoch", "epochs", "step", "total_steps", "loss", "lr", "trailers_per_s", "eta_s"):
            assert key in step, key
        epochs = [e for e in events if e["event"] == "epoch"]
        assert [e["epoch"] for e in epochs] == list(range(1, len(epochs) + 1))
        assert ("auprc_weighted" if stage == "coarse" else "val_loss") in epochs[-1]["val"]


def test_best_checkpoint_is_the_best_epoch(runs):
    _, coarse, _ = runs
    events = [e for e in _events(coarse) if e["event"] == "epoch"]
    best = max(events, key=lambda e: e["val"]["auprc_weighted"])
    checkpoint = load_checkpoint(coarse)  # a run folder means its best.pt
    assert checkpoint.path.name == "best.pt" and checkpoint.epoch == best["epoch"]
    assert checkpoint.best_metric == pytest.approx(best["val"]["auprc_weighted"])
    assert load_checkpoint(coarse / "checkpoints" / "last.pt").epoch == 3


def test_fine_starts_from_the_coarse_best_checkpoint_and_moves_its_embedding(runs):
    """Whether the fine stage *improves* the embedding: tests/train/test_learning.py."""
    store, coarse, fine = runs
    coarse_best, fine_best = load_checkpoint(coarse), load_checkpoint(fine)
    assert coarse_best.path.name == "best.pt" and fine_best.stage == "fine"
    # The fine stage freezes the coarse head, so it still holds the weights of the coarse best epoch, bit for
    # bit; a fine run started from a fresh model would hold the coarse run's initial weights instead.
    start = coarse_best.model.coarse_head.state_dict()
    assert start.keys() == fine_best.model.coarse_head.state_dict().keys()
    for name, tensor in fine_best.model.coarse_head.state_dict().items():
        assert torch.equal(tensor, start[name]), name
    ids_c, coarse_vectors = embed_store(store, coarse)
    ids_f, fine_vectors = embed_store(store, fine_best)
    assert (ids_c == store.trailers["id"].to_numpy()).all() and (ids_f == ids_c).all()
    assert coarse_vectors.shape == fine_vectors.shape == (store.n_trailers, 12) and np.isfinite(fine_vectors).all()
    assert not np.allclose(coarse_vectors, fine_vectors)  # the encoder itself was trained


def test_predict_scores_are_probabilities(runs):
    store, coarse, _ = runs
    scores, labels = predict_scores(store, coarse, "test")
    n = len(store.split_indices("test"))
    assert scores.shape == labels.shape == (n, len(store.genres))
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (labels == store.labels()[store.split_indices("test")]).all()


def test_embeddings_are_deterministic(runs):
    store, coarse, _ = runs
    assert np.array_equal(embed_store(store, coarse)[1], embed_store(store, coarse)[1])


def test_cli_train_and_embed(tiny_data, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--stage", "coarse", "--data", str(tiny_data), "--out", str(out), "--epochs", "1",
                 "--batch-size", "16", "--fusion", "concat", "--experts", "image,audio", *TINY_MODEL_ARGS])
    assert code == 0
    checkpoint = load_checkpoint(out)
    assert checkpoint.config.fusion == "concat" and checkpoint.config.experts == ("image", "audio")
    target = tmp_path / "emb.npz"
    assert main(["embed", "--data", str(tiny_data), "--model", str(out), "--out", str(target)]) == 0
    loaded = load_embeddings(target)
    assert loaded.generated and len(loaded) == 96 and loaded.dim == 12
    assert (target.parent / "emb.npz.json").exists()
    # an existing run is never silently overwritten
    assert main(["train", "--stage", "coarse", "--data", str(tiny_data), "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


def test_fine_needs_init(tiny_data, tmp_path):
    with pytest.raises(MMXError, match="--init"):
        train(TrainConfig(stage="fine", data=tiny_data, out=tmp_path / "f"))


@pytest.mark.parametrize("kwargs,match", [
    ({"stage": "medium"}, "stage='medium'"), ({"epochs": 0}, "epochs=0"), ({"device": "tpu"}, "device='tpu'"),
    ({"stage": "fine", "batch_size": 1}, "at least 2"),
])
def test_train_config_errors(tiny_data, tmp_path, kwargs, match):
    with pytest.raises(MMXError, match=match):
        train(TrainConfig(**{"data": tiny_data, "out": tmp_path / "r", **kwargs}))
