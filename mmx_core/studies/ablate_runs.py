"""One variant's run in the ablation: train (or reuse) its model, score val and test, evaluate, save predictions."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmx_core.base.artefacts import read_json
from mmx_core.base.errors import MMXError
from mmx_core.evaluate.baselines import LinearProbe, random_scores
from mmx_core.evaluate.predictions import save_predictions
from mmx_core.evaluate.report import json_safe
from mmx_core.evaluate.thresholds import evaluate_scores
from mmx_core.studies import RUN_DEFAULTS
from mmx_core.studies.ablate_variants import FULL, Variant, VariantResult

__all__ = ["train_variant", "stage_settings", "VariantRunner"]

log = logging.getLogger(__name__)


def _finished(run_dir: Path) -> bool:
    status = run_dir / "status.json"
    return status.exists() and read_json(status).get("state") == "finished"


def _settings_differ(run_dir: Path, wanted: dict[str, Any]) -> list[str]:
    """Settings of an existing run (its config.json) that differ from ``wanted``."""
    config_path = run_dir / "config.json"
    if not config_path.exists():
        return []
    saved = read_json(config_path)
    train_saved = saved.get("train", saved)
    differ = []
    for key, value in wanted.items():
        have = train_saved.get(key) if key != "data_fingerprint" else saved.get(key)
        if key == "model" and value is not None and isinstance(have, dict):
            have = {k: have.get(k) for k in value}
        if have != value:
            differ.append(f"{key}: run has {have!r}, wanted {value!r}")
    return differ


def train_variant(store, data: Path, run_dir: Path, *, stage: str, epochs: int, batch_size: int | None, seed: int,
                  model_overrides: dict[str, Any], init: Path | None = None, device: str = "auto",
                  lr: float | None = None, patience: int | None = None) -> Path:
    """Train one run (or reuse a finished one with the same settings) and return its folder.

    A run folder holding a run with other settings (epochs, batch size, seed,
    model, start checkpoint, data) raises :class:`MMXError` rather than being
    reused or overwritten.
    """
    from mmx_core.model import ModelConfig
    from mmx_core.train import TrainConfig, train

    model = ModelConfig.for_store(store.manifest, **model_overrides) if stage == "coarse" else None
    given = {key: value for key, value in (("batch_size", batch_size), ("lr", lr), ("patience", patience))
             if value is not None}
    config = TrainConfig(**{**RUN_DEFAULTS, **given}, stage=stage, data=data, out=run_dir, init=init, epochs=epochs,
                         seed=seed, model=model, device=device)
    wanted = {"stage": stage, "epochs": epochs, "batch_size": config.batch_size, "seed": seed,
              "lr": config.lr, "patience": config.patience,
              "init": None if init is None else str(init), "data_fingerprint": store.fingerprint}
    if model is not None:
        wanted["model"] = json_safe(model.to_dict())
    differ = _settings_differ(run_dir, wanted)
    if differ:
        raise MMXError("this run folder holds a run with other settings (" + "; ".join(differ) + "); pass another "
                       "--work folder or delete the run", run_dir)
    if _finished(run_dir):
        log.info("reusing finished run %s", run_dir)
        return run_dir
    config.resume = (run_dir / "checkpoints" / "last.pt").exists()
    log.info("training %s (%s, %d epochs)", run_dir.name, stage, epochs)
    return Path(train(config))


def stage_settings(*, epochs: int, fine_epochs: int | None, batch_size: int | None, seed: int, device: str,
                   lr: float | None, fine_lr: float | None, patience: int | None,
                   fine_patience: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The :func:`train_variant` settings of the coarse runs and of the fine stage: the fine stage's epochs and
    patience default to the coarse ones, its learning rate to the fine recipe's."""
    coarse = dict(epochs=epochs, batch_size=batch_size, seed=seed, device=device, lr=lr, patience=patience)
    fine = {**coarse, "epochs": epochs if fine_epochs is None else fine_epochs, "lr": fine_lr,
            "patience": patience if fine_patience is None else fine_patience}
    return coarse, fine


