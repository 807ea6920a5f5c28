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
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.errors import MMXError
from mmx_core.evaluate.baselines import LinearProbe, random_scores
from mmx_core.base.metrics import GenreReport, auprc_weighted, genre_metrics, paired_bootstrap
from mmx_core.evaluate.predictions import save_predictions
from mmx_core.evaluate.paper import load_table2
from mmx_core.evaluate.report import format_markdown_per_genre, format_markdown_summary, json_safe
from mmx_core.evaluate.thresholds import tune_thresholds

__all__ = [
    "Variant", "default_variants", "VariantResult", "AblationResult", "run_ablation", "train_variant",
    "evaluate_scores", "compare_to_full", "rows_in_store_order", "ablation_markdown",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Variant:
    """One row of the ablation.

    Parameters
    ----------
    name : str
        Row name.
    kind : {"random", "model", "probe"}
    fusion : str, optional
        ModelConfig.fusion of a ``model`` variant.
    experts : tuple of str, optional
        ModelConfig.experts of a ``model`` variant (None = all the data's experts).
    embedding : {"coarse", "fine"}, optional
        Bottleneck a ``probe`` variant reads (of the full model).
    paper_row : str, optional
        Name of the matching row of the paper's Table 2.
    """

    name: str
    kind: str
    fusion: str | None = None
    experts: tuple[str, ...] | None = None
    embedding: str | None = None
    paper_row: str | None = None

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


FULL = "Full model"
PAPER_EXPERT_ROWS = {"image": "Image", "scene": "Scene", "motion": "Motion", "audio": "Audio"}


def default_variants(experts: list[str], probes: bool = True) -> list[Variant]:
    """The ablation rows for a data set with the given experts (in the paper's order)."""
    variants = [Variant("Random", "random", paper_row="Random")]
    for expert in experts:
        variants.append(Variant(f"{expert.capitalize()} only", "model", fusion="gem", experts=(expert,),
                                paper_row=PAPER_EXPERT_ROWS.get(expert)))
    variants += [
        Variant("Naive Concat", "model", fusion="concat", paper_row="Naive Concat"),
        Variant("No gating (GEM)", "model", fusion="gem"),
        Variant(FULL, "model", fusion="collaborative", paper_row="MMX-Trailer-20"),
    ]
    if probes:
        variants += [Variant("Coarse emb. + probe", "probe", embedding="coarse"),
                     Variant("Fine emb. + probe", "probe", embedding="fine")]
    return variants


@dataclass
class VariantResult:
    variant: Variant
    fixed: GenreReport
    tuned: GenreReport
    thresholds: np.ndarray
    seconds: float
    run_dir: str | None = None
    test_scores: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "variant": dataclasses.asdict(self.variant),
            "fixed": self.fixed.to_dict(),
            "tuned": self.tuned.to_dict(),
            "thresholds": self.thresholds.tolist(),
            "seconds": self.seconds,
            "run_dir": self.run_dir,
        }


@dataclass
class AblationResult:
    data: str
    data_summary: dict[str, Any]
    settings: dict[str, Any]
    command: str
    results: list[VariantResult] = field(default_factory=list)
    seconds: float = 0.0
    comparisons: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return json_safe({"data": self.data, "data_summary": self.data_summary, "settings": self.settings,
                          "command": self.command, "seconds": self.seconds,
                          "results": [r.to_dict() for r in self.results], "comparisons": self.comparisons})

    def get(self, name: str) -> VariantResult | None:
        return next((r for r in self.results if r.variant.name == name), None)


