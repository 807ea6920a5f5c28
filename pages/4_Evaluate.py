"""Evaluate page: the Table-2-like report of a model beside the paper's numbers, F1 bars and PR curves."""

import streamlit as st

from mmx_core import jobs, workspace
from mmx_core.appkit import evalview, figures
from mmx_core.base.errors import MMXError
from mmx_core.trailers.genres import PAPER_GENRES
from mmx_core.evaluate.predictions import load_predictions
from mmx_core.evaluate.probe import probe_path
from ui import job_panels, widgets

widgets.setup("Evaluate")
st.title("Evaluate")

sources = {"probe:published": "linear probe on the published embeddings (128 PCA components, 80/20 split)"}
sources.update({f"file:{k}": f"predictions file {k}" for k in workspace.prediction_files()})
sources.update({f"ckpt:{k}": f"checkpoint {k}" for k in workspace.checkpoints()})
source = st.selectbox("Scores to evaluate", list(sources), format_func=sources.get, key="w_eval_source")
data = st.selectbox("Data set (for a checkpoint)", workspace.data_sets(), key="w_eval_data") if source.startswith("ckpt:") else None
if st.button("Evaluate", key="evaluate") or st.session_state.get("_eval_for") == source:
    try:
        with st.spinner("Scoring (cached after the first time)..."):
            kind, _, key = source.partition(":")
            if kind == "probe":
                cached = probe_path(widgets.load_set(key), compute=False)
                if cached is None:  # the probe runs as a background job (`python -m mmx_core probe SET`)
                    if not any(j.state in jobs.ACTIVE and j.request.embedding_set == key
                               for j in jobs.list_jobs("probe")):
                        job_panels.submit(jobs.ProbeRequest(embedding_set=key), "The linear probe")
                    st.session_state["_eval_for"] = source
                    st.caption("Press Evaluate again when the probe job has finished.")
                    job_panels.job_list(("probe",))
                    st.stop()
                pred = load_predictions(cached)
            elif kind == "file":
                pred = workspace.load_prediction_file(key)
            else:
                pred = evalview.checkpoint_predictions(key, data or "", "test")
        st.session_state["_eval_for"] = source
    except (MMXError, ImportError) as exc:
        st.error(f"Cannot evaluate {sources[source]}: {exc}")
        st.stop()
    report, summary, per_genre = evalview.report_tables(pred)
    st.markdown(f"**{sources[source]}**: {report.n_trailers:,} test trailers, {len(pred.genres)} genres, threshold 0.5.")
    left, right = st.columns([1, 2])
    left.dataframe(summary, hide_index=True)
    right.dataframe(per_genre, hide_index=True, height=300)
    st.plotly_chart(figures.bar_figure(per_genre, "genre", ["F1", "paper F1"], "Per-genre F1: this model vs the paper"),
                    width="stretch")
    chosen = st.multiselect("Genres for precision-recall curves", pred.genres, default=pred.genres[:3], key="w_pr")
    st.plotly_chart(figures.pr_curve_figure(evalview.pr_curves(pred, chosen)), width="stretch")
else:
    st.info("Choose scores and press Evaluate.")

st.subheader("The paper's Table 2 (per-genre F1 on the MMX-Trailer-20 test set)")
st.caption("Thriller and Western support are swapped back (see docs/data-format.md).")
table = evalview.paper_table()
st.dataframe(table[["model", *[g for g in PAPER_GENRES if g in table], "F1w", "AU(PRC)w", "Pw", "Rw"]], hide_index=True)
