"""Train page: launch background training runs of the paper's model and follow them."""

import streamlit as st

from mmx_core import jobs, workspace
from mmx_core.annotations.store import AnnotationStore
from mmx_core.base.devices import DEVICE_LABELS, DEVICES, PRECISION_LABELS, PRECISIONS
from mmx_core.train.config import STAGE_RECIPES
from ui import job_panels, widgets

widgets.setup("Train")
st.title("Train")
st.caption("Runs are background jobs: they keep going when this tab closes or the app restarts. "
           "One job at a time per device; others wait in the queue.")

data_sets = workspace.data_sets()
stage = st.radio("Stage", jobs.STAGES, horizontal=True, key="f_stage",
                 help="coarse: genre classification; fine: contrastive fine-tuning from a coarse checkpoint")
recipe = STAGE_RECIPES[stage]
annotated = [s.name for s in workspace.list_sets() if AnnotationStore.for_set(s.name).last_change()]
with st.form(f"train_form_{stage}"):
    left, mid, right = st.columns(3)
    data = left.selectbox("Data set (data/ folder)", data_sets, key="f_data")
    epochs = mid.number_input("Epochs", 1, 1000, int(recipe["epochs"]), key=f"f_epochs_{stage}",
                              help=f"the {stage} stage's recipe: {recipe['epochs']}")
    batch_size = mid.number_input("Batch size", 1, 4096, int(recipe["batch_size"]), key=f"f_batch_{stage}",
                                  help=f"the {stage} stage's recipe: {recipe['batch_size']}")
    device = right.selectbox("Device", DEVICES, key="f_device", format_func=DEVICE_LABELS.get)
    precision = right.selectbox("Precision", PRECISIONS, key="f_precision", format_func=PRECISION_LABELS.get,
                                help="recorded in the run's config.json")
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="f_seed")
    checkpoints = workspace.checkpoints()
    init = st.selectbox("Starting checkpoint", [""] + list(checkpoints), key="f_init",
                        format_func=lambda c: c or "none (train from scratch)")
    teach = st.selectbox("Teach it the named sub-genres and tags of", [""] + annotated, key="f_tags",
                         format_func=lambda s: s or "none (the paper's fine stage)",
                         help="trailers sharing a name or tag become positives of a supervised contrastive term "
                              "beside NT-Xent (train --tags)") if stage == "fine" else ""
    name = st.text_input("Run name (optional)", key="f_name")
    submitted = st.form_submit_button("Launch")
if submitted:
    tags = str(AnnotationStore.for_set(teach).export_copy()) if teach else ""
    job_panels.submit(jobs.TrainRequest(
        stage=stage, data=data or "", device=device, seed=int(seed), init=str(checkpoints.get(init, "")),
        epochs=0 if epochs == recipe["epochs"] else int(epochs), tags=tags, name=name.strip(), precision=precision,
        batch_size=0 if batch_size == recipe["batch_size"] else int(batch_size)), "Training run")
if not data_sets:
    st.info("No data set under data/ yet: generate a demo set here, import one or extract one from videos on the "
            "Data page, or use `python -m mmx_core synth ...`.")
    if st.button("Generate a demo data set", key="generate_demo"):
        job_panels.submit(jobs.GenerateRequest(dataset="demo"), "Demo data set")

st.subheader("Runs")
job_panels.job_list(("train", "generate", "embed"), empty="No runs yet.")