def evaluate_scores(val_scores, val_labels, test_scores, test_labels, genres) -> tuple[GenreReport, GenreReport, np.ndarray]:
    """Test metrics at threshold 0.5 and with per-genre thresholds tuned on validation."""
    thresholds = tune_thresholds(val_scores, val_labels, genres)
    fixed = genre_metrics(test_scores, test_labels, genres, threshold=0.5)
    tuned = genre_metrics(test_scores, test_labels, genres, threshold=thresholds)
    return fixed, tuned, thresholds


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

    model = None
    if stage == "coarse":
        model = ModelConfig.for_store(store.manifest, **model_overrides)
    kwargs = dict(stage=stage, data=data, out=run_dir, init=init, epochs=epochs, seed=seed, model=model,
                  device=device)
    for key, value in (("batch_size", batch_size), ("lr", lr), ("patience", patience)):
        if value is not None:
            kwargs[key] = value
    config = TrainConfig(**kwargs)
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


def _split_labels(store, split: str) -> np.ndarray:
    return store.labels()[store.split_indices(split)]


def run_ablation(
    data: str | Path,
    work_dir: str | Path,
    *,
    epochs: int = 5,
    fine_epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    model_overrides: dict[str, Any] | None = None,
    variants: list[Variant] | None = None,
    device: str = "auto",
    command: str = "",
    lr: float | None = None,
    fine_lr: float | None = None,
    patience: int | None = None,
    fine_patience: int | None = None,
) -> AblationResult:
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
        Batch size of every run (the trainer's default when None).
    lr, fine_lr, patience : optional
        Learning rate of the coarse runs and of the fine stage, early-stopping
        patience of every run (the trainer's defaults when None).
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
    data = Path(data)
    work_dir = Path(work_dir)
    store = TrailerStore.open(data)
    genres = list(store.manifest.genres)
    if variants is None:
        variants = default_variants(list(store.manifest.experts))
    if fine_epochs is None:
        fine_epochs = epochs
    overrides = dict(model_overrides or {})
    for key in ("fusion", "experts"):
        if key in overrides:
            raise MMXError(f"model override {key!r} is set per variant; leave it out of the shared overrides")
    val_labels, test_labels = _split_labels(store, "val"), _split_labels(store, "test")
    if len(val_labels) == 0 or len(test_labels) == 0:
        raise MMXError("the data set needs trailers in both the val and the test split", data)
    settings = {"epochs": epochs, "fine_epochs": fine_epochs, "batch_size": batch_size, "seed": seed,
                "model_overrides": overrides, "device": device, "lr": lr, "fine_lr": fine_lr, "patience": patience,
                "fine_patience": fine_patience}
    result = AblationResult(data=str(data), data_summary=_data_summary(store), settings=settings, command=command)
    runs = work_dir / "runs"
    common = dict(epochs=epochs, batch_size=batch_size, seed=seed, device=device, patience=patience)

    def full_run() -> Path:
        return train_variant(store, data, runs / Variant(FULL, "model").slug, stage="coarse",
                             model_overrides={**overrides, "fusion": "collaborative"}, lr=lr, **common)

    for variant in variants:
        t0 = time.perf_counter()
        run_dir = None
        if variant.kind == "random":
            val_scores = random_scores(len(val_labels), len(genres), seed=seed)
            test_scores = random_scores(len(test_labels), len(genres), seed=seed + 1)
        elif variant.kind == "model":
            from mmx_core.train import load_checkpoint, predict_scores

            model_overrides_v = {**overrides, "fusion": variant.fusion}
            if variant.experts is not None:
                model_overrides_v["experts"] = variant.experts
            run_dir = train_variant(store, data, runs / variant.slug, stage="coarse",
                                    model_overrides=model_overrides_v, lr=lr, **common)
            checkpoint = load_checkpoint(run_dir)
            val_scores, _ = predict_scores(store, checkpoint, "val")
            test_scores, _ = predict_scores(store, checkpoint, "test")
        elif variant.kind == "probe":
            from mmx_core.train import embed_store, load_checkpoint
            from mmx_core.train.checkpoint import run_checkpoint

            run_dir = full_run()
            if variant.embedding == "fine":
                coarse_best = run_checkpoint(run_dir)
                run_dir = train_variant(store, data, runs / "fine", stage="fine", init=coarse_best,
                                        model_overrides={}, epochs=fine_epochs, batch_size=batch_size, seed=seed,
                                        device=device, lr=fine_lr,
                                        patience=patience if fine_patience is None else fine_patience)
            ids, vectors = embed_store(store, load_checkpoint(run_dir), device=device)
            vectors = rows_in_store_order(store, ids, vectors)
            train_rows = store.split_indices("train")
            probe = LinearProbe().fit(vectors[train_rows], store.labels()[train_rows])
            val_scores = probe.predict_proba(vectors[store.split_indices("val")])
            test_scores = probe.predict_proba(vectors[store.split_indices("test")])
        else:
            raise MMXError(f"variant {variant.name!r} has unknown kind {variant.kind!r}")
        fixed, tuned, thresholds = evaluate_scores(val_scores, val_labels, test_scores, test_labels, genres)
        for split, scores, labels in (("val", val_scores, val_labels), ("test", test_scores, test_labels)):
            save_predictions(work_dir / "predictions" / f"{variant.slug}-{split}.npz", scores, labels, genres)
        result.results.append(VariantResult(variant, fixed, tuned, thresholds, time.perf_counter() - t0,
                                            None if run_dir is None else str(run_dir), test_scores=test_scores))
        log.info("%s: AU(PRC)w %.3f, F1w %.3f (tuned %.3f)", variant.name, fixed.auprc_weighted, fixed.f1_weighted,
                 tuned.f1_weighted)
    result.comparisons = compare_to_full(result, test_labels, seed=seed)
    result.seconds = time.perf_counter() - start
    write_json(work_dir / "ablation.json", result.to_dict())
    return result


def _rivals(result: AblationResult) -> list[VariantResult]:
    """Naive concatenation and every single-expert model: what the full model must beat."""
    return [r for r in result.results if r.variant.kind == "model" and
            (r.variant.fusion == "concat" or (r.variant.experts is not None and len(r.variant.experts) == 1))]


def compare_to_full(result: AblationResult, test_labels: np.ndarray, n_resamples: int = 1000,
                    seed: int = 0) -> dict[str, dict[str, float]]:
    """Paired bootstrap (over test trailers) of the full model's AU(PRC)w minus each rival's."""
    full = result.get(FULL)
    if full is None or full.test_scores is None:
        return {}
    return {r.variant.name: paired_bootstrap(auprc_weighted, full.test_scores, r.test_scores, test_labels,
                                             n_resamples=n_resamples, seed=seed)
            for r in _rivals(result) if r.test_scores is not None}


def rows_in_store_order(store, ids, vectors) -> np.ndarray:
    """Reorder embeddings so row i belongs to trailer i of the store."""
    ids = np.asarray(ids).astype(str)
    store_ids = store.trailers["id"].astype(str).to_numpy()
    if len(ids) == len(store_ids) and (ids == store_ids).all():
        return np.asarray(vectors)
    position = {trailer: row for row, trailer in enumerate(ids)}
    missing = [t for t in store_ids if t not in position]
    if missing:
        raise MMXError(f"embed_store returned no embedding for {len(missing)} trailers (e.g. {missing[0]})")
    return np.asarray(vectors)[[position[t] for t in store_ids]]


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


def ablation_markdown(result: AblationResult, paper_table2: str | Path | None = None) -> str:
    """The generated block of docs/results.md: commands, summary table, per-genre table, the issue's check."""
    paper = load_table2(paper_table2)
    summary = result.data_summary
    lines = [
        "## Coarse genre classification: ablation (Table 2)",
        "",
        f"Data: `{result.data}`: {summary['n_trailers']} trailers (train/val/test "
        f"{summary['splits']['train']}/{summary['splits']['val']}/{summary['splits']['test']}), "
        f"experts {summary['experts']}, generated: {summary['generated']}, fingerprint `{summary['fingerprint']}`.",
        "",
        "Made with:",
        "",
        "```",
        result.command or "(command not recorded)",
        "```",
        "",
        f"Settings: `{json.dumps(json_safe(result.settings), sort_keys=True)}`.",
        "",
        f"Wall time of this invocation: {result.seconds / 60:.1f} min (runs finished by an earlier invocation are "
        "reused, not retrained). Training time of each run (from its events.jsonl): "
        + ", ".join(f"{name} {minutes:.1f} min" for name, minutes in _training_minutes(result).items()) + ".",
        "",
        "Our rows: test split, at threshold 0.5 and with per-genre thresholds tuned for F1 on the val split. "
        "Paper rows: MMX-Trailer-20 test set (Table 2; AU(PRC) micro/macro from Table 3), a different data set.",
        "",
    ]
    rows: list[tuple[str, dict]] = []
    for r in result.results:
        rows.append((f"{r.variant.name} (ours, t=0.5)", r.fixed.to_dict()))
        rows.append((f"{r.variant.name} (ours, tuned)", r.tuned.to_dict()))
        if r.variant.paper_row and r.variant.paper_row in paper.rows:
            rows.append((f"*{r.variant.paper_row} (paper)*", dataclasses.asdict(paper.rows[r.variant.paper_row])))
    lines.append(format_markdown_summary(rows))
    lines.append(_goal_check(result))
    genres = list(result.results[0].fixed.per_genre) if result.results else []
    support = [("Support (ours, test)", {g: e["support"] for g, e in result.results[0].fixed.per_genre.items()}),
               ("Support (paper)", paper.support)] if result.results else []
    per_genre_rows: list[tuple[str, dict]] = []
    for r in result.results:
        per_genre_rows.append((f"{r.variant.name} (ours)", {g: (e["f1"] if e["support"] else float("nan"))
                                                            for g, e in r.fixed.per_genre.items()}))
        if r.variant.paper_row and r.variant.paper_row in paper.rows:
            per_genre_rows.append((f"*{r.variant.paper_row} (paper)*", paper.rows[r.variant.paper_row].per_genre_f1))
    lines += ["", "Per-genre F1 at threshold 0.5:", "", format_markdown_per_genre(per_genre_rows, genres, support)]
    return "\n".join(lines)


def _training_minutes(result: AblationResult) -> dict[str, float]:
    """Minutes between the first 'start' and the last 'end' event of every run the ablation used."""
    from datetime import datetime

    minutes = {}
    run_dirs = {Path(r.run_dir) for r in result.results if r.run_dir}
    for run_dir in sorted(run_dirs):
        events = run_dir / "events.jsonl"
        if not events.exists():
            continue
        times = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
        starts = [e["time"] for e in times if e.get("event") == "start"]
        ends = [e["time"] for e in times if e.get("event") == "end"]
        if starts and ends:
            start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (starts[0], ends[-1]))
            minutes[run_dir.name] = (end - start).total_seconds() / 60
    return minutes


def _goal_check(result: AblationResult) -> str:
    full = result.get(FULL)
    if full is None:
        return ""
    rivals = _rivals(result)
    beaten = [r for r in rivals if full.fixed.auprc_weighted > r.fixed.auprc_weighted]
    lines = [f"Goal (issue 4): the full model's AU(PRC)w ({full.fixed.auprc_weighted:.3f}) beats naive concatenation "
             f"and every single expert: **{'met' if len(beaten) == len(rivals) and rivals else 'not met'}** "
             f"({len(beaten)} of {len(rivals)} beaten: " +
             ", ".join(f"{r.variant.name} {r.fixed.auprc_weighted:.3f}" for r in rivals) + ")."]
    if result.comparisons:
        lines += ["", "Full model minus rival, AU(PRC)w on the test split, with a 95% paired bootstrap interval "
                  "over test trailers (1,000 resamples; the interval reflects test-set sampling only, not "
                  "training seeds):", ""]
        for name, c in result.comparisons.items():
            lines.append(f"- {name}: {c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}], "
                         f"share of resamples where the full model does not win {c['p_not_better']:.2f}")
    return "\n".join(lines) + "\n"
