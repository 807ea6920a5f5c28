"""Train page: launch background training runs of the paper's model and follow them."""

import streamlit as st

from mmx_core import workspace
from mmx_core.appkit import figures

from mmx_core.jobs import launcher as jobs
from mmx_core.base.devices import DEVICE_LABELS, DEVICES
from mmx_core.base.errors import MMXError
from pages.common import ui

ui.setup("Train")
st.sidebar.title("MMX Explorer")
st.title("Train")
st.caption("Runs are background processes: they keep going when this tab closes or the app restarts. "
           "One run at a time per device; others wait in the queue.")

data_sets = workspace.data_sets()
with st.form("train_form"):
    left, mid, right = st.columns(3)
    stage = left.radio("Stage", jobs.STAGES, horizontal=True, key="f_stage",
                       help="coarse: genre classification; fine: contrastive fine-tuning from a coarse checkpoint")
    data = left.selectbox("Data set (data/ folder)", data_sets, key="f_data")
    epochs = mid.number_input("Epochs", 1, 1000, 10, key="f_epochs")
    batch_size = mid.number_input("Batch size", 1, 4096, 32, key="f_batch")
    device = right.selectbox("Device", DEVICES, key="f_device", format_func=DEVICE_LABELS.get)
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, key="f_seed")
    init = st.selectbox("Starting checkpoint", [""] + list(workspace.checkpoints()), key="f_init",
                        format_func=lambda c: c or "none (train from scratch)")
    name = st.text_input("Run name (optional)", key="f_name")
    submitted = st.form_submit_button("Launch")
if not data_sets:
    st.info("No data set under data/ yet: generate one (`python -m mmx_core synth ...`) or import one on the Data page.")
if submitted:
    try:
        run_dir = jobs.submit(jobs.TrainRequest(stage, data or "", int(epochs), int(batch_size), device, int(seed),
                                                init, name.strip()))
        st.success(f"Run {run_dir.name} queued.")
    except MMXError as exc:
        st.error(str(exc))


@st.fragment(run_every=2)
def runs_panel() -> None:
    jobs.dispatch()
    runs = jobs.list_runs()
    if not runs:
        st.info("No runs yet.")
        return
    for run in runs:
        status = run.status
        eta = status.get("eta_s")
        header = (f"{run.name} · {run.state} · epoch {status.get('epoch', 0)}/{status.get('epochs', '?')}"
                  + (f" · ETA {eta:.0f} s" if isinstance(eta, (int, float)) and run.state == "running" else ""))
        with st.expander(header, expanded=run.state in jobs.ACTIVE or run is runs[0]):
            st.progress(run.progress, text=f"{run.progress:.0%} · {status.get('message') or ''}")
            buttons = st.columns(4)
            if run.state in jobs.ACTIVE and buttons[0].button("Cancel", key=f"cancel_{run.name}"):
                jobs.cancel(run.name)
                st.rerun()
            if run.state in ("cancelled", "failed", "finished") and buttons[1].button("Resume", key=f"resume_{run.name}"):
                try:
                    jobs.resume(run.name)
                except MMXError as exc:
                    st.error(str(exc))
                st.rerun()
            if run.state == "finished" and data_sets:
                target = buttons[2].selectbox("Embed data set", data_sets, key=f"embed_data_{run.name}",
                                              label_visibility="collapsed")
                if buttons[3].button("Embed with this encoder", key=f"embed_{run.name}"):
                    path = jobs.submit_embed(run.name, target)
                    st.success(f"Embedding in the background into {path.name}; it appears in the set choosers.")
            events = jobs.read_events(run.name)
            if not events.empty and "loss" in events:
                steps = events[events["event"].isin(["step", "epoch"])].reset_index(drop=True)
                steps["logged step"] = range(len(steps))
                val_cols = [c for c in events.columns if c.startswith("val_")]
                chart_cols = st.columns(2)
                chart_cols[0].plotly_chart(figures.curves_figure(steps, "logged step", ["loss"], "training loss"),
                                           width="stretch", key=f"loss_{run.name}")
                if val_cols:
                    chart_cols[1].plotly_chart(figures.curves_figure(events.dropna(subset=val_cols, how="all"),
                                                                     "epoch", val_cols, "validation"),
                                               width="stretch", key=f"val_{run.name}")
            st.code(jobs.tail_log(run.name) or "(no log yet)", language="text")


st.subheader("Runs")
runs_panel()
