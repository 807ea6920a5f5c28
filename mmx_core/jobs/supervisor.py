"""``python -m mmx_core.jobs.supervisor JOB_DIR``: run one job's command, record its end, start the next.

The supervisor leads the job's process group. It marks the job failed when the command dies without
saying so (a non-zero exit while the status is still active), finished when it exits 0, and then
starts the next queued job of any free device.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.paths import PROJECT_ROOT, runs_dir
from mmx_core.jobs.checks import inside
from mmx_core.jobs.queue import ACTIVE, dispatch, queue_lock, read_status, write_status


def supervise(folder: Path) -> int:
    """Run the command of the job in ``folder`` (in this process group), then start the next queued job."""
    job = read_json(folder / "job.json")
    argv = job["argv"]
    print(f"$ {' '.join(argv)}", flush=True)
    if job.get("kind", "train") != "train":
        write_status(folder, "running", "started", progress=0.0)
    code = subprocess.call(argv, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL)
    state = read_status(folder).get("state")
    if code != 0 and state in ACTIVE:
        write_status(folder, "failed", f"the command exited with code {code}; see log.txt", exit_code=code)
    elif code == 0 and state in ACTIVE:
        write_status(folder, "finished", "done", progress=1.0, exit_code=0)
    with queue_lock():  # the device is free from now on: mark it before looking for the next job
        job = read_json(folder / "job.json")
        job.update({"ended": time.time(), "exit_code": code})
        write_json(folder / "job.json", job)
    dispatch()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmx_core.jobs.supervisor")
    parser.add_argument("job_dir", type=Path)
    args = parser.parse_args(argv)
    return supervise(inside(args.job_dir, runs_dir(), "job folder"))


if __name__ == "__main__":
    sys.exit(main())
