"""Waiting for a background job in tests (the queue runs jobs in their own processes)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from mmx_core import jobs
from mmx_core.base.paths import runs_dir


def wait_for_job(name: str, states: tuple[str, ...], seconds: float = 60) -> jobs.JobInfo:
    """The job ``name`` once its state is one of ``states``; fails after ``seconds``."""
    deadline = time.time() + seconds
    job = None
    while time.time() < deadline:
        job = next((j for j in jobs.list_jobs() if j.name == name), None)
        if job is not None and job.state in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"{name} never reached {states}; last: {job and job.status}")


DROP = object()
"""Pass as a field's value to :func:`write_job` to leave the field out of job.json (``kind=DROP``)."""


def write_job(name: str, kind: str = "train", state: str = "finished", request: dict | None = None,
              status: dict | None = None, **fields) -> Path:
    """A job folder written by hand (``job.json`` and ``status.json``); ``fields`` override job.json's.

    The request defaults to a valid one of ``kind`` named ``name``; pass values of the wrong type to build a
    malformed job. A training job goes under the runs folder, the others under ``runs/.jobs``.
    """
    defaults = {"train": {"stage": "coarse", "data": "tiny", "epochs": 2, "batch_size": 8, "device": "cpu",
                          "seed": 0, "init": ""},
                "embed": {"run": "some-run", "data": "tiny", "device": "cpu"},
                "import": {"folder": "/nowhere", "dataset": f"set-{name}"},
                "generate": {"dataset": f"set-{name}", "trailers": 40, "seed": 0}}
    folder = (runs_dir() if kind == "train" else runs_dir() / ".jobs") / name
    folder.mkdir(parents=True)
    base = defaults.get(kind, {}) if isinstance(kind, str) else {}
    job = {"kind": kind, "request": {**base, "name": name, **(request or {})}, "device": "cpu",
           "queued": time.time(), "resume": False, **fields}
    (folder / "job.json").write_text(json.dumps({k: v for k, v in job.items() if v is not DROP}))
    (folder / "status.json").write_text(json.dumps({"state": state, "message": "", **(status or {})}))
    return folder

