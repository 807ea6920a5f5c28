"""The ablation of Table 2: every baseline and model variant on one data set.

Variants (each scored on the test split at threshold 0.5 and with per-genre
thresholds tuned on the validation split):

- ``Random``: uniform scores;
- one model per expert (``experts=(e,)``; with a single expert there is
  nothing to gate, so ``fusion="gem"``);
- ``Naive Concat``: ``fusion="concat"``;
- ``No gating (GEM)``: ``fusion="gem"`` over all experts;
- ``Full model``: ``fusion="collaborative"`` (the paper's MMX-Trailer-20 row);
- ``Coarse emb. + probe`` / ``Fine emb. + probe``: a logistic-regression probe
  per genre on the full model's bottleneck, before and after the contrastive
  fine stage.

Models are trained through :func:`mmx_core.train.train`; a run folder whose
status says ``finished`` is reused, so an interrupted ablation picks up where
it stopped.

This module chains the steps; the rows and result types live in
:mod:`mmx_core.studies.ablate_variants`, one variant's run in
:mod:`mmx_core.studies.ablate_runs` and the comparison and docs block in
:mod:`mmx_core.studies.ablate_table`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mmx_core.base.artefacts import write_json
from mmx_core.base.errors import MMXError
from mmx_core.studies.ablate_runs import VariantRunner, stage_settings
from mmx_core.studies.ablate_table import compare_to_full
from mmx_core.studies.ablate_variants import AblationResult, Variant, default_variants

__all__ = ["run_ablation"]


def run_ablation(data: str | Path, work_dir: str | Path, *, epochs: int = 5, fine_epochs: int | None = None,
                 batch_size: int | None = None, seed: int = 0, model_overrides: dict[str, Any] | None = None,
                 variants: list[Variant] | None = None, device: str = "auto", command: str = "",
                 lr: float | None = None, fine_lr: float | None = None, patience: int | None = None,
                 fine_patience: int | None = None) -> AblationResult:
    """Train and score every variant on ``data``; runs go under ``work_dir/runs``.

    Parameters
    ----------
    data : path
        A trailer data set with train, val and test splits.
    work_dir : path
        Folder of the runs and of ``ablation.json``.
    epochs, fine_epochs : int
        Epochs of every coarse run and of the fine stage (default: ``epochs``).
    batch_size : int, optional
        Batch size of every run (:data:`~mmx_core.studies.RUN_DEFAULTS` when None).
    lr, fine_lr, patience : optional
        Learning rate of the coarse runs and of the fine stage, early-stopping
        patience of every run (the stage recipe's rate and :data:`~mmx_core.studies.RUN_DEFAULTS` when None).
    fine_patience : int, optional
        Patience of the fine stage (default ``patience``; 0 = no early stopping, keep the last epoch).
    model_overrides : dict, optional
        ModelConfig fields shared by every model variant (e.g. a small
        configuration); ``fusion`` and ``experts`` are set per variant.
    variants : list of Variant, optional
        Default: :func:`default_variants` of the data's experts.
    """
    from mmx_core.data import TrailerStore

    start = time.perf_counter()
    data, work_dir = Path(data), Path(work_dir)
    store = TrailerStore.open(data)
    variants = default_variants(list(store.manifest.experts)) if variants is None else variants
    overrides = _shared_overrides(model_overrides)
    val_labels, test_labels = (store.labels()[store.split_indices(split)] for split in ("val", "test"))
    if len(val_labels) == 0 or len(test_labels) == 0:
        raise MMXError("the data set needs trailers in both the val and the test split", data)
    settings = {"epochs": epochs, "fine_epochs": epochs if fine_epochs is None else fine_epochs,
                "batch_size": batch_size, "seed": seed, "model_overrides": overrides, "device": device, "lr": lr,
                "fine_lr": fine_lr, "patience": patience, "fine_patience": fine_patience}
    result = AblationResult(data=str(data), data_summary=_data_summary(store), settings=settings, command=command)
    stages = stage_settings(**{key: value for key, value in settings.items() if key != "model_overrides"})
    runner = VariantRunner(store, data, work_dir, overrides, *stages)
    genres = list(store.manifest.genres)
    result.results = [runner.run(variant, val_labels, test_labels, genres) for variant in variants]
    result.comparisons = compare_to_full(result, test_labels, seed=seed)
    result.seconds = time.perf_counter() - start
    write_json(work_dir / "ablation.json", result.to_dict())
    return result


def _shared_overrides(model_overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The ModelConfig overrides shared by every model variant (``fusion`` and ``experts`` are per variant)."""
    overrides = dict(model_overrides or {})
    for key in ("fusion", "experts"):
        if key in overrides:
            raise MMXError(f"model override {key!r} is set per variant; leave it out of the shared overrides")
    return overrides


def _data_summary(store) -> dict[str, Any]:
    manifest = store.manifest
    summary = {
        "n_trailers": int(store.n_trailers),
        "splits": {s: int(len(store.split_indices(s))) for s in ("train", "val", "test")},
        "experts": {name: spec.dim for name, spec in manifest.experts.items()},
        "generated": bool(manifest.generated),
        "fingerprint": store.fingerprint,
    }
    for attribute in ("generator", "source", "params"):
        value = getattr(manifest, attribute, None)
        if value:
            summary[attribute] = value
    return summary
