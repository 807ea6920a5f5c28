"""Train page: launch background training runs of the paper's model and follow them."""

import streamlit as st

from mmx_core import jobs, workspace
from mmx_core.base.devices import DEVICE_LABELS, DEVICES
from mmx_core.train.config import STAGE_RECIPES
from ui import job_panels, widgets

widgets.setup("Train")
st.sidebar.title("MMX Explorer")
st.title("Train")
st.caption("Runs are background jobs: they keep going when this tab closes or the app restarts. "
           "One job at a time per device; others wait in the queue.")

data_sets = workspace.data_sets()
recipe = STAGE_RECIPES["coarse"]
with st.form("train_form"):
    left, mid, right = st.columns(3)
    stage = left.radio("Stage", jobs.STAGES, horizontal=True, key="f_stage",
                       help="coarse: genre classification; fine: contrastive fine-tuning from a coarse checkpoint")
    data = left.selectbox("Data set (data/ folder)", data_sets, key="f_data")
    epochs = mid.number_input("Epochs", 1, 1000, int(recipe["epochs"]), key="f_epochs")
    batch_size = mid.number_input("Batch size", 1, 4096, int(recipe["batch_size"]), key="f_batch")
    device = right.selectbox("Device", DEVICES, key="f_device", format_func=DEVICE_LABELS.get)
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="f_seed")
    checkpoints = workspace.checkpoints()
    init = st.selectbox("Starting checkpoint", [""] + list(checkpoints), key="f_init",
                        format_func=lambda c: c or "none (train from scratch)")
    name = st.text_input("Run name (optional)", key="f_name")
    submitted = st.form_submit_button("Launch")
if submitted:
    job_panels.submit(jobs.TrainRequest(stage=stage, data=data or "", epochs=int(epochs), batch_size=int(batch_size),
                                        device=device, seed=int(seed), init=str(checkpoints.get(init, "")),
                                        name=name.strip()), "Training run")
if not data_sets:
    st.info("No data set under data/ yet: generate a demo set here, import one or extract one from videos on the "
            "Data page, or use `python -m mmx_core synth ...`.")
    if st.button("Generate a demo data set", key="generate_demo"):
        job_panels.submit(jobs.GenerateRequest(dataset="demo"), "Demo data set")

st.subheader("Runs")
job_panels.job_list(("train", "generate", "embed"), empty="No runs yet.")