@dataclass
class VariantRunner:
    """Runs the variants of one ablation: the shared training settings, and where runs and predictions go.

    ``overrides`` are the ModelConfig fields shared by every model variant; ``coarse`` and ``fine`` the
    :func:`train_variant` settings of the coarse runs and of the fine stage (:func:`stage_settings`).
    """

    store: Any
    data: Path
    work_dir: Path
    overrides: dict[str, Any]
    coarse: dict[str, Any]
    fine: dict[str, Any]

    def run(self, variant: Variant, val_labels: np.ndarray, test_labels: np.ndarray, genres: list[str]) -> VariantResult:
        """Score ``variant`` on val and test, evaluate it and save its predictions."""
        t0 = time.perf_counter()
        val_scores, test_scores, run_dir = self.scores(variant, len(val_labels), len(test_labels), len(genres))
        fixed, tuned, thresholds = evaluate_scores(val_scores, val_labels, test_scores, test_labels, genres)
        for split, scores, labels in (("val", val_scores, val_labels), ("test", test_scores, test_labels)):
            save_predictions(self.work_dir / "predictions" / f"{variant.slug}-{split}.npz", scores, labels, genres)
        result = VariantResult(variant, fixed, tuned, thresholds, time.perf_counter() - t0,
                               None if run_dir is None else str(run_dir), test_scores=test_scores)
        log.info("%s: AU(PRC)w %.3f, F1w %.3f (tuned %.3f)", variant.name, fixed.auprc_weighted, fixed.f1_weighted,
                 tuned.f1_weighted)
        return result

    def scores(self, variant: Variant, n_val: int, n_test: int,
               n_genres: int) -> tuple[np.ndarray, np.ndarray, Path | None]:
        """Val and test scores of ``variant`` and the run folder they come from (None for ``Random``)."""
        store, seed = self.store, self.coarse["seed"]
        if variant.kind == "random":
            return (random_scores(n_val, n_genres, seed=seed), random_scores(n_test, n_genres, seed=seed + 1), None)
        if variant.kind == "model":
            from mmx_core.train import load_checkpoint, predict_scores

            model_overrides_v = {**self.overrides, "fusion": variant.fusion}
            if variant.experts is not None:
                model_overrides_v["experts"] = variant.experts
            run_dir = self._train(variant.slug, model_overrides_v)
            checkpoint = load_checkpoint(run_dir)
            val_scores, _ = predict_scores(store, checkpoint, "val")
            test_scores, _ = predict_scores(store, checkpoint, "test")
            return val_scores, test_scores, run_dir
        if variant.kind == "probe":
            return self._probe_scores(variant)
        raise MMXError(f"variant {variant.name!r} has unknown kind {variant.kind!r}")

    def _train(self, slug: str, model_overrides: dict[str, Any]) -> Path:
        """A coarse run of the shared settings under ``runs/<slug>``."""
        return train_variant(self.store, self.data, self.work_dir / "runs" / slug, stage="coarse",
                             model_overrides=model_overrides, **self.coarse)

    def _probe_scores(self, variant: Variant) -> tuple[np.ndarray, np.ndarray, Path]:
        """A logistic-regression probe per genre on the full model's coarse or fine bottleneck."""
        from mmx_core.train import embed_store, load_checkpoint
        from mmx_core.train.checkpoint import run_checkpoint

        store = self.store
        run_dir = self._train(Variant(FULL, "model").slug, {**self.overrides, "fusion": "collaborative"})
        if variant.embedding == "fine":
            coarse_best = run_checkpoint(run_dir)
            run_dir = train_variant(store, self.data, self.work_dir / "runs" / "fine", stage="fine", init=coarse_best,
                                    model_overrides={}, **self.fine)
        _, vectors = embed_store(store, load_checkpoint(run_dir), device=self.coarse["device"])  # in store order
        train_rows = store.split_indices("train")
        probe = LinearProbe().fit(vectors[train_rows], store.labels()[train_rows])
        val_scores = probe.predict_proba(vectors[store.split_indices("val")])
        test_scores = probe.predict_proba(vectors[store.split_indices("test")])
        return val_scores, test_scores, run_dir

