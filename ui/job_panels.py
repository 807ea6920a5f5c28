"""Background jobs on the pages: submit a request, follow its progress, cancel, resume, read the log.

Every job kind goes through :mod:`mmx_core.jobs` (one queue, one supervisor); these helpers only draw.
"""

from __future__ import annotations

import streamlit as st

from mmx_core import jobs, workspace
from mmx_core.appkit import figures
from mmx_core.base.errors import MMXError

RESUMABLE = ("train", "extract", "import")


def submit(request: jobs.JobRequest, what: str) -> bool:
    """Queue ``request``; a success or the one-line refusal is shown. Returns whether it was queued."""
    try:
        folder = jobs.submit(request)
    except MMXError as exc:
        st.error(f"{what} not started: {exc}")
        return False
    st.success(f"{what} queued as job {folder.name}; it runs in the background (progress below).")
    return True


def _header(job: jobs.JobInfo) -> str:
    status = job.status
    parts = [job.name, job.kind, job.state]
    if job.kind == "train":
        parts.append(f"epoch {status.get('epoch', 0)}/{status.get('epochs', '?')}")
    eta = status.get("eta_s")
    if isinstance(eta, (int, float)) and job.state == "running":
        parts.append(f"ETA {eta:.0f} s")
    return " · ".join(parts)


def _controls(job: jobs.JobInfo, columns) -> None:
    if job.state in jobs.ACTIVE and columns[0].button("Cancel", key=f"cancel_{job.name}"):
        try:
            jobs.cancel(job.name)
        except MMXError as exc:
            st.error(str(exc))
        st.rerun()
    stopped = ("cancelled", "failed", "finished") if job.kind == "train" else ("cancelled", "failed")
    if job.kind in RESUMABLE and job.state in stopped and columns[1].button("Resume", key=f"resume_{job.name}"):
        try:
            jobs.resume(job.name)
        except MMXError as exc:
            st.error(str(exc))
        st.rerun()


def _training_curves(job: jobs.JobInfo) -> None:
    events = jobs.read_events(job.name)
    if events.empty or "loss" not in events:
        return
    steps = events[events["event"].isin(["step", "epoch"])].reset_index(drop=True)
    steps["logged step"] = range(len(steps))
    val_cols = [c for c in events.columns if c.startswith("val_")]
    chart_cols = st.columns(2)
    chart_cols[0].plotly_chart(figures.curves_figure(steps, "logged step", ["loss"], "training loss"),
                               width="stretch", key=f"loss_{job.name}")
    if val_cols:
        chart_cols[1].plotly_chart(figures.curves_figure(events.dropna(subset=val_cols, how="all"), "epoch", val_cols,
                                                         "validation"), width="stretch", key=f"val_{job.name}")


def _embed_control(job: jobs.JobInfo, columns) -> None:
    data_sets = workspace.data_sets()
    if job.kind != "train" or job.state != "finished" or not data_sets:
        return
    target = columns[2].selectbox("Embed data set", data_sets, key=f"embed_data_{job.name}",
                                  label_visibility="collapsed")
    if columns[3].button("Embed with this encoder", key=f"embed_{job.name}"):
        submit(jobs.EmbedRequest(run=job.name, data=target), "Embedding")


def job_card(job: jobs.JobInfo, expanded: bool) -> None:
    """One job: progress, its controls, training curves for a run, and the end of its log."""
    with st.expander(_header(job), expanded=expanded):
        st.progress(job.progress, text=f"{job.progress:.0%} · {job.status.get('message') or ''}")
        columns = st.columns(4)
        _controls(job, columns)
        _embed_control(job, columns)
        if job.kind == "train":
            _training_curves(job)
        if job.state != "broken":
            st.code(jobs.tail_log(job.name) or "(no log yet)", language="text")


@st.fragment(run_every=2)
def job_list(kinds: tuple[str, ...], empty: str = "No jobs yet.") -> None:
    """Jobs of ``kinds``, newest first, refreshed every 2 s (queued jobs start when their device is free)."""
    jobs.dispatch()
    found = [j for j in jobs.list_jobs() if j.kind in kinds]
    if not found:
        st.info(empty)
        return
    for job in found:
        job_card(job, expanded=job.state in jobs.ACTIVE or job is found[0])
