"""The map of a large collection: a density grid of every point, and the points of the visible region.

A map of more points than a browser can draw as markers (above
:data:`mmx_core.appkit.map_figure.MAP_POINT_LIMIT`) is drawn as

- a density layer: the counts of all points on a fixed grid of :data:`DENSITY_BINS` x
  :data:`DENSITY_BINS` cells over the visible region (log-scaled, empty cells transparent), a plotly
  ``heatmap`` whose size does not depend on the number of points (:func:`density_trace`);
- the points of the visible region as markers, at most ``limit`` of them (:func:`rows_in_view`): each row
  has a fixed priority, a seeded random permutation of the rows (:func:`draw_priority`), and a region with more
  points than ``limit`` shows those of smallest priority. A point drawn in a region stays drawn in every
  region inside it, so zooming in only adds points;
- search and filter matches of the region, at most :data:`MATCH_CAP` of them, by the same priority
  (:func:`capped_matches`), so a filter matching 300,000 trailers never sends 300,000 markers.

A region (``view``) is ``(x0, x1, y0, y1)``, the axis ranges the map shows; None is the whole map.
Numpy only, no plotly or streamlit here.
"""

from __future__ import annotations

import functools

import numpy as np

from mmx_core.appkit.figure_payload import typed_array

__all__ = ["View", "DENSITY_BINS", "MATCH_CAP", "PRIORITY_SEED", "draw_priority", "parse_view", "in_view",
           "rows_in_view", "capped_matches", "extent", "density_grid", "density_trace"]

View = tuple  # (x0, x1, y0, y1)

DENSITY_BINS = 256
"""Cells of the density grid along each axis."""
MATCH_CAP = 5_000
"""Most search/filter matches drawn (those of the visible region, by priority)."""
PRIORITY_SEED = 0
"""Seed of the rows' drawing priority (the same rows are drawn for a region at every run)."""
DENSITY_SCALE = [[0.0, "rgb(236,236,236)"], [0.5, "rgb(180,180,180)"], [1.0, "rgb(95,95,95)"]]


@functools.lru_cache(maxsize=4)
def draw_priority(n: int, seed: int = PRIORITY_SEED) -> np.ndarray:
    """Drawing priority of each of ``n`` rows: a seeded random permutation of ``0..n-1`` (read-only,
    computed once per size and seed); a smaller value is drawn first."""
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    order.flags.writeable = False
    return order


def parse_view(value) -> View | None:
    """A region the browser reported (``[x0, x1, y0, y1]``) as a tuple of floats; None for anything else
    (None after a reset, a malformed value, a range of zero width or height)."""
    if not isinstance(value, (list, tuple)):
        return None
    try:
        view = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(view) != 4 or not np.isfinite(view).all() or view[0] == view[1] or view[2] == view[3]:
        return None
    return view


def in_view(x: np.ndarray, y: np.ndarray, view: View | None) -> np.ndarray:
    """Boolean mask of the points ``(x, y)`` inside ``view`` (edges included); all of them for None."""
    if view is None:
        return np.ones(len(x), dtype=bool)
    x0, x1, y0, y1 = (float(v) for v in view)
    return (x >= min(x0, x1)) & (x <= max(x0, x1)) & (y >= min(y0, y1)) & (y <= max(y0, y1))


def _first_by_priority(rows: np.ndarray, order: np.ndarray, limit: int) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    if limit <= 0:
        return rows[:0]
    return rows[np.argpartition(order[rows], limit - 1)[:limit]]


def rows_in_view(x: np.ndarray, y: np.ndarray, view: View | None, limit: int, keep: np.ndarray | None = None,
                 priority: np.ndarray | None = None) -> np.ndarray:
    """Rows drawn as markers for the region ``view``.

    Parameters
    ----------
    x, y : ndarray of shape (n_rows,)
        Map coordinates.
    view : (x0, x1, y0, y1) or None
        The visible region (None: the whole map).
    limit : int
        Most rows of the region drawn; above it, those of smallest ``priority``.
    keep : ndarray of int, optional
        Rows always drawn (e.g. the selected trailer), wherever they are.
    priority : ndarray of shape (n_rows,), optional
        Drawing priority of each row (default :func:`draw_priority` of ``n_rows``).

    Returns
    -------
    ndarray of int64
        Sorted rows: at most ``limit`` rows of the region, plus ``keep``.
    """
    priority = draw_priority(len(x)) if priority is None else priority
    rows = _first_by_priority(np.flatnonzero(in_view(x, y, view)), priority, int(limit))
    if keep is not None and len(keep):
        rows = np.union1d(rows, np.asarray(keep, dtype=np.int64))
    return np.sort(rows).astype(np.int64)


