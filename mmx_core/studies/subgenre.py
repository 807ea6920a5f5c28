"""How well an embedding recovers planted sub-genres.

On a generated ``planted`` data set every trailer carries a ground-truth
``subgenre``. For each embedding (coarse and fine bottleneck) we measure:

- the agreement of HDBSCAN clusters with the sub-genres: adjusted Rand index
  and normalised mutual information (noise points, label -1, count as one
  cluster of their own, so a clusterer cannot score by discarding hard
  trailers), plus the number of clusters and the noise fraction;
- sub-genre precision@k: the mean share of a trailer's k nearest cosine
  neighbours (itself excluded) with its sub-genre.

Clustering goes through :class:`mmx_core.explore.SubgenreClusterer` and the
neighbour search through :class:`mmx_core.explore.NeighbourIndex` (exact), the
same code the app uses.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from mmx_core.base.embeddings import load_embeddings, save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.explore import NeighbourIndex, SubgenreClusterer
from mmx_core.studies.ablate import rows_in_store_order
from mmx_core.base.metrics import paired_bootstrap

__all__ = [
    "RecoveryScores", "precision_at_k", "precision_at_k_per_trailer", "chance_precision_at_k", "cluster_agreement", "cluster_embedding",
    "describe_clusterer", "subgenre_recovery", "subgenre_probe_accuracy", "pooled_features", "SubgenreExperiment",
    "run_subgenre_experiment", "subgenre_markdown",
]

log = logging.getLogger(__name__)


@dataclass
class RecoveryScores:
    """Sub-genre recovery of one embedding.

    Attributes
    ----------
    ari, nmi : float
        Adjusted Rand index and NMI of the HDBSCAN clusters against ``subgenre``.
    precision_at_k : float
        Mean share of the k nearest neighbours with the same sub-genre.
    k : int
    n_clusters : int
        Clusters found (noise not counted).
    noise_fraction : float
        Share of trailers HDBSCAN left as noise.
    n_trailers, n_subgenres : int
    """

    ari: float
    nmi: float
    precision_at_k: float
    k: int
    n_clusters: int
    noise_fraction: float
    n_trailers: int
    n_subgenres: int
    probe_accuracy: float = float("nan")

    def to_dict(self) -> dict:
        return asdict(self)


def _check(X: np.ndarray, subgenres) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    truth = np.asarray(subgenres)
    if X.ndim != 2 or len(X) != len(truth):
        raise MMXError(f"need embeddings (n, d) and n sub-genre labels, got {X.shape} and {truth.shape}")
    if len(X) < 3:
        raise MMXError(f"sub-genre recovery needs at least 3 trailers with a sub-genre, got {len(X)}")
    return X, truth


def _neighbours(X: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` exact cosine neighbours of every row of ``X`` (itself left out)."""
    rows, _ = NeighbourIndex(backend="exact").build(X).query(np.arange(len(X)), k=k)
    return rows


def precision_at_k(X: np.ndarray, subgenres, k: int = 10) -> float:
    """Mean share of each trailer's ``k`` nearest cosine neighbours sharing its sub-genre.

    Parameters
    ----------
    X : ndarray of shape (n_trailers, dim)
    subgenres : array-like of shape (n_trailers,)
    k : int
        Neighbours per trailer (the trailer itself excluded), ``1 <= k < n_trailers``.
    """
    return float(precision_at_k_per_trailer(X, subgenres, k).mean())


def precision_at_k_per_trailer(X: np.ndarray, subgenres, k: int = 10) -> np.ndarray:
    """Share of each trailer's ``k`` nearest cosine neighbours sharing its sub-genre, ndarray of shape (n,)."""
    X, truth = _check(X, subgenres)
    if not 1 <= k < len(X):
        raise MMXError(f"k={k} must be between 1 and n_trailers - 1 = {len(X) - 1}")
    rows = _neighbours(X, k)
    return (truth[rows] == truth[:, None]).mean(axis=1)


