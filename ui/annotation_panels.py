"""The Explore page's workbench: name clusters and selections, tag trailers, keep notes and saved views, undo.

Every change goes to the set's annotation store (:mod:`mmx_core.annotations.store`) under the visitor's name
(:func:`ui.signin.author`), then the whole page reruns so the map, the labels and the tables show it. The map
joins the store through :func:`annotated_map` (built once per map and store revision, shared by sessions).
"""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from mmx_core.annotations.carry import MATCH_THRESHOLD
from mmx_core.annotations.store import AnnotationStore
from mmx_core.appkit import map_tables
from mmx_core.appkit.annotated_map import NAME_MARK, AnnotatedMap, annotate
from mmx_core.appkit.url_state import ViewState
from mmx_core.base.errors import MMXError
from ui import signin, widgets


def store(name: str) -> AnnotationStore:
    """The annotation store of set ``name``, writing under the visitor's name."""
    return AnnotationStore.for_set(name, author=signin.author())


@st.cache_resource(show_spinner=False, max_entries=24)
def _annotated(_data: map_tables.MapData, scope: tuple, revision: str) -> AnnotatedMap:
    annotations = AnnotationStore.for_set(scope[0])
    return annotate(_data, annotations.subgenres(), annotations.tags())


def annotated_map(name: str, data: map_tables.MapData, scope: tuple) -> tuple[AnnotatedMap | None, str]:
    """The map ``data`` of set ``name`` with its annotations (None while the set has none) and the store's revision."""
    try:
        revision = AnnotationStore.for_set(name).revision()
        return (_annotated(data, scope, revision) if revision else None), revision
    except MMXError as exc:
        st.error(str(exc))
        return None, ""


def change(action, *args, **kwargs) -> None:
    """Run one store change; on success rerun the page (everything shows it), else show why, one line."""
    try:
        action(*args, **kwargs)
    except MMXError as exc:
        st.error(str(exc))
        return
    st.rerun()


def _named_form(key: str, label: str, button: str, on_submit, placeholder: str = "") -> None:
    """A one-line text form; ``on_submit(text)`` runs when it is sent with some text."""
    with st.form(key, clear_on_submit=True, border=False):
        text = st.text_input(label, key=f"{key}_text", placeholder=placeholder)
        if st.form_submit_button(button) and text.strip():
            on_submit(text.strip())


def name_cluster(name: str, data: map_tables.MapData, cluster: int, annotated: AnnotatedMap | None) -> None:
    """Name the chosen cluster (it becomes a named sub-genre of its members), or rename the name it carries."""
    members = data.frame.loc[data.frame["cluster"] == cluster, "id"].tolist()
    carried = None
    if annotated is not None:
        shown = annotated.matches[annotated.matches["matched"] & (annotated.matches["cluster"] == cluster)]
        carried = shown.sort_values("jaccard").iloc[-1]["name"] if len(shown) else None
    if carried:
        _named_form("rename_cluster", f"Rename {NAME_MARK}{carried}", "Rename",
                    lambda text: change(store(name).rename_subgenre, carried, text))
    else:
        _named_form("name_cluster", "Name this cluster", "Name it",
                    lambda text: change(store(name).name_subgenre, text, members), "e.g. 1970s Italian horror")


def trailer_annotations(name: str, trailer: str, annotated: AnnotatedMap | None, row: int) -> None:
    """The clicked trailer's names, tags (each removable) and note, with a box to tag it and one for its note."""
    names, tags = (annotated.names.iloc[row], annotated.tags.iloc[row]) if annotated is not None else ([], [])
    if names:
        st.caption("named sub-genres: " + ", ".join(NAME_MARK + n for n in names))
    if tags:
        columns = st.columns(min(len(tags), 4))
        for i, tag in enumerate(tags):
            if columns[i % len(columns)].button(f"#{tag} ✕", key=f"untag_{i}", help="take this tag off"):
                change(store(name).untag, [trailer], tag)
    _named_form("tag_trailer", "Tag this trailer", "Add tag", lambda text: change(store(name).tag, [trailer], text))
    others = sorted(set(annotated.matches["name"]) - set(names)) if annotated is not None else []
    if others:                                                   # a hand-picked list, one trailer at a time
        pick, add = st.columns([3, 1], vertical_alignment="bottom")
        target = pick.selectbox("Add it to a named sub-genre", others, key="trailer_target")
        if add.button("Add", key="trailer_add"):
            change(store(name).add_members, target, [trailer])
    note = store(name).notes().get(trailer, "") if annotated is not None else ""
    with st.form("trailer_note", border=False):
        text = st.text_area("Note", value=note, key=f"note_{trailer}", height=70)
        if st.form_submit_button("Save note") and text != note:
            change(store(name).set_note, trailer, text)


