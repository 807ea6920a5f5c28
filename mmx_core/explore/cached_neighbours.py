"""The neighbour step: nearest trailers by cosine, through an index built once per process.

Exact indexes live in memory only; approximate (faiss) ones are also cached on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmx_core.base.artefacts import cached_artefact
from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.base.constraints import Int
from mmx_core.explore.cached_tables import clear_tables, source_of
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.reduction import memo

__all__ = ["neighbour_index", "neighbours", "clear_memory_caches", "DEFAULT_BACKEND"]

DEFAULT_BACKEND = NeighbourIndex.defaults()["backend"]

_INDEXES: dict[tuple, NeighbourIndex] = {}


def neighbour_index(emb_set: EmbeddingSet, backend: str = DEFAULT_BACKEND, **params) -> NeighbourIndex:
    """The neighbour index of ``emb_set``, built once per process (approximate ones cached on disk)."""
    probe = NeighbourIndex(backend=backend, **params).validate()
    return memo((emb_set.content_hash, tuple(probe.get_params().items())), lambda: _built(emb_set, probe),
                store=_INDEXES, size=8)


def _built(emb_set: EmbeddingSet, probe: NeighbourIndex) -> NeighbourIndex:
    """The index ``probe`` describes over ``emb_set``: built here when exact, else read from (or written to) disk."""
    index_params = {**probe.get_params(), "backend": probe.resolved_backend(len(emb_set), emb_set.dim)}
    if index_params["backend"] == "exact":
        return NeighbourIndex(**index_params).build(emb_set.vectors, source=source_of(emb_set))
    key_params = {name: index_params[name] for name in NeighbourIndex.BUILD_PARAMS}
    built: dict = {}

    def compute(tmp: Path) -> None:
        built["index"] = NeighbourIndex(**index_params).build(emb_set.vectors, source=source_of(emb_set))
        built["index"].save(tmp)

    path = cached_artefact("neighbour_index", key_params, {"embeddings": emb_set.content_hash}, compute,
                           suffix=".faiss", extra=lambda: {"build_seconds": round(built["index"].build_seconds_, 2)})
    return built.get("index") or NeighbourIndex(**index_params).load(path, emb_set.vectors)


def neighbours(emb_set: EmbeddingSet, trailer_id: str, k: int = 10, backend: str = DEFAULT_BACKEND) -> pd.DataFrame:
    """The ``k`` nearest trailers to ``trailer_id`` by cosine, nearest first, itself excluded.

    Returns DataFrame ``id``, ``score`` (cosine similarity), ``shared_genres`` (list of str).
    """
    row = emb_set.index_of(str(trailer_id))
    index = neighbour_index(emb_set, backend=backend)
    Int(1, len(emb_set) - 1).check("k", k)
    rows, scores = (found[0] for found in index.query(np.array([row]), k=int(k)))
    shared = [[] for _ in rows]
    meta = emb_set.metadata
    if meta is not None and "genres" in meta.columns:
        mine = list(meta["genres"].iloc[row])
        shared = [[g for g in mine if g in set(meta["genres"].iloc[r])] for r in rows]
    return pd.DataFrame({"id": emb_set.ids[rows].astype(str), "score": scores.astype(float), "shared_genres": shared})


def clear_memory_caches() -> None:
    """Forget the tables and neighbour indexes kept in this process (the files on disk stay)."""
    clear_tables()
    _INDEXES.clear()
