"""Data page: the embedding sets and data sets available, loading a server folder, uploading embeddings."""

import streamlit as st

from mmx_core import jobs, workspace
from mmx_core.appkit import dataset_folders, uploads
from mmx_core.base.devices import DEVICE_LABELS, DEVICES, PRECISION_LABELS, PRECISIONS
from mmx_core.base.errors import MMXError
from mmx_core.extract.experts import DEFAULT_EXPERTS, expert_names
from ui import job_panels, widgets

widgets.setup("Data")
st.title("Data")

st.subheader("Embedding sets")
infos = workspace.list_sets()
st.dataframe([{"name": c.name, "kind": c.kind, "generated features": c.generated, "untrained backbones": c.untrained,
               "file": str(c.path)} for c in infos], hide_index=True)
st.caption("Data sets for training (data/ folder): " + (", ".join(workspace.data_sets()) or "none yet"))

st.subheader("Load a data set folder on the server")
st.caption("The project's format (manifest.json) is validated in place; the authors' layout is imported into data/.")
folder = st.text_input("Folder path", key="w_folder")
import_name = st.text_input("Name (for an import)", key="w_folder_name")
if st.button("Validate", key="validate_folder"):
    try:
        with st.spinner("Validating..."):
            result = dataset_folders.check_folder(folder, import_name.strip())
        verdict = {True: "valid", False: "problems found", None: "import started"}[result["ok"]]
        show = {True: st.success, False: st.error, None: st.info}[result["ok"]]
        show(f"{result['kind']}: {verdict}" + (f" · {result['note']}" if result["note"] not in ("", verdict) else ""))
        st.code(result["report"], language="text")
    except (MMXError, OSError) as exc:
        st.error(str(exc))

st.subheader("Add trailers from a video folder")
st.caption("Expert features (image, scene, motion, audio) are extracted from every video under the folder into a "
           "data set under data/, which the Train page can then use. See docs/extract.md for the weights files.")
with st.form("extract_form"):
    left, right = st.columns(2)
    videos = left.text_input("Video folder on the server", key="w_videos")
    meta = left.text_input("Metadata table (.csv or .parquet, optional)", key="w_meta")
    dataset = right.text_input("Data set name", key="w_extract_name")
    experts = right.multiselect("Experts", expert_names(), default=list(DEFAULT_EXPERTS), key="w_experts")
    device = right.selectbox("Device", DEVICES, key="w_extract_device", format_func=DEVICE_LABELS.get)
    precision = right.selectbox("Precision", PRECISIONS, key="w_extract_precision", format_func=PRECISION_LABELS.get,
                                help="recorded in the data set's manifest; features are stored in float16 either way")
    untrained = left.checkbox("Untrained backbones (random weights: only to try the pipeline)", key="w_untrained")
    allow_partial = left.checkbox("Keep what decodes of truncated or damaged files (recorded in the data set)",
                                  key="w_allow_partial")
    strict = right.checkbox("Refuse metadata rows that match no video or the same video twice", key="w_strict")
    extract = st.form_submit_button("Extract")
if extract:
    job_panels.submit(jobs.ExtractRequest(videos=videos.strip(), dataset=dataset.strip(), meta=meta.strip(),
                                          experts=",".join(experts), device=device, precision=precision,
                                          untrained=untrained, allow_partial=allow_partial, strict=strict),
                      "Extraction")
left, right = st.columns(2)
if left.button("Generate a demo data set (planted sub-genres)", key="generate_demo"):
    job_panels.submit(jobs.GenerateRequest(dataset="demo"), "Demo data set")
chosen = right.selectbox("Precompute the maps and sub-genres of", [i.name for i in infos], key="w_precompute_set")
if right.button("Precompute in the background", key="precompute"):
    job_panels.submit(jobs.PrecomputeRequest(embedding_set=chosen), "Precompute")
job_panels.job_list(("import", "extract", "generate", "precompute"), empty="No data jobs yet.")

st.subheader("Upload embeddings")
st.caption(f"An .npz with 'embeddings' (n x dim) and 'ids', up to {uploads.MAX_UPLOAD_BYTES / 1e6:.0f} MB, and "
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
            info = uploads.save_upload(name.strip(), npz.getvalue(), csv.getvalue() if csv else None)
            st.success(f"Added {info.label}; choose it in the embedding set chooser of any page.")
        except MMXError as exc:
            st.error(f"Not added: {exc}")
