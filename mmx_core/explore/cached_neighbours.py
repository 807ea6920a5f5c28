"""The neighbour step: nearest trailers by cosine, through an index built once per process.

Exact indexes live in memory only; approximate (faiss) ones are also cached on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import cached_artefact
from mmx_core.base.embeddings import EmbeddingSet
from mmx_core.base.errors import MMXError
from mmx_core.explore.cached_tables import source_of
from mmx_core.explore.neighbours import NeighbourIndex

__all__ = ["neighbour_index", "neighbours", "clear_indexes", "DEFAULT_BACKEND"]

DEFAULT_BACKEND = NeighbourIndex.defaults()["backend"]

_INDEXES: dict[tuple, NeighbourIndex] = {}


def neighbour_index(emb_set: EmbeddingSet, backend: str = DEFAULT_BACKEND, **params) -> NeighbourIndex:
    """The neighbour index of ``emb_set``, built once per process (approximate ones cached on disk)."""
    probe = NeighbourIndex(backend=backend, **params).validate()
    memo_key = (emb_set.content_hash, tuple(probe.get_params().items()))
    if memo_key in _INDEXES:
        return _INDEXES[memo_key]
    resolved = probe.resolved_backend(len(emb_set), emb_set.dim)
    if resolved == "exact":
        index = NeighbourIndex(backend="exact", **params).build(emb_set.vectors, source=source_of(emb_set))
    else:
        index_params = {**probe.get_params(), "backend": resolved}
        key_params = {name: index_params[name] for name in NeighbourIndex.BUILD_PARAMS}
        built: dict = {}

        def compute(tmp: Path) -> None:
            built["index"] = NeighbourIndex(**index_params).build(emb_set.vectors, source=source_of(emb_set))
            built["index"].save(tmp)

        path = cached_artefact("neighbour_index", key_params, {"embeddings": emb_set.content_hash}, compute,
                               suffix=".faiss", extra=lambda: {"build_seconds": round(built["index"].build_seconds_, 2)})
        index = built.get("index") or NeighbourIndex(**index_params).load(path, emb_set.vectors)
    if len(_INDEXES) >= 8:
        _INDEXES.pop(next(iter(_INDEXES)))
    _INDEXES[memo_key] = index
    return index


def neighbours(emb_set: EmbeddingSet, trailer_id: str, k: int = 10, backend: str = DEFAULT_BACKEND) -> pd.DataFrame:
    """The ``k`` nearest trailers to ``trailer_id`` by cosine, nearest first, itself excluded.

    Returns DataFrame ``id``, ``score`` (cosine similarity), ``shared_genres`` (list of str).
    """
    row = emb_set.index_of(str(trailer_id))
    index = neighbour_index(emb_set, backend=backend)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 1 <= k < len(emb_set):
        raise MMXError(f"k={k!r} is invalid; it must be an integer from 1 to {len(emb_set) - 1}")
    rows, scores = index.query(np.array([row]), k=int(k))
    rows, scores = rows[0], scores[0]
    shared = [[] for _ in rows]
    meta = emb_set.metadata
    if meta is not None and "genres" in meta.columns:
        mine = list(meta["genres"].iloc[row])
        shared = [[g for g in mine if g in set(meta["genres"].iloc[r])] for r in rows]
    return pd.DataFrame({"id": emb_set.ids[rows].astype(str), "score": scores.astype(float), "shared_genres": shared})



def clear_indexes() -> None:
    """Forget the neighbour indexes kept in this process (files on disk stay)."""
    _INDEXES.clear()
