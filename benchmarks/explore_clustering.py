"""Table 3 of the explore benchmark: sub-genre clustering settings on the published set, against random groups."""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Table, measure


def genre_coherence(labels: np.ndarray, genres: np.ndarray) -> float:
    """Size-weighted mean pairwise Jaccard of genre sets within clusters (noise ignored)."""
    G = genres.astype(np.float32)
    total, count = 0.0, 0
    for c in np.unique(labels[labels >= 0]):
        A = G[labels == c]
        if len(A) < 2:
            continue
        inter = A @ A.T
        sizes = A.sum(axis=1)
        union = sizes[:, None] + sizes[None, :] - inter
        J = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
        total += (J.sum() - np.trace(J)) / (len(A) - 1)
        count += len(A)
    return total / max(count, 1)


def random_coherence(labels: np.ndarray, genres: np.ndarray, draws: int, seed: int = 0) -> tuple[float, float]:
    """Coherence of random groups with the same sizes, drawn from all trailers: mean and sd."""
    rng = np.random.default_rng(seed)
    sizes = np.bincount(labels[labels >= 0])
    values = []
    for _ in range(draws):
        perm = rng.permutation(len(labels))
        fake = np.full(len(labels), -1)
        fake[perm[:sizes.sum()]] = np.repeat(np.arange(len(sizes)), sizes)
        values.append(genre_coherence(fake, genres))
    return float(np.mean(values)), float(np.std(values))


def clustering_table(emb, quick: bool) -> Table:
    from mmx_core.explore import Projector, SubgenreClusterer
    from mmx_core.explore.labels import genre_matrix

    _, genres = genre_matrix(emb.metadata, len(emb))
    reduced = Projector(n_components=10, min_dist=0.0).fit_transform(emb.vectors)
    settings = [
        ("eom", 40, 10, 0.0, "umap10"), ("eom", 5, None, 0.0, "umap10"), ("leaf", 40, None, 0.0, "umap10"),
        ("leaf", 15, None, 0.0, "umap10"), ("leaf", 30, 10, 0.0, "umap10"), ("leaf", 40, 10, 0.0, "umap10"),
        ("leaf", 40, 10, 0.3, "umap10"), ("leaf", 60, 10, 0.0, "umap10"), ("leaf", 40, 10, 0.0, "raw"),
    ]
    rows = []
    for selection, mcs, ms, eps, space in settings:
        model = SubgenreClusterer(min_cluster_size=mcs, min_samples=ms, selection=selection, epsilon=eps,
                                  space=space)
        _, t, _ = measure(lambda: model.fit(emb.vectors, reduced=reduced if space == "umap10" else None))
        labels, k = model.labels_, model.n_clusters_
        coh = genre_coherence(labels, genres) if k else float("nan")
        rnd, sd = random_coherence(labels, genres, 5 if quick else 20) if k else (float("nan"), 0.0)
        largest = int(np.bincount(labels[labels >= 0]).max()) if k else 0
        chosen = " (default)" if (selection, mcs, ms, eps, space) == ("leaf", 40, 10, 0.0, "umap10") else ""
        rows.append([f"{space} {selection}{chosen}", mcs, "=mcs" if ms is None else ms, eps, k,
                     100 * float(np.mean(labels < 0)), largest, coh, f"{rnd:.3f} ± {sd:.3f}", coh / rnd, t])
    return Table(
        f"Sub-genre clustering settings (published set, N={len(emb):,})",
        ["space / selection", "min_cluster_size", "min_samples", "epsilon", "clusters", "noise %", "largest",
         "genre coherence", "random groups", "coherence / random", "HDBSCAN s"],
        rows,
        note=("Genre coherence: mean pairwise Jaccard of the genre sets of two trailers in the same cluster "
              "(size-weighted, noise left out); random groups: the same cluster sizes drawn at random from all "
              "trailers (mean ± sd over draws). The UMAP-10 reduction (seed 0) is shared by the umap10 rows; "
              "HDBSCAN s excludes it (raw: the whole fit)."),
    )
