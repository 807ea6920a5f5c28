"""How well an embedding recovers planted sub-genres.

On a generated ``planted`` data set every trailer carries a ground-truth ``subgenre``. For each embedding
(coarse and fine bottleneck) :mod:`mmx_core.studies.subgenre_metrics` measures the agreement of HDBSCAN
clusters with the sub-genres (ARI, NMI, clusters, noise fraction) and sub-genre precision@k, the mean share
of a trailer's k nearest cosine neighbours (itself excluded) with its sub-genre; this module runs the
held-out experiment and writes its docs block.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmx_core.trailers.embeddings import load_embeddings, save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.trailers.metrics import paired_bootstrap
from mmx_core.evaluate.report import json_safe
from mmx_core.studies.subgenre_metrics import (
    chance_precision_at_k, describe_clusterer, planted_subgenres, precision_at_k_per_trailer, subgenre_probe_accuracy,
    subgenre_recovery,
)

__all__ = ["pooled_features", "SubgenreExperiment", "run_subgenre_experiment", "subgenre_markdown"]

log = logging.getLogger(__name__)


def _mean_difference(values: np.ndarray, _labels) -> float:
    return float(values.mean())


def pooled_features(store) -> np.ndarray:
    """Untrained reference embedding: each expert's frames averaged over the whole trailer.

    Every expert's mean is L2-normalised before the experts are concatenated,
    so each contributes equally to cosine similarity; an expert a trailer lacks
    contributes zeros.

    Returns
    -------
    ndarray of shape (n_trailers, sum of expert dims), float32
    """
    seq = np.asarray(store.sequence_offsets)
    clips = np.asarray(store.clip_offsets)
    blocks = []
    for name in store.manifest.experts:
        frames = np.asarray(store.frame_offsets[name])
        features = store.features[name]
        bounds = frames[clips[seq]]  # frame range of trailer t: [bounds[t], bounds[t + 1])
        block = np.zeros((store.n_trailers, features.shape[1]), dtype=np.float32)
        for t in range(store.n_trailers):
            if bounds[t + 1] > bounds[t]:
                block[t] = np.asarray(features[bounds[t]:bounds[t + 1]], dtype=np.float32).mean(axis=0)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        blocks.append(np.divide(block, norms, out=np.zeros_like(block), where=norms > 0))
    return np.concatenate(blocks, axis=1)


# -- the held-out experiment: coarse vs fine bottleneck of trained checkpoints ----------------------

@dataclass
class SubgenreExperiment:
    """Recovery scores of several embeddings of one data set (one row each), plus chance."""

    data: str
    split: str
    n_trailers: int
    n_subgenres: int
    chance_precision: float
    settings: dict
    command: str
    rows: dict  # name -> RecoveryScores
    sources: dict  # name -> checkpoint path
    seconds: float = 0.0
    comparison: dict | None = None  # paired bootstrap of fine minus coarse precision@k

    def to_dict(self) -> dict:
        return json_safe(asdict(self))  # the RecoveryScores rows become dicts too


def run_subgenre_experiment(data, models: dict, *, split: str = "all", k: int = 10, min_cluster_size: int = 15,
                            space: str = "umap10", seed: int = 0, device: str = "auto", command: str = "",
                            reference: bool = True, probe: bool = True, embeddings_dir=None) -> SubgenreExperiment:
    """Embed ``data`` with each checkpoint of ``models`` (name -> checkpoint or run folder) and score recovery.

    Parameters
    ----------
    split : {"all", "train", "val", "test"}
        Trailers scored ("all": every trailer; the fine stage never sees the
        ``subgenre`` column, the coarse stage only sees genres).
    reference : bool
        Also score the untrained :func:`pooled_features` (row "pooled expert features").
    probe : bool
        Also report :func:`subgenre_probe_accuracy` (train split -> test split).
    embeddings_dir : path, optional
        Write each model's embeddings there as ``<name>.npz`` (the project's embeddings format).
    """
    from mmx_core.data import TrailerStore

    start = time.perf_counter()
    store = TrailerStore.open(data)
    planted_subgenres(store, data)
    rows, truth, probe_train, probe_test = _scored_trailers(store, split)
    spaces = _embedding_spaces(store, models, device, embeddings_dir)
    if reference:
        spaces["pooled expert features"] = pooled_features(store)
    results = {}
    for name, vectors in spaces.items():
        log.info("scoring %s (%d trailers)", name, len(rows))
        vectors = vectors[rows]
        results[name] = subgenre_recovery(vectors, truth, k=k, min_cluster_size=min_cluster_size, space=space,
                                          seed=seed)
        if probe:
            results[name].probe_accuracy = subgenre_probe_accuracy(vectors, truth, probe_train, probe_test, seed)
    comparison = _fine_minus_coarse(spaces, rows, truth, k, seed)
    return SubgenreExperiment(
        data=str(data), split=split, n_trailers=int(len(rows)), n_subgenres=int(len(np.unique(truth))),
        chance_precision=chance_precision_at_k(truth),
        settings={"k": k, "min_cluster_size": min_cluster_size, "space": space, "seed": seed,
                  "clusterer": describe_clusterer(min_cluster_size, space, seed)},
        command=command, rows=results, sources={n: str(p) for n, p in models.items()}, comparison=comparison,
        seconds=time.perf_counter() - start,
    )


def _fine_minus_coarse(spaces: dict[str, np.ndarray], rows: np.ndarray, truth: np.ndarray, k: int,
                       seed: int) -> dict:
    """Paired bootstrap of fine minus coarse precision@k over the scored trailers ({} without both spaces)."""
    if "coarse" not in spaces or "fine" not in spaces:
        return {}
    fine, coarse = (precision_at_k_per_trailer(spaces[n][rows], truth, k) for n in ("fine", "coarse"))
    return paired_bootstrap(_mean_difference, fine, coarse, truth, n_resamples=1000, seed=seed)


def _scored_trailers(store, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows of the trailers scored (those of ``split`` with a sub-genre), their sub-genres, the probe's rows."""
    if split == "all":
        rows = np.arange(store.n_trailers)
    elif split in ("train", "val", "test"):
        rows = store.split_indices(split)
    else:
        raise MMXError(f"split={split!r} is not one of ['all', 'train', 'val', 'test']")
    subgenres = planted_subgenres(store)[rows]
    known = np.array([s is not None and s == s and str(s) not in ("", "<NA>") for s in subgenres])
    rows, truth = rows[known], subgenres[known].astype(str)
    # Probe diagnostic: train on the train split's scored trailers, test on the test split's.
    split_of = store.trailers["split"].to_numpy()[rows]
    probe_train, probe_test = np.flatnonzero(split_of == "train"), np.flatnonzero(split_of == "test")
    return rows, truth, probe_train, probe_test


