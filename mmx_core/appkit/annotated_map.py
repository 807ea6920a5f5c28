"""A map with its set's annotations: names on the clusters they match, layers by named sub-genre or by tag.

The app's map (:class:`~mmx_core.appkit.map_tables.MapData`) is computed once per set and parameters and shared
by every session; the annotations change whenever someone names or tags. :func:`annotate` joins the two
into an :class:`AnnotatedMap` (built once per map and store revision):

- ``data``: the map with each cluster that a named sub-genre matches (:mod:`mmx_core.annotations.carry`,
  Jaccard at least :data:`~mmx_core.annotations.carry.MATCH_THRESHOLD`) labelled by that name, and an
  ``subgenres`` and ``tags`` columns (``"; "``-joined, what tables and their CSV show) and an ``annotations``
  column (both, marked, for hover texts);
- ``by_name`` / ``by_tag``: the same map whose ``cluster`` column is the trailer's named sub-genre (the
  smallest holding it) or its first tag, with summaries of those layers, so the map colours them as it
  colours clusters;
- ``matches``: where each named sub-genre lands (cluster, Jaccard, clusters spanned).

numpy and pandas only; no streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mmx_core.annotations.carry import match_names
from mmx_core.appkit.map_tables import NOISE, MapData

__all__ = ["AnnotatedMap", "annotate", "NAME_MARK", "members_of_rows", "named_in_two_spaces"]

NAME_MARK = "★ "
"""What marks a cluster's label as a name someone gave."""


@dataclass(frozen=True)
class AnnotatedMap:
    """See the module docstring. ``names`` and ``tags`` are per row of the map (lists of str); ``name_rows`` and
    ``tag_rows`` map each name and tag to the rows of the map holding it (what a filter or a chosen name
    outlines, without a pass over every row)."""

    data: MapData
    matches: pd.DataFrame
    by_name: MapData
    by_tag: MapData
    names: pd.Series
    tags: pd.Series
    name_rows: dict
    tag_rows: dict


def _layer_summaries(frame: pd.DataFrame, key: np.ndarray, labels: list[str]) -> pd.DataFrame:
    """Summaries of layers ``0..len(labels)-1`` of ``key`` in the columns the map reads, largest first."""
    rows = []
    for layer, label in enumerate(labels):
        inside = key == layer
        if inside.any():
            part = frame.loc[inside]
            rows.append({"cluster": layer, "label": label, "short_label": label, "legend_label": label,
                         "size": int(inside.sum()), "genres": "", "typical": ", ".join(part["display_title"].head(3)),
                         "x": float(part["x"].mean()), "y": float(part["y"].mean())})
    columns = ["cluster", "label", "short_label", "legend_label", "size", "genres", "typical", "x", "y"]
    return pd.DataFrame(rows, columns=columns).sort_values("size", ascending=False, ignore_index=True)


def _layered(data: MapData, per_row: pd.Series, order: list[str], mark: str, what: str) -> MapData:
    """``data`` coloured by the names of ``per_row``: a row lies in the layer of its first name in ``order``."""
    layer_of = {name: i for i, name in enumerate(order)}
    key = np.array([min((layer_of[n] for n in names), default=NOISE) for names in per_row], dtype=np.int64)
    labels = [mark + name for name in order]
    frame = data.frame.copy(deep=False)
    frame["cluster"] = key
    label_of = dict(enumerate(labels))
    frame["cluster_label"] = [label_of.get(k, f"no {what}") for k in key]
    return MapData(frame, _layer_summaries(frame, key, labels), data.note, {**data.params, "layers": what},
                   background=f"no {what}")


def members_of_rows(ids: pd.Series, groups: dict[str, frozenset[str]]) -> pd.Series:
    """Per row of ``ids``: the sorted names of ``groups`` (name -> member ids) holding it."""
    holding: dict[str, list[str]] = {}
    for name in sorted(groups):
        for member in groups[name]:
            holding.setdefault(member, []).append(name)
    return pd.Series([holding.get(i, []) for i in ids], index=ids.index, dtype=object)


def _rows_of(ids: pd.Series, groups: dict[str, frozenset[str]]) -> dict[str, np.ndarray]:
    """Each group (name -> member ids) -> the sorted rows of ``ids`` holding its members."""
    position = pd.Index(ids)
    return {name: np.sort(found[found >= 0]) for name, found in
            ((name, position.get_indexer(list(members))) for name, members in groups.items())}


