"""Data page: the embedding sets and data sets available, loading a server folder, uploading embeddings."""

import streamlit as st

from mmx_core import workspace
from mmx_core.appkit import sets
from mmx_core.base.errors import MMXError
from pages.common import ui

ui.setup("Data")
st.sidebar.title("MMX Explorer")
st.title("Data")

st.subheader("Embedding sets")
infos = workspace.list_sets()
st.dataframe([{"name": c.name, "kind": c.kind, "generated features": c.generated, "file": str(c.path)} for c in infos],
             hide_index=True)
st.caption("Data sets for training (data/ folder): " + (", ".join(workspace.data_sets()) or "none yet"))

st.subheader("Load a data set folder on the server")
st.caption("The project's format (manifest.json) is validated in place; the authors' layout is imported into data/.")
folder = st.text_input("Folder path", key="w_folder")
import_name = st.text_input("Name (for an import)", key="w_folder_name")
if st.button("Validate", key="validate_folder"):
    try:
        with st.spinner("Validating..."):
            result = sets.check_folder(folder, import_name.strip())
        verdict = {True: "valid", False: "problems found", None: "import started"}[result["ok"]]
        show = {True: st.success, False: st.error, None: st.info}[result["ok"]]
        show(f"{result['kind']}: {verdict}" + (f" · {result['note']}" if result["note"] not in ("", verdict) else ""))
        st.code(result["report"], language="text")
    except (MMXError, OSError) as exc:
        st.error(str(exc))

st.subheader("Upload embeddings")
st.caption(f"An .npz with 'embeddings' (n x dim) and 'ids', up to {workspace.MAX_UPLOAD_BYTES / 1e6:.0f} MB, and "
           "optionally a CSV with id, title, year, genres (A|B|C). Without a CSV, published ids get published metadata.")
with st.form("upload_form", clear_on_submit=True):
    npz = st.file_uploader("Embeddings (.npz)", type=["npz"], key="w_npz")
    csv = st.file_uploader("Metadata (.csv, optional)", type=["csv"], key="w_csv")
    name = st.text_input("Name", key="w_upload_name")
    sent = st.form_submit_button("Add")
if sent:
    if npz is None:
        st.error("Choose an .npz file first.")
    else:
        try:
            info = workspace.save_upload(name.strip(), npz.getvalue(), csv.getvalue() if csv else None)
            st.success(f"Added {info.label}; choose it in the embedding set chooser of any page.")
        except MMXError as exc:
            st.error(f"Not added: {exc}")
