"""The job list at 10,000 jobs: one Train page run (AppTest, server time) and the library calls under it.

A temporary runs folder is filled with ended jobs (7 in 10 training runs with a status, a job file, a
short events.jsonl and log, the rest embedding and generation jobs under ``runs/.jobs``); none is queued,
so the page's dispatch starts nothing. Timed: ``list_jobs`` (every job) with the listing's cache empty
(the first call of a process) and warm; ``page_jobs`` (one page, what the page asks for) and ``dispatch``
warm; ``workspace.checkpoints`` (the Train page's starting-checkpoint chooser, which walks the runs folder
too); and whole Train page runs through Streamlit's AppTest: the first (a fresh listing cache) and the
median of the next ones (the page re-runs its job list every 2 s). Elements counts the page's expanders
(job cards); payload is the size of the page's element protobufs.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Table, environ, project_folders, timed_runs, timer

ROOT = Path(__file__).resolve().parent.parent
SIZES = {False: 10_000, True: 1_000}
FRAGMENT = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from ui import job_panels
job_panels.job_list(("train", "generate", "embed"), empty="No runs yet.")
"""


def _fill(runs: Path, count: int) -> None:
    """``count`` ended jobs, queued one second apart."""
    start = time.time() - count
    for i in range(count):
        train = i % 10 >= 3  # the newest job is a training run: the page draws its curves
        name = f"{'run' if train else 'embed' if i % 2 else 'generate'}-{i:05d}"
        folder = (runs if train else runs / ".jobs") / name
        folder.mkdir(parents=True)
        state = ("finished", "failed", "cancelled")[i % 3]
        if train:
            request = {"stage": "coarse", "data": "demo", "epochs": 2, "batch_size": 8, "device": "cpu", "seed": 0,
                       "init": "", "name": name}
            kind = "train"
            (folder / "events.jsonl").write_text("".join(json.dumps(
                {"event": "epoch", "epoch": e, "epochs": 2, "loss": 1 / e, "val": {"auprc_w": 0.3}}) + "\n"
                for e in (1, 2)))
        elif name.startswith("embed"):
            request, kind = {"run": "run-00000", "data": "demo", "device": "cpu", "name": name}, "embed"
        else:
            request, kind = {"dataset": f"set-{i}", "trailers": 40, "seed": 0, "name": name}, "generate"
        (folder / "job.json").write_text(json.dumps({
            "kind": kind, "request": request, "device": "cpu", "queued": start + i, "started": start + i + 0.5,
            "ended": start + i + 0.9, "pid": 100_000 + i, "pid_started": 1, "exit_code": 0, "resume": False,
            "argv": ["python", "-m", "mmx_core", kind]}))
        (folder / "status.json").write_text(json.dumps({"state": state, "progress": 1.0, "message": "done",
                                                        "epoch": 2, "epochs": 2, "updated": start + i + 0.9}))
        (folder / "log.txt").write_text("epoch 1\nepoch 2\n")


def _payload_bytes(node) -> int:
    """Bytes of the element protobufs under an AppTest node."""
    proto = getattr(node, "proto", None)
    size = len(proto.SerializeToString()) if proto is not None and hasattr(proto, "SerializeToString") else 0
    return size + sum(_payload_bytes(child) for child in getattr(node, "children", {}).values())


def _library_rows(count: int) -> list[list]:
    """The library calls under the Train page's job list, with the listing's cache empty and warm."""
    from mmx_core import jobs, workspace
    from mmx_core.jobs import records

    def warm(fn) -> float:
        return statistics.median(timed_runs(fn, 5)) * 1e3

    records.clear_cache()
    with timer() as t:
        listed = jobs.list_jobs()
    assert len(listed) == count, len(listed)
    page = lambda: jobs.page_jobs(("train", "generate", "embed"))  # noqa: E731
    return [["list_jobs(), every job, first call of a process (cache empty)", count, t["seconds"] * 1e3],
            ["list_jobs(), every job, warm (median of 5)", count, warm(jobs.list_jobs)],
            ["page_jobs(), one page of the Train page's kinds, warm", count, warm(page)],
            ["dispatch() (nothing queued), warm", count, warm(jobs.dispatch)],
            ["workspace.checkpoints() (the Train page's chooser)", count, warm(workspace.checkpoints)]]


def _page_rows(count: int, quick: bool) -> tuple[list[list], int, int]:
    """Whole Train page runs through AppTest (first and warm) and its job list alone; rows, cards, payload."""
    from streamlit.testing.v1 import AppTest

    from mmx_core.jobs import records

    records.clear_cache()
    at = AppTest.from_file(str(ROOT / "pages" / "3_Train.py"), default_timeout=300)
    first = timed_runs(at.run, 1)[0]
    assert not at.exception, [e.value for e in at.exception]
    cards, payload = len(at.expander), _payload_bytes(at._tree)
    rows = [["Train page run, first (listing cache empty, script compiled)", count, first * 1e3]]
    runs = timed_runs(at.run, 3 if quick else 10)
    rows.append([f"Train page run, warm (median of {len(runs)}; max {max(runs) * 1e3:.0f} ms)", count,
                 statistics.median(runs) * 1e3])
    fragment = AppTest.from_string(FRAGMENT, default_timeout=300)
    fragment.run()
    times = timed_runs(fragment.run, 3 if quick else 10)
    rows.append([f"the Train page's job list alone, warm (what re-runs every 2 s; median of {len(times)})",
                 count, statistics.median(times) * 1e3])
    return rows, cards, payload


def run(quick: bool = False) -> list[Table]:
    from mmx_core import jobs

    count = SIZES[quick]
    home = Path(tempfile.mkdtemp(prefix="mmx_bench_jobs_"))
    try:
        with environ(project_folders(home)):
            _fill(home / "runs", count)
            old = time.time() - 60  # older than the listing's window of folders read on every scan
            for root in (home / "runs", home / "runs" / ".jobs"):
                for folder in root.iterdir():
                    os.utime(folder, (old, old))
            rows = _library_rows(count)
            page_rows, cards, payload = _page_rows(count, quick)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    table = Table(f"Job list with {count:,} jobs", ["what", "jobs", "ms"], rows + page_rows,
                  note=f"One page holds {jobs.PAGE_SIZE} jobs; the warm Train page drew {cards} job cards and "
                       f"{payload / 1e3:.0f} kB of elements. Goal: a warm Train page run under 200 ms.")
    return [table]
