"""``python -m mmx_core.jobs.supervisor JOB_DIR``: run one job's command, record its end, start the next.

The supervisor leads the job's process group. It marks the job failed when the command dies without
saying so (a non-zero exit while the status is still active), finished when it exits 0, and then
starts the next queued job of any free device. Whatever happens to this job (a job file rewritten
meanwhile, a command that cannot be started), the end is recorded and the next job is started.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from pathlib import Path

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.paths import PROJECT_ROOT, runs_dir
from mmx_core.jobs.checks import inside
from mmx_core.jobs.queue import dispatch, queue_lock, read_status, write_status
from mmx_core.jobs.records import ACTIVE

logger = logging.getLogger(__name__)


def _run(folder: Path) -> int:
    """Run the job's recorded command; the exit code, or FAILED_INPUTS when it cannot be run."""
    job = read_json(folder / "job.json")
    argv = job.get("argv") if isinstance(job, dict) else None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        write_status(folder, "failed", "job.json holds no command (argv); see log.txt")
        return int(ExitCode.FAILED_INPUTS)
    print(f"$ {' '.join(argv)}", flush=True)
    if job.get("kind", "train") != "train":
        write_status(folder, "running", "started", progress=0.0)
    code = subprocess.call(argv, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL)
    state = read_status(folder).get("state")
    if code != 0 and state in ACTIVE:
        write_status(folder, "failed", f"the command exited with code {code}; see log.txt", exit_code=code)
    elif code == 0 and state in ACTIVE:
        write_status(folder, "finished", "done", progress=1.0, exit_code=0)
    return code


def _record_end(folder: Path, code: int) -> None:
    with queue_lock():  # the device is free from now on: mark it before looking for the next job
        job = read_json(folder / "job.json")
        if not isinstance(job, dict):
            raise MMXError("job.json is not an object; its end is not recorded", folder / "job.json")
        job.update({"ended": time.time(), "exit_code": code})
        write_json(folder / "job.json", job)


def supervise(folder: Path) -> int:
    """Run the command of the job in ``folder`` (in this process group), then start the next queued job."""
    code = int(ExitCode.FAILED_INPUTS)
    try:
        code = _run(folder)
    except (MMXError, OSError) as exc:
        print(f"the job could not run: {exc}", flush=True)
        try:
            write_status(folder, "failed", f"could not run: {exc}"[:300])
        except (MMXError, OSError):
            logger.exception("could not record the failure of %s", folder)
    finally:
        try:
            _record_end(folder, code)
        except (MMXError, OSError) as exc:
            print(f"the job's end could not be recorded: {exc}", flush=True)
        dispatch()  # never raises: the next job starts whatever happened to this one
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmx_core.jobs.supervisor")
    parser.add_argument("job_dir", type=Path)
    args = parser.parse_args(argv)
    return supervise(inside(args.job_dir, runs_dir(), "job folder"))


if __name__ == "__main__":
    sys.exit(main())
