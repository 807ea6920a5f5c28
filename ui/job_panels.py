"""Background jobs on the pages: submit a request, follow its progress, cancel, resume, read the log.

Every job kind goes through :mod:`mmx_core.jobs` (one queue, one supervisor); these helpers only draw.
"""

from __future__ import annotations

import streamlit as st

from mmx_core import jobs, workspace
from mmx_core.appkit import figures
from mmx_core.base.errors import MMXError


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
    precision = (job.job.get("request") or {}).get("precision") if isinstance(job.job, dict) else None
    if isinstance(precision, str):
        parts.append(f"precision {precision}")
    if job.kind == "train":
        parts.append(f"epoch {status.get('epoch', 0)}/{status.get('epochs', '?')}")
    eta = status.get("eta_s")
    if isinstance(eta, (int, float)) and job.state == "running":
        parts.append(f"ETA {eta:.0f} s")
    return " · ".join(parts)


def _controls(job: jobs.JobInfo, columns) -> None:
    stopped = ("cancelled", "failed", "finished") if job.kind == "train" else ("cancelled", "failed")
    for column, label, action, offered in ((columns[0], "Cancel", jobs.cancel, job.state in jobs.ACTIVE),
                                           (columns[1], "Resume", jobs.resume,
                                            job.kind in jobs.RESUMABLE and job.state in stopped)):
        if offered and column.button(label, key=f"{label.lower()}_{job.name}"):
            try:
                action(job.name)
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


def _embed_control(job: jobs.JobInfo, columns, data_sets: list[str]) -> None:
    if job.kind != "train" or job.state != "finished" or not data_sets:
        return
    target = columns[2].selectbox("Embed data set", data_sets, key=f"embed_data_{job.name}",
                                  label_visibility="collapsed")
    if columns[3].button("Embed with this encoder", key=f"embed_{job.name}"):
        submit(jobs.EmbedRequest(run=job.name, data=target), "Embedding")


def _remove(name: str) -> None:
    """Remove button's callback (it runs before the list is drawn again, which then no longer shows the job)."""
    try:
        st.session_state["jobs_notice"] = ("success", f"Job {name} {jobs.remove(name)}.")
    except MMXError as exc:
        st.session_state["jobs_notice"] = ("error", str(exc))


def _broken_card(job: jobs.JobInfo) -> None:
    """A job whose files are malformed: the reason, and Remove (only its folder; a run's results are kept)."""
    with st.expander(f"{job.name} · {job.kind} · broken", expanded=True):
        st.warning(f"This job's files are malformed: {job.problem}")
        st.button("Remove", key=f"remove_{job.name}", on_click=_remove, args=(job.name,),
                  help="Deletes this job's folder; a run folder holding checkpoints or other results is kept and "
                       "only its job.json and status.json are removed.")


def job_card(job: jobs.JobInfo, expanded: bool, data_sets: list[str]) -> None:
    """One job: progress and its controls; training curves and the end of its log when ``expanded`` or asked for."""
    if job.state == jobs.BROKEN:
        _broken_card(job)
        return
    with st.expander(_header(job), expanded=expanded):
        st.progress(job.progress, text=f"{job.progress:.0%} · {job.status.get('message') or ''}")
        columns = st.columns(4)
        _controls(job, columns)
        _embed_control(job, columns, data_sets)
        if expanded or st.toggle("Curves and log", key=f"details_{job.name}"):
            if job.kind == "train":
                _training_curves(job)
            st.code(jobs.tail_log(job.name) or "(no log yet)", language="text")


def _filters(kinds: tuple[str, ...], key: str) -> tuple[tuple[str, ...] | None, tuple[str, ...], int]:
    """State and kind filters and the page number (from 0), as the user set them."""
    left, mid, right = st.columns(3)
    state = left.selectbox("State", ("all", *jobs.STATES, jobs.BROKEN), key=f"{key}_state")
    kind = mid.selectbox("Kind", ("all", *kinds), key=f"{key}_kind") if len(kinds) > 1 else "all"
    page = right.number_input("Page", min_value=1, value=1, step=1, key=f"{key}_page")
    return (None if state == "all" else (state,)), (kinds if kind == "all" else (kind,)), int(page) - 1


def _clear(kinds: tuple[str, ...]) -> None:
    """Clear button's callback."""
    removed = jobs.clear_ended(kinds)
    st.session_state["jobs_notice"] = ("success", f"Cleared {len(removed)} ended job(s); runs holding results "
                                                  "were kept.")


@st.fragment(run_every=2)
def job_list(kinds: tuple[str, ...], empty: str = "No jobs yet.") -> None:
    """Jobs of ``kinds``, newest first, one page at a time, filtered by state and kind, refreshed every 2 s
    (queued jobs start when their device is free)."""
    jobs.dispatch()
    key = f"jobs_{kinds[0]}"
    if notice := st.session_state.pop("jobs_notice", None):
        {"success": st.success, "error": st.error}[notice[0]](notice[1])
    states, shown_kinds, page = _filters(kinds, key)
    found = jobs.page_jobs(shown_kinds, states, page)
    if not found.total:
        st.info(empty if states is None and shown_kinds == kinds else "No jobs match these filters.")
        return
    first = found.page * jobs.PAGE_SIZE
    counts = " · ".join(f"{n} {state}" for state, n in found.counts.items() if n)
    st.caption(f"Jobs {first + 1}-{first + len(found.jobs)} of {found.total:,} (page {found.page + 1} of "
               f"{found.pages}) · {counts}")
    st.button("Clear ended jobs", key=f"{key}_clear", on_click=_clear, args=(kinds,),
              help="Removes the finished, failed and cancelled jobs listed here whose folders hold nothing but the "
                   "job's own files; runs with checkpoints, embeddings or other results are kept.")
    data_sets = workspace.data_sets()
    for job in found.jobs:
        job_card(job, expanded=job.state in jobs.ACTIVE or (found.page == 0 and job is found.jobs[0]),
                 data_sets=data_sets)