def selection_actions(name: str, ids: list[str], annotated: AnnotatedMap | None) -> None:
    """Name, tag or move the ``ids`` of the current selection (a box, lasso, search, or a chosen cluster)."""
    if not ids:
        return
    with st.expander(f"Name or tag these {len(ids)} trailers", expanded=False):
        _named_form("tag_selection", "Tag them all", "Tag", lambda text: change(store(name).tag, ids, text))
        _named_form("name_selection", "Make a named sub-genre of them", "Name them",
                    lambda text: change(store(name).name_subgenre, text, ids))
        existing = sorted(annotated.matches["name"]) if annotated is not None else []
        if existing:
            target = st.selectbox("Named sub-genre", existing, key="selection_target")
            add, remove, split = st.columns(3)
            if add.button("Add them", key="sel_add"):
                change(store(name).add_members, target, ids)
            if remove.button("Take them out", key="sel_remove"):
                change(store(name).remove_members, target, ids)
            with split:
                _named_form("split_selection", "Split them out as", "Split",
                            lambda text: change(store(name).split_subgenre, target, ids, text))


def named_panel(name: str, annotated: AnnotatedMap | None, clusters: dict) -> None:
    """The named sub-genres: where each lands on this map, the one chosen (view ``named``) and its edits."""
    if annotated is None or annotated.matches.empty:
        if st.session_state["view"].named:
            widgets.update(named="")                       # a name deleted (or a link naming none): forgotten
        st.caption("No named sub-genres yet: choose a cluster and name it, or name a selection.")
        return
    table = annotated.matches.copy()
    table["lands on"] = [clusters.get(c, "-") if m else f"inside {clusters.get(c, '-')}" if h
                         else f"unmatched (spread over {s} clusters)"
                         for c, m, h, s in zip(table["cluster"], table["matched"], table["held"],
                                               table["clusters_spanned"])]
    st.dataframe(table[["name", "members", "lands on", "jaccard"]], hide_index=True, height=min(240, 38 + 35 * len(table)))
    options = [""] + sorted(table["name"])
    if st.session_state["view"].named not in options:
        widgets.update(named="")
    chosen = widgets.bound(st.selectbox, "named", "Show a named sub-genre", options,
                           format_func=lambda n: n or "none")
    if chosen:
        _edit_named(name, chosen, annotated, table)


def _edit_named(name: str, chosen: str, annotated: AnnotatedMap, table: pd.DataFrame) -> None:
    row = table.set_index("name").loc[chosen]
    if not row["matched"]:
        where = "lies mostly inside one cluster" if row["held"] else "matches no cluster"
        st.info(f"{chosen} {where} of this map (Jaccard {row['jaccard']:.2f}, under the {MATCH_THRESHOLD} that "
                "names a cluster); its members are outlined and listed below.")
    with st.expander(f"Edit {NAME_MARK}{chosen}"):
        _named_form("rename_named", "Rename to", "Rename", lambda text: change(store(name).rename_subgenre, chosen, text))
        others = [n for n in table["name"] if n != chosen]
        if others:
            with st.form("merge_named", border=False):
                merged = st.multiselect("Merge with", others, key="merge_with")
                if st.form_submit_button("Merge") and merged:
                    change(store(name).merge_subgenres, [chosen, *merged], chosen)
        with st.form("describe_named", border=False):
            note = st.text_area("Note on this sub-genre", key="named_note", height=70)
            colour = st.color_picker("Colour", value="#1f77b4", key="named_colour")
            if st.form_submit_button("Save note and colour"):
                change(store(name).describe_subgenre, chosen, note=note or None, colour=colour)
        if st.button("Delete this name", key="delete_named"):
            change(store(name).delete_subgenre, chosen)


