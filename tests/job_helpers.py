"""Waiting for a background job in tests (the queue runs jobs in their own processes)."""

from __future__ import annotations

import time

from mmx_core import jobs


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