def _mean_difference(values: np.ndarray, _labels) -> float:
    return float(values.mean())


def chance_precision_at_k(subgenres) -> float:
    """Expected precision@k of random neighbours: sum over sub-genres of share * (count - 1) / (n - 1)."""
    _, counts = np.unique(np.asarray(subgenres), return_counts=True)
    n = counts.sum()
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


def cluster_agreement(cluster_labels, subgenres) -> dict[str, float]:
    """ARI and NMI of cluster labels (-1 = noise, kept as one label) against sub-genres."""
    labels = np.asarray(cluster_labels)
    truth = np.asarray(subgenres)
    if labels.shape != truth.shape:
        raise MMXError(f"{labels.shape[0]} cluster labels for {truth.shape[0]} sub-genres")
    return {
        "ari": float(adjusted_rand_score(truth, labels)),
        "nmi": float(normalized_mutual_info_score(truth, labels)),
        "n_clusters": int(len(np.setdiff1d(np.unique(labels), [-1]))),
        "noise_fraction": float(np.mean(labels == -1)),
    }


def describe_clusterer(min_cluster_size: int = 15, space: str = "umap10", seed: int = 0) -> str:
    """How :func:`cluster_embedding` clusters, for reports."""
    return f"mmx_core.explore.{SubgenreClusterer(min_cluster_size=min_cluster_size, space=space, seed=seed)!r}"


def cluster_embedding(X: np.ndarray, min_cluster_size: int = 15, space: str = "umap10", seed: int = 0) -> np.ndarray:
    """HDBSCAN cluster labels of the rows of ``X`` (-1 = noise), by the exploration clusterer.

    Parameters
    ----------
    space : {"umap10", "raw"}
        Cluster a 10-D cosine UMAP of ``X`` (the app's default) or the unit
        vectors themselves.
    """
    if space not in ("umap10", "raw"):
        raise MMXError(f"space={space!r} is not one of ['umap10', 'raw']")
    clusterer = SubgenreClusterer(min_cluster_size=min_cluster_size, space=space, seed=seed)
    return np.asarray(clusterer.fit(X).labels_)


def subgenre_recovery(
    X: np.ndarray,
    subgenres,
    *,
    k: int = 10,
    min_cluster_size: int = 15,
    space: str = "umap10",
    seed: int = 0,
) -> RecoveryScores:
    """Cluster agreement and precision@k of one embedding against the ground-truth sub-genres.

    Parameters
    ----------
    X : ndarray of shape (n_trailers, dim)
        Embeddings of trailers that all have a sub-genre.
    subgenres : array-like of shape (n_trailers,)
    k, min_cluster_size, space, seed
        See :func:`precision_at_k` and :func:`cluster_embedding`.
    """
    X, truth = _check(X, subgenres)
    labels = cluster_embedding(X, min_cluster_size=min_cluster_size, space=space, seed=seed)
    agreement = cluster_agreement(labels, truth)
    return RecoveryScores(
        ari=agreement["ari"],
        nmi=agreement["nmi"],
        precision_at_k=precision_at_k(X, truth, k),
        k=k,
        n_clusters=agreement["n_clusters"],
        noise_fraction=agreement["noise_fraction"],
        n_trailers=len(X),
        n_subgenres=int(len(np.unique(truth))),
    )


