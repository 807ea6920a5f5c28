"""Sub-genre groups on the app's map: what a map with many clusters colours, what a chosen group holds, the zoom.

A map of more than :data:`~mmx_core.appkit.map_tables.GROUPED_ABOVE` clusters carries groups (the parents of its
clusters in HDBSCAN's condensed tree, :attr:`~mmx_core.appkit.map_tables.MapData.groups`): the map is coloured by
group, and once a group is chosen, by the clusters inside it. Functions of a map take its
:class:`~mmx_core.appkit.map_tables.MapData` (``frame``, ``summaries``, ``groups``); numpy and pandas only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cluster_layers", "chooser_names", "group_names", "group_clusters", "chosen_members", "cluster_path",
           "focus_on"]


def cluster_layers(frame: pd.DataFrame, summaries: pd.DataFrame | None, groups: pd.DataFrame | None = None,
                   group: int | None = None, background: str = "noise") -> tuple[np.ndarray, pd.DataFrame | None, str]:
    """What the map coloured by cluster draws.

    Returns
    -------
    key : ndarray of shape (n_rows,)
        The layer of each row (-1: the grey layer).
    table : DataFrame or None
        The coloured layers, largest first: ``cluster`` (the key), labels, centre ``x, y``.
    background : str
        The grey layer's name.

    Without ``groups`` (or a ``group`` column in ``frame``): the clusters of ``summaries``. With them: one layer
    per group, or for a chosen ``group`` its clusters (the other groups grey).
    """
    if groups is None or "group" not in frame:
        return frame["cluster"].to_numpy(), summaries, background
    if group is None:
        return frame["group"].to_numpy(), groups.rename(columns={"group": "cluster"}), "noise"
    key = np.where(frame["group"].to_numpy() == group, frame["cluster"].to_numpy(), -1)
    inside = summaries[summaries["cluster"].isin(np.unique(key[key >= 0]))] if summaries is not None else None
    return key, inside, "noise and other groups"


def chooser_names(table: pd.DataFrame, key: str) -> dict:
    """``table[key]`` -> its label and size, ``"label (size)"``, as the choosers and headings show a cluster
    or a group."""
    return dict(zip(table[key], table["label"] + " (" + table["size"].astype(str) + ")"))


def group_names(data) -> dict:
    """Group -> its label and size, as the chooser shows it (empty on a map without groups)."""
    return {} if data.groups is None else chooser_names(data.groups, "group")


def group_clusters(data, group: int) -> pd.DataFrame:
    """The summaries of the clusters of ``group`` (largest first)."""
    return data.summaries[data.summaries["group"] == group] if data.groups is not None else data.summaries.iloc[:0]


def chosen_members(data, cluster: int | None, group: int | None = None) -> pd.DataFrame | None:
    """Rows of ``cluster`` if given (most confident first), else of ``group`` (a map with groups; by cluster, most
    confident first), else None."""
    if cluster is not None:
        return data.frame[data.frame["cluster"] == cluster].sort_values("probability", ascending=False)
    if group is None or data.groups is None:
        return None
    members = data.frame[data.frame["group"] == group]
    return members.sort_values(["cluster", "probability"], ascending=[True, False])


def cluster_path(data, row: int) -> str:
    """The cluster of row ``row`` as the trailer card names it: ``"group > cluster"`` on a map with groups."""
    label = str(data.frame["cluster_label"].iloc[row])
    group = int(data.frame["group"].iloc[row]) if data.groups is not None else -1
    if group < 0:
        return label
    labels = dict(zip(data.groups["group"], data.groups["label"]))
    return f"{labels.get(group, '?')} > {label}"


def focus_on(points: pd.DataFrame, pad: float = 0.05) -> tuple[float, float, float, float] | None:
    """Axis ranges ``(x0, x1, y0, y1)`` around the ``x, y`` of ``points`` (the ``focus`` of
    :func:`~mmx_core.appkit.map_figure.map_figure`), widened on every side by ``pad`` times their larger spread;
    None when there are no points."""
    if not len(points):
        return None
    margin = pad * max(np.ptp(points["x"]), np.ptp(points["y"]), 1e-3)
    return (points["x"].min() - margin, points["x"].max() + margin, points["y"].min() - margin,
            points["y"].max() + margin)
