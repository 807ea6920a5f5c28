"""The cached map step: a 2-D (or n-D) projection of an embedding set, and new trailers placed on it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import cached_artefact
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore.backends import backend_record, resolve_for_cache
from mmx_core.explore.checks import check_vectors, unit_rows
from mmx_core.explore.cached_tables import read_table, source_of
from mmx_core.explore.projection import Projector
from mmx_core.explore.reduction import reduce_vectors
from mmx_core.explore.scale import POLICY, ScalePolicy
from mmx_core.explore.warm_map import WarmStart

__all__ = ["projection_path", "projection", "place", "DEFAULT_PROJECTION", "COORD_NAMES"]

DEFAULT_PROJECTION = Projector.defaults()
COORD_NAMES = ("x", "y", "z")


def projection_path(emb_set: EmbeddingSet, method: str = DEFAULT_PROJECTION["method"],
                    scale: ScalePolicy | None = None, warm: WarmStart | None = None, **params) -> Path:
    """Path of the cached map (computing it when absent).

    Above the size limits of ``scale`` (:data:`~mmx_core.explore.scale.POLICY` when None) the
    plan (sampled fit, faiss kNN graph; above ``warm``'s limit a warm-started 2-D map,
    :mod:`~mmx_core.explore.warm_map`) joins the cache key and the parameter JSON; below them
    the key is the projector's parameters alone, as it always was. ``backend`` is resolved first and keyed
    as :func:`~mmx_core.explore.backends.cache_params` says (left out on the CPU: the shipped cache is still hit).
    """
    projector = Projector(method=method, **params).validate()
    scale = (scale or POLICY).validate()
    used, key_params = resolve_for_cache(projector, projector.scale_plan(len(emb_set), scale, warm))
    timing = {}

    def compute(tmp: Path) -> None:
        start = time.perf_counter()
        Y = projector.fit_transform(emb_set.vectors, source=source_of(emb_set), scale=scale, warm=warm)
        timing["seconds"] = round(time.perf_counter() - start, 3)
        table = pd.DataFrame(Y, columns=[COORD_NAMES[i] if i < 3 else f"c{i}" for i in range(Y.shape[1])])
        table.insert(0, "id", emb_set.ids.astype(str))
        table.to_parquet(tmp, index=False)

    return cached_artefact("projection", key_params, {"embeddings": emb_set.content_hash}, compute,
                           suffix=".parquet",
                           extra=lambda: {"n": len(emb_set), "dim": emb_set.dim, **timing, **backend_record(used)})


def projection(emb_set: EmbeddingSet, method: str = DEFAULT_PROJECTION["method"], scale: ScalePolicy | None = None,
               warm: WarmStart | None = None, **params) -> pd.DataFrame:
    """The map of ``emb_set``: DataFrame ``id``, ``x``, ``y`` (rows in the set's order).

    ``params`` are :class:`Projector` parameters (``n_components``, ``seed``,
    ``n_neighbors``, ``min_dist``, ``perplexity``, ``pca_dims``, ...).
    """
    return read_table(projection_path(emb_set, method, scale=scale, warm=warm, **params)).copy()


def place(emb_set: EmbeddingSet, new_vectors, method: str = DEFAULT_PROJECTION["method"], **params) -> np.ndarray:
    """Put new trailers into the cached UMAP (or PCA) map of ``emb_set`` without moving it.

    Returns ndarray of shape (m, n_components).
    """
    projector = Projector(method=method, **params).validate()
    if method == "tsne":
        raise MMXError("placing new trailers is available for method='umap' or 'pca', not t-SNE maps from the cache")
    table = projection(emb_set, method, **params)
    train_map = table.drop(columns="id").to_numpy(dtype=np.float32)
    new = check_vectors(new_vectors, source="new vectors", cosine=projector.metric == "cosine")
    if new.shape[1] != emb_set.dim:
        raise MMXError(f"new vectors have {new.shape[1]} dimensions; the map's embeddings have {emb_set.dim}")
    if method == "pca":
        return projector.fit(emb_set.vectors).transform(new)
    Z, pca = reduce_vectors(emb_set.vectors, projector.metric, projector.pca_dims, projector.seed)
    Zn = unit_rows(new) if projector.metric == "cosine" else new
    if pca is not None:
        Zn = pca.transform(Zn).astype(np.float32)
    return projector.place(Z, train_map, Zn)