def capped_matches(mask: np.ndarray, x: np.ndarray, y: np.ndarray, view: View | None, cap: int = MATCH_CAP,
                   priority: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``mask`` (search/filter matches) inside ``view``, at most ``cap`` of them (smallest priority
    first, so the same ones stay drawn when zooming in); sorted."""
    priority = draw_priority(len(x)) if priority is None else priority
    rows = np.flatnonzero(np.asarray(mask, dtype=bool) & in_view(x, y, view))
    return np.sort(_first_by_priority(rows, priority, int(cap))).astype(np.int64)


def extent(x: np.ndarray, y: np.ndarray, pad: float = 0.02) -> View:
    """``(x0, x1, y0, y1)`` around every point, widened by ``pad`` times each spread (a unit box when empty)."""
    if not len(x):
        return (0.0, 1.0, 0.0, 1.0)
    x0, x1, y0, y1 = float(np.min(x)), float(np.max(x)), float(np.min(y)), float(np.max(y))
    dx, dy = max(x1 - x0, 1e-6) * pad, max(y1 - y0, 1e-6) * pad
    return (x0 - dx, x1 + dx, y0 - dy, y1 + dy)


def density_grid(x: np.ndarray, y: np.ndarray, view: View | None = None,
                 bins: int = DENSITY_BINS) -> tuple[np.ndarray, View]:
    """Counts of the points on a ``bins`` x ``bins`` grid over ``view`` (None: :func:`extent` of all points).

    Returns
    -------
    counts : ndarray of shape (bins, bins) of int64
        ``counts[i, j]``: points in row ``i`` (y) and column ``j`` (x) of the grid; the points of the
        region, so over the whole map they sum to the number of points.
    box : (x0, x1, y0, y1)
        The region the grid covers.
    """
    box = extent(x, y) if view is None else tuple(float(v) for v in view)
    x0, x1 = sorted(box[:2])
    y0, y1 = sorted(box[2:])
    x1, y1 = max(x1, x0 + 1e-9), max(y1, y0 + 1e-9)
    inside = in_view(x, y, (x0, x1, y0, y1))
    col = np.minimum(((x[inside] - x0) / (x1 - x0) * bins).astype(np.int64), bins - 1)
    row = np.minimum(((y[inside] - y0) / (y1 - y0) * bins).astype(np.int64), bins - 1)
    counts = np.bincount(row * bins + col, minlength=bins * bins).reshape(bins, bins)
    return counts, (x0, x1, y0, y1)


def density_trace(x: np.ndarray, y: np.ndarray, view: View | None = None, bins: int = DENSITY_BINS,
                  name: str = "density (all points)") -> dict:
    """The density layer of the points over ``view``: a plotly ``heatmap`` trace (a plain dict) of
    ``log(1 + count)`` per cell of :func:`density_grid`, empty cells transparent (NaN), its ``z`` a 2-D
    typed-array spec of ``bins * bins`` float32 values (about 350 kB whatever the number of points)."""
    counts, (x0, x1, y0, y1) = density_grid(x, y, view, bins)
    z = np.log1p(counts).astype(np.float32)
    z[counts == 0] = np.nan
    spec = {**typed_array(z.ravel()), "shape": f"{bins},{bins}"}
    dx, dy = (x1 - x0) / bins, (y1 - y0) / bins
    top = float(z[counts > 0].max()) if counts.any() else 1.0
    return {"type": "heatmap", "z": spec, "x0": x0 + dx / 2, "dx": dx, "y0": y0 + dy / 2, "dy": dy,
            "name": name, "colorscale": DENSITY_SCALE, "zmin": 0.0, "zmax": max(top, 1.0), "showscale": False,
            "hoverinfo": "skip", "zsmooth": False}