def subgenre_probe_accuracy(X: np.ndarray, subgenres, train_rows: np.ndarray, test_rows: np.ndarray,
                            seed: int = 0) -> float:
    """Test accuracy of a multinomial logistic regression predicting the sub-genre from ``X``.

    A diagnostic beside the unsupervised scores: high accuracy with low
    precision@k means the sub-genre is linearly present in the embedding but
    not what dominates its cosine geometry.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X, truth = _check(X, subgenres)
    if len(train_rows) == 0 or len(test_rows) == 0:
        return float("nan")
    scaler = StandardScaler().fit(X[train_rows])
    model = LogisticRegression(max_iter=300, random_state=seed)
    model.fit(scaler.transform(X[train_rows]), truth[train_rows])
    return float(np.mean(model.predict(scaler.transform(X[test_rows])) == truth[test_rows]))


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
        from mmx_core.evaluate.report import json_safe

        out = asdict(self)
        out["rows"] = {name: scores.to_dict() for name, scores in self.rows.items()}
        return json_safe(out)


def run_subgenre_experiment(
    data,
    models: dict,
    *,
    split: str = "all",
    k: int = 10,
    min_cluster_size: int = 15,
    space: str = "umap10",
    seed: int = 0,
    device: str = "auto",
    command: str = "",
    reference: bool = True,
    probe: bool = True,
    embeddings_dir=None,
) -> SubgenreExperiment:
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
    import time

    from mmx_core.data import TrailerStore
    from mmx_core.train import embed_store, load_checkpoint

    start = time.perf_counter()
    store = TrailerStore.open(data)
    if "subgenre" not in store.trailers.columns:
        raise MMXError("the data set has no 'subgenre' column; generate a planted set with "
                       "'python -m mmx_core synth --latent planted'", data)
    if split == "all":
        rows = np.arange(store.n_trailers)
    elif split in ("train", "val", "test"):
        rows = store.split_indices(split)
    else:
        raise MMXError(f"split={split!r} is not one of ['all', 'train', 'val', 'test']")
    subgenres = store.trailers["subgenre"].to_numpy()[rows]
    known = np.array([s is not None and s == s and str(s) not in ("", "<NA>") for s in subgenres])
    rows, truth = rows[known], subgenres[known].astype(str)
    # Probe diagnostic: train on the train split's scored trailers, test on the test split's.
    split_of = store.trailers["split"].to_numpy()[rows]
    probe_train, probe_test = np.flatnonzero(split_of == "train"), np.flatnonzero(split_of == "test")
    spaces = {}
    for name, path in models.items():
        if str(path).endswith(".npz"):  # an embeddings file written earlier (e.g. by this experiment)
            embedding_set = load_embeddings(path)
            ids, vectors = embedding_set.ids, embedding_set.vectors
        else:
            ids, vectors = embed_store(store, load_checkpoint(path), device=device)
            if embeddings_dir is not None:
                save_embeddings(Path(embeddings_dir) / f"{name}.npz", ids, vectors, generated=True, source=str(path))
        spaces[name] = rows_in_store_order(store, ids, vectors)
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
    comparison = {}
    if "coarse" in spaces and "fine" in spaces:
        per_trailer = {n: precision_at_k_per_trailer(spaces[n][rows], truth, k) for n in ("fine", "coarse")}
        comparison = paired_bootstrap(_mean_difference, per_trailer["fine"], per_trailer["coarse"], truth,
                                      n_resamples=1000, seed=seed)
    return SubgenreExperiment(
        data=str(data), split=split, n_trailers=int(len(rows)), n_subgenres=int(len(np.unique(truth))),
        chance_precision=chance_precision_at_k(truth),
        settings={"k": k, "min_cluster_size": min_cluster_size, "space": space, "seed": seed,
                  "clusterer": describe_clusterer(min_cluster_size, space, seed)},
        command=command, rows=results, sources={n: str(p) for n, p in models.items()}, comparison=comparison,
        seconds=time.perf_counter() - start,
    )


def subgenre_markdown(experiments: list[SubgenreExperiment], preamble: str = "") -> str:
    """The generated block of docs/results.md for the sub-genre recovery experiment."""
    lines = ["## Fine-grained sub-genre recovery (held-out planted set)", ""]
    if preamble:
        lines += [preamble.rstrip(), ""]
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
                  "(a diagnostic: it uses the labels the unsupervised scores do not)."]
        lines.append("")
    return "\n".join(lines)
