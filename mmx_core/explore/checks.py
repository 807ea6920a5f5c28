"""Input checks shared by the exploration estimators: embedding matrices and their row ids.

Every check raises :class:`~mmx_core.base.errors.MMXError` whose message names the
source (a file when known, else the argument), the value received and what to
change. The numerical kernels behind the estimators assume these checks passed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmx_core.base.errors import MMXError

__all__ = ["check_vectors", "unit_rows"]


def check_vectors(
    X,
    *,
    source: str | Path | None = None,
    min_rows: int = 1,
    needed_for: str = "",
    cosine: bool = True,
    ids=None,
) -> np.ndarray:
    """Validate an embedding matrix and return it as C-contiguous float32.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The vectors.
    source : str or Path, optional
        File the vectors came from (named in the message); ``"X"`` when None.
    min_rows : int
        Fewest rows the caller can work with.
    needed_for : str
        Why ``min_rows`` are needed (e.g. ``"t-SNE with perplexity 30"``).
    cosine : bool
        Reject all-zero rows, whose cosine similarity is undefined.
    ids : array-like of shape (n_samples,), optional
        Row ids: must be one per row and unique.
    """
    path = Path(source) if isinstance(source, Path) else None
    where = "" if path is not None else f"{source or 'X'}: "
    X = np.asarray(X)
    if X.ndim != 2:
        hint = "reshape a single vector with X.reshape(1, -1)" if X.ndim == 1 else "give one row per trailer"
        raise MMXError(f"{where}embeddings must be a 2-D array (n_trailers, dim), got shape {X.shape}; {hint}", path)
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise MMXError(f"{where}embeddings must be numeric, got dtype {X.dtype}", path)
    if ids is not None:
        ids = _check_ids(np.asarray(ids), len(X), where, path)
    if len(X) < min_rows:
        why = f" for {needed_for}" if needed_for else ""
        raise MMXError(
            f"{where}{len(X)} trailers are too few{why}: at least {min_rows} are needed; "
            "add trailers or lower the parameter", path)
    # float16 stays float16 (large sets are stored that way); everything else becomes float32.
    X = np.ascontiguousarray(X, dtype=X.dtype if X.dtype == np.float16 else np.float32)
    finite = _rowwise(X, lambda b: np.isfinite(b).all(axis=1))
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise MMXError(
            f"{where}{len(bad)} rows hold NaN or Inf (first: row {bad[0]}{_id_hint(ids, bad[0])}); "
            "remove or recompute them", path)
    if cosine:
        zero = ~_rowwise(X, lambda b: np.any(b != 0, axis=1))
        if zero.any():
            bad = np.flatnonzero(zero)
            raise MMXError(
                f"{where}{len(bad)} rows are all zeros, so their cosine similarity is undefined "
                f"(first: row {bad[0]}{_id_hint(ids, bad[0])}); remove them or use metric='euclidean'", path)
    return X


def _check_ids(ids: np.ndarray, n_rows: int, where: str, path: Path | None) -> np.ndarray:
    """Row ids must be one per row and unique."""
    if ids.ndim != 1 or len(ids) != n_rows:
        raise MMXError(
            f"{where}there are {ids.size} ids for {n_rows} rows of embeddings; give exactly one id per row", path)
    unique, counts = np.unique(ids.astype(str), return_counts=True)
    if (counts > 1).any():
        dup = unique[counts > 1]
        raise MMXError(f"{where}{len(dup)} ids occur more than once (e.g. {str(dup[0])!r}); make ids unique", path)
    return ids


def _rowwise(X: np.ndarray, test, chunk: int = 65536) -> np.ndarray:
    """Apply a row test in blocks (bounded temporary memory on large sets)."""
    return np.concatenate([test(X[s:s + chunk]) for s in range(0, len(X), chunk)]) if len(X) else np.ones(0, bool)


def _id_hint(ids, row: int) -> str:
    return "" if ids is None else f", id {str(ids[row])!r}"


def unit_rows(X: np.ndarray, dtype=np.float32, chunk: int = 65536) -> np.ndarray:
    """Rows scaled to unit L2 norm, written blockwise into a new ``dtype`` array; rows must be non-zero."""
    out = np.empty(X.shape, dtype=dtype)
    for s in range(0, len(X), chunk):
        block = X[s:s + chunk].astype(np.float32)
        out[s:s + chunk] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out