def named_members(annotated: AnnotatedMap | None, named: str) -> np.ndarray | None:
    """Rows of the map holding the named sub-genre ``named`` (None when none is chosen)."""
    if annotated is None or not named:
        return None
    return annotated.name_rows.get(named, np.zeros(0, dtype=np.int64))


def tag_filter(annotated: AnnotatedMap | None) -> np.ndarray | None:
    """The sidebar's tag filter (the view's ``tags``): the rows carrying any chosen tag, None when none chosen."""
    known = sorted(annotated.tag_rows) if annotated is not None else []
    view = st.session_state["view"]
    if not known:
        if view.tags:
            widgets.update(tags=())
        return None
    if any(t not in known for t in view.tags):
        widgets.update(tags=tuple(t for t in view.tags if t in known))
        st.session_state.pop("w_tags", None)
    chosen = widgets.bound(st.sidebar.multiselect, "tags", "Filter: any of these tags", known)
    if not chosen:
        return None
    mask = np.zeros(len(annotated.tags), dtype=bool)
    mask[np.concatenate([annotated.tag_rows[tag] for tag in chosen])] = True
    return mask


def undo_and_views(name: str) -> None:
    """Sidebar: undo the visitor's latest change; save the view; the saved views as links."""
    annotations = store(name)
    latest = next((c for c in annotations.history(limit=1) if c.action != "undo"), None)
    if latest is not None and st.sidebar.button(f"Undo: {latest.summary}", key="undo", help=f"by {latest.author}"):
        change(annotations.undo, own_only=True)
    with st.sidebar.expander("Saved views"):
        _named_form("save_view", "Save this view as", "Save view",
                    lambda text: change(annotations.save_view, text, st.session_state["view"].to_params()))
        for title, params in annotations.views().items():
            link, open_col = st.columns([3, 1])
            link.markdown(f"[{title}](?{urlencode(params)})")
            if open_col.button("Open", key=f"view_{title}"):
                _open_view(params)


def _open_view(params: dict) -> None:
    """Show a saved view: its parameters become the view state (and the widgets start from them)."""
    for key in [k for k in st.session_state if str(k).startswith("w_")]:
        del st.session_state[key]
    st.session_state["view"] = ViewState.from_params(params)
    widgets.sync_url()
    st.rerun()


def named_of(*set_names: str) -> dict[str, frozenset[str]]:
    """The named sub-genres of the sets ``set_names`` (name -> members; a name in several sets: the first's)."""
    found: dict[str, frozenset[str]] = {}
    for set_name in reversed(set_names):
        try:
            found.update({n: s.members for n, s in AnnotationStore.for_set(set_name).subgenres().items()})
        except MMXError as exc:
            st.error(str(exc))
    return found


def annotations_file(name: str, ids, titles) -> None:
    """Sidebar: download every annotation of the set as a CSV; import one (rows of unknown trailers reported)."""
    from mmx_core.annotations.table import parse_table, table_text, usable_rows

    annotations = store(name)
    with st.sidebar.expander("Annotations file (CSV)", expanded="_import_report" in st.session_state):
        if report := st.session_state.pop("_import_report", None):
            (st.warning if len(report) > 1 else st.success)("\n\n".join(report))
        st.download_button("Download names, tags and notes",                # written when clicked, not every run
                           lambda: table_text(annotations.rows(), dict(zip(ids, titles))),
                           f"{name.replace(':', '_').replace('/', '_')}-annotations.csv", "text/csv",
                           key="download_annotations", on_click="ignore")
        upload = st.file_uploader("Import a CSV (id, tag, kind, note, colour)", type=["csv"], key="import_annotations")
        if upload is not None and st.button("Import it", key="import_go"):
            try:
                rows, problems = usable_rows(parse_table(upload.getvalue(), upload.name), ids, name)
                if not rows:
                    raise MMXError(f"no row of {upload.name} could be imported ({len(problems)} skipped)")
                annotations.import_rows(rows, source=upload.name[:100])
            except MMXError as exc:
                st.error(str(exc))
                return
            st.session_state["_import_report"] = [f"Imported {len(rows)} rows of {upload.name}."] + [
                f"skipped{f' line {line}' if line else ''}: {problem}" for line, problem in problems[:10]] + (
                [f"... and {len(problems) - 10} more skipped rows"] if len(problems) > 10 else [])
            st.rerun()