def _embedding_spaces(store, models: dict, device: str, embeddings_dir) -> dict[str, np.ndarray]:
    """Each model's embedding of every trailer, rows in store order (checkpoints are embedded, .npz files read)."""
    from mmx_core.train import embed_store, load_checkpoint

    spaces = {}
    for name, path in models.items():
        if str(path).endswith(".npz"):  # an embeddings file written earlier (e.g. by this experiment)
            embedding_set = load_embeddings(path)
            ids, vectors = embedding_set.ids, embedding_set.vectors
        else:
            ids, vectors = embed_store(store, load_checkpoint(path), device=device)
            if embeddings_dir is not None:
                save_embeddings(Path(embeddings_dir) / f"{name}.npz", ids, vectors, generated=True, source=str(path))
        spaces[name] = _rows_in_store_order(store, ids, vectors)
    return spaces


def _rows_in_store_order(store, ids, vectors) -> np.ndarray:
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


def subgenre_markdown(experiments: list[SubgenreExperiment]) -> str:
    """The generated block of docs/results.md for the sub-genre recovery experiment."""
    lines = ["## Fine-grained sub-genre recovery (held-out planted set)", ""]
    for experiment in experiments:
        s = experiment.settings
        lines += [
            f"Data `{experiment.data}`, split `{experiment.split}`: {experiment.n_trailers} trailers with a "
            f"ground-truth sub-genre, {experiment.n_subgenres} sub-genres. Clusters: `{s.get('clusterer')}`; "
            f"precision@{s['k']} over cosine "
            f"neighbours. Embeddings: " + ", ".join(f"{n} = `{p}`" for n, p in experiment.sources.items()) + ".",
            "",
            "```",
            experiment.command or "(command not recorded)",
            "```",
            "",
            f"| Embedding | ARI | NMI | precision@{s['k']} | clusters | noise | probe accuracy (diagnostic) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, r in experiment.rows.items():
            probe = "-" if r.probe_accuracy != r.probe_accuracy else f"{r.probe_accuracy:.3f}"
            lines.append(f"| {name} | {r.ari:.3f} | {r.nmi:.3f} | {r.precision_at_k:.3f} | {r.n_clusters} | "
                         f"{r.noise_fraction:.2f} | {probe} |")
        lines.append(f"| *chance* | 0 | - | {experiment.chance_precision:.3f} | - | - | - |")
        c = experiment.comparison
        if c:
            lines += ["", f"Fine minus coarse precision@{s['k']}: {c['difference']:+.3f}, 95% paired bootstrap "
                      f"interval over trailers [{c['low']:+.3f}, {c['high']:+.3f}] ({c['n_resamples']} resamples)."]
        lines += ["", "ARI/NMI count HDBSCAN noise as one more cluster. Probe accuracy: a logistic regression "
                  "from the embedding to the sub-genre, fit on the train split and scored on the test split "
                  "(a diagnostic: it uses the labels the unsupervised scores do not).", ""]
    return "\n".join(lines)
