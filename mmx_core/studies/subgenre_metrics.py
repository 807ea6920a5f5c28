"""Sub-genre recovery of one embedding: cluster agreement (ARI, NMI), precision@k, chance level, probe accuracy.

Clustering goes through :class:`mmx_core.explore.SubgenreClusterer` and the
neighbour search through :class:`mmx_core.explore.NeighbourIndex` (exact), the
same code the app uses. Noise points (label -1) count as one cluster of their
own, so a clusterer cannot score by discarding hard trailers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from mmx_core.base.errors import MMXError
from mmx_core.explore import NeighbourIndex, SubgenreClusterer

__all__ = [
    "RecoveryScores", "precision_at_k", "precision_at_k_per_trailer", "chance_precision_at_k", "cluster_agreement",
    "cluster_embedding", "describe_clusterer", "subgenre_recovery", "subgenre_probe_accuracy", "planted_subgenres",
]


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


def planted_subgenres(store, source=None) -> np.ndarray:
    """The ``subgenre`` column of a planted data set; a set without one is refused (naming ``source``, by
    default the store's folder)."""
    if "subgenre" not in store.trailers.columns:
        raise MMXError("the data set has no 'subgenre' column; generate a planted set with "
                       "'python -m mmx_core synth --latent planted'", store.path if source is None else source)
    return store.trailers["subgenre"].to_numpy()


def _check(X: np.ndarray, subgenres) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float32)
    truth = np.asarray(subgenres)
    if X.ndim != 2 or len(X) != len(truth):
        raise MMXError(f"need embeddings (n, d) and n sub-genre labels, got {X.shape} and {truth.shape}")
    if len(X) < 3:
        raise MMXError(f"sub-genre recovery needs at least 3 trailers with a sub-genre, got {len(X)}")
    return X, truth


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
    rows, _ = NeighbourIndex(backend="exact").build(X).query(np.arange(len(X)), k=k)  # itself left out
    return (truth[rows] == truth[:, None]).mean(axis=1)


def chance_precision_at_k(subgenres) -> float:
    """Expected precision@k of random neighbours: sum over sub-genres of share * (count - 1) / (n - 1)."""
    _, counts = np.unique(np.asarray(subgenres), return_counts=True)
    n = counts.sum()
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


def cluster_agreement(cluster_labels, subgenres) -> dict[str, float]:
    """ARI and NMI of cluster labels (-1 = noise, kept as one label) against sub-genres."""
    labels, truth = np.asarray(cluster_labels), np.asarray(subgenres)
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
    return np.asarray(SubgenreClusterer(min_cluster_size=min_cluster_size, space=space, seed=seed).fit(X).labels_)


def subgenre_recovery(X: np.ndarray, subgenres, *, k: int = 10, min_cluster_size: int = 15, space: str = "umap10",
                      seed: int = 0) -> RecoveryScores:
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
    return RecoveryScores(**cluster_agreement(labels, truth), precision_at_k=precision_at_k(X, truth, k), k=k,
                          n_trailers=len(X), n_subgenres=int(len(np.unique(truth))))


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
    model = LogisticRegression(max_iter=300, random_state=seed).fit(scaler.transform(X[train_rows]), truth[train_rows])
    return float(np.mean(model.predict(scaler.transform(X[test_rows])) == truth[test_rows]))