def _relabel(matches: pd.DataFrame):
    """``relabel(cluster, label)``: a cluster that named sub-genres match is labelled with them (``★ A + B``); one
    that holds names keeps its label and says so (``label · holds ★ A``); others keep their label."""
    ordered = matches.sort_values(["jaccard", "name"], ascending=[False, True])
    names = ordered[ordered["matched"]].groupby("cluster", sort=False)["name"].agg(" + ".join).to_dict()
    held = ordered[ordered["held"]].groupby("cluster", sort=False)["name"].agg(
        lambda n: ", ".join(NAME_MARK + x for x in n)).to_dict()

    def relabel(cluster: int, label: str) -> str:
        label = NAME_MARK + names[cluster] if cluster in names else label
        return f"{label} · holds {held[cluster]}" if cluster in held else label
    return relabel


def annotate(data: MapData, subgenres: dict, tags: pd.DataFrame) -> AnnotatedMap:
    """``data`` with the named sub-genres ``subgenres`` (name -> object with ``members``) and the tags
    ``tags`` (``id, tag`` rows) of its set (see the module docstring)."""
    frame = data.frame
    named = {name: frozenset(s.members) for name, s in subgenres.items()}
    tagged = {t: frozenset(part["id"]) for t, part in tags.groupby("tag")} if len(tags) else {}
    names, row_tags = members_of_rows(frame["id"], named), members_of_rows(frame["id"], tagged)
    matches = match_names(named, frame["id"], frame["cluster"].to_numpy())
    relabel = _relabel(matches)
    summaries = data.summaries.copy()
    for column in ("label", "short_label", "legend_label"):
        if column in summaries:
            summaries[column] = [relabel(c, old) for c, old in zip(summaries["cluster"], summaries[column])]
    out = frame.copy(deep=False)
    out["cluster_label"] = [relabel(c, old) for c, old in zip(frame["cluster"], frame["cluster_label"])]
    out["subgenres"] = ["; ".join(ns) for ns in names]
    out["tags"] = ["; ".join(ts) for ts in row_tags]
    out["annotations"] = [" · ".join([NAME_MARK + n for n in ns] + ["#" + t for t in ts])
                          for ns, ts in zip(names, row_tags)]
    by_size = sorted(named, key=lambda n: (len(named[n]), n))
    by_count = sorted(tagged, key=lambda t: (-len(tagged[t]), t))
    return AnnotatedMap(
        data=replace(data, frame=out, summaries=summaries),
        matches=matches,
        by_name=_layered(replace(data, frame=out), names, by_size, NAME_MARK, "named sub-genre"),
        by_tag=_layered(replace(data, frame=out), row_tags, by_count, "#", "tag"),
        names=names, tags=row_tags, name_rows=_rows_of(frame["id"], named), tag_rows=_rows_of(frame["id"], tagged))


def named_in_two_spaces(table: pd.DataFrame, named: dict[str, frozenset[str]]) -> pd.DataFrame:
    """How each named sub-genre sits in two spaces of the same trailers (the Compare page).

    ``table`` is a comparison's per-trailer table (``id, jaccard, cluster_a, cluster_b``: each trailer's
    neighbour overlap and its cluster in each space); ``named`` maps names to member ids. One row per name:
    ``members`` (found in both spaces), ``neighbour_overlap`` (the members' mean Jaccard@k), and per space
    ``clusters_a``/``clusters_b`` (clusters its members spread over) and ``match_a``/``match_b`` (Jaccard of
    the best-matching cluster).
    """
    columns = ["name", "members", "neighbour_overlap", "clusters_a", "match_a", "clusters_b", "match_b"]
    sides = {side: match_names(named, table["id"], table[f"cluster_{side}"].to_numpy()).set_index("name")
             for side in ("a", "b")}                          # one matching per space, every name at once
    rows = []
    for name, members in sorted(named.items()):
        inside = table["id"].isin(members).to_numpy()
        a, b = sides["a"].loc[name], sides["b"].loc[name]
        rows.append([name, int(inside.sum()), round(float(table["jaccard"][inside].mean()), 3) if inside.any() else np.nan,
                     a["clusters_spanned"], a["jaccard"], b["clusters_spanned"], b["jaccard"]])
    return pd.DataFrame(rows, columns=columns)
