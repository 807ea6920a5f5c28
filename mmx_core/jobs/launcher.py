"""Background training runs for the app: queue, launch, cancel, resume, list.

A run is a folder ``runs/<name>/`` (format in docs/interfaces.md). The job
manager adds ``job.json`` (the validated request, the command and the process
id) and ``log.txt`` (the run's stdout and stderr), and writes the states
``queued`` and ``cancelled`` of ``status.json``; the trainer writes the rest.

Each run is started as its own process group (``start_new_session=True``), so
it outlives the browser tab and a restart of the app. The process is a small
supervisor, ``python -m mmx_core.jobs.launcher supervise RUN_DIR``, that runs the
command ``[python, -m, mmx_core, train, ...]`` built only from the validated
request (an argument list, never a shell string), marks the run failed if the
trainer dies without saying so, and then starts the next queued run of its
device. One run at a time per device; :func:`dispatch` (also called by the
app) starts queued runs whose device is free.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from mmx_core.base.artefacts import read_json, write_json
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import MODELS_DIR, PROJECT_ROOT, data_dir, runs_dir

__all__ = ["TrainRequest", "RunInfo", "submit", "dispatch", "cancel", "resume", "list_runs", "read_events",
           "tail_log", "build_command", "data_sets", "checkpoints", "submit_embed", "TRAIN_PREFIX"]

TRAIN_PREFIX: list[str] = [sys.executable, "-m", "mmx_core"]
"""Command prefix of the trainer (the tests point it at a fake trainer)."""

STAGES = ("coarse", "fine")
DEVICES = ("auto", "cpu", "cuda")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ACTIVE = ("queued", "running")


def _inside(path: Path, root: Path, what: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise MMXError(f"{what} {str(path)!r} is outside {root}; only the project's folders are allowed")
    return resolved


def data_sets() -> list[str]:
    """Names of trailer data sets under the data folder (folders holding a ``manifest.json``)."""
    root = data_dir()
    return sorted(p.parent.name for p in root.glob("*/manifest.json")) if root.is_dir() else []


def checkpoints() -> dict[str, Path]:
    """Starting checkpoints: ``run:<name>`` (its best, else last) and ``models:<file>`` (shipped)."""
    found: dict[str, Path] = {}
    if runs_dir().is_dir():
        for run in sorted(p for p in runs_dir().iterdir() if p.is_dir()):
            for file in ("best.pt", "last.pt"):
                if (run / "checkpoints" / file).exists():
                    found[f"run:{run.name}"] = run / "checkpoints" / file
                    break
    if MODELS_DIR.is_dir():
        for path in sorted(MODELS_DIR.glob("*.pt")):
            found[f"models:{path.name}"] = path
    return found


@dataclass(frozen=True)
class TrainRequest:
    """A validated training request (the only values that reach the command line).

    Parameters
    ----------
    stage : {"coarse", "fine"}
    data : str
        Name of a data set folder under the data folder.
    epochs : int in 1..1000
    batch_size : int in 1..4096
    device : {"auto", "cpu", "cuda"}
    seed : int in 0..2**31-1
    init : str
        "" or a key of :func:`checkpoints`.
    name : str
        Run folder name ("" = stage, data and time).
    """

    stage: str
    data: str
    epochs: int = 10
    batch_size: int = 32
    device: str = "auto"
    seed: int = 0
    init: str = ""
    name: str = ""

    def validated(self) -> "TrainRequest":
        if self.stage not in STAGES:
            raise MMXError(f"stage {self.stage!r} is not one of {STAGES}")
        if self.device not in DEVICES:
            raise MMXError(f"device {self.device!r} is not one of {DEVICES}")
        for field_name, low, high in (("epochs", 1, 1000), ("batch_size", 1, 4096), ("seed", 0, 2**31 - 1)):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise MMXError(f"{field_name} must be an integer in {low}..{high}, got {value!r}")
        if not _NAME.match(self.data) or self.data not in data_sets():
            raise MMXError(f"data set {self.data!r} is not a data set folder under {data_dir()}; "
                           f"available: {data_sets()}")
        if self.init and self.init not in checkpoints():
            raise MMXError(f"starting checkpoint {self.init!r} is unknown; available: {list(checkpoints())}")
        name = self.name or f"{self.stage}-{self.data}-{time.strftime('%Y%m%d-%H%M%S')}"
        if not _NAME.match(name):
            raise MMXError(f"run name {name!r} is not allowed; use letters, digits, '_', '-' or '.'")
        return TrainRequest(self.stage, self.data, self.epochs, self.batch_size, self.device, self.seed, self.init, name)


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def build_command(request: TrainRequest, run_dir: Path, resume: bool = False) -> list[str]:
    """The trainer's argument list for a validated request."""
    data = _inside(data_dir() / request.data, data_dir(), "data set")
    out = _inside(run_dir, runs_dir(), "run folder")
    argv = [*TRAIN_PREFIX, "train", "--stage", request.stage, "--data", str(data), "--out", str(out),
            "--epochs", str(request.epochs), "--batch-size", str(request.batch_size), "--device", request.device,
            "--seed", str(request.seed)]
    if request.init:
        argv += ["--init", str(checkpoints()[request.init])]
    if resume:
        argv.append("--resume")
    return argv


def _status(run_dir: Path) -> dict:
    try:
        return read_json(run_dir / "status.json")
    except MMXError:
        return {}


def _write_status(run_dir: Path, state: str, message: str = "", **extra) -> None:
    status = _status(run_dir)
    status.update(extra)
    status.update({"state": state, "message": message, "updated": time.time()})
    write_json(run_dir / "status.json", status)


def submit(request: TrainRequest) -> Path:
    """Validate, create the run folder with status ``queued`` and start it when its device is free."""
    request = request.validated()
    run_dir = runs_dir() / request.name
    if run_dir.exists():
        raise MMXError(f"a run called {request.name!r} exists already; choose another name", run_dir)
    run_dir.mkdir(parents=True)
    write_json(run_dir / "job.json", {"request": asdict(request), "device": resolve_device(request.device),
                                      "queued": time.time(), "resume": False})
    _write_status(run_dir, "queued", "waiting for the device", stage=request.stage, epochs=request.epochs,
                  progress=0.0)
    dispatch()
    return run_dir


@contextlib.contextmanager
def _lock():
    runs_dir().mkdir(parents=True, exist_ok=True)
    with open(runs_dir() / ".jobs.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_CHILDREN: dict[int, subprocess.Popen] = {}


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z"):
            return False
    return True


def dispatch() -> list[Path]:
    """Start every queued run whose device has no live run; returns the started run folders."""
    started = []
    with _lock():
        runs = [p for p in sorted(runs_dir().iterdir()) if (p / "job.json").exists()]
        jobs = {p: read_json(p / "job.json") for p in runs}
        busy = {j["device"] for p, j in jobs.items() if j.get("pid") and not j.get("ended") and _alive(j["pid"])}
        waiting = sorted((j["queued"], p) for p, j in jobs.items()
                         if _status(p).get("state") == "queued" and not (j.get("pid") and _alive(j["pid"]))
                         and j.get("started", 0) < j["queued"])
        for _, run_dir in waiting:
            job = jobs[run_dir]
            if job["device"] in busy:
                continue
            _start(run_dir, job)
            busy.add(job["device"])
            started.append(run_dir)
    return started


def _start(run_dir: Path, job: dict) -> None:
    request = TrainRequest(**job["request"])
    argv = build_command(request, run_dir, resume=job.get("resume", False))
    supervisor = [sys.executable, "-m", "mmx_core.jobs.launcher", "supervise", str(run_dir)]
    log = open(run_dir / "log.txt", "ab")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(supervisor, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    log.close()
    _CHILDREN[process.pid] = process
    job.update({"pid": process.pid, "argv": argv, "started": time.time(), "ended": None})
    write_json(run_dir / "job.json", job)
    _write_status(run_dir, "queued", "starting", pid=process.pid)


def supervise(run_dir: Path) -> int:
    """Run the trainer of ``run_dir`` (in this process group), then start the next queued run."""
    job = read_json(run_dir / "job.json")
    argv = job["argv"]
    print(f"$ {' '.join(argv)}", flush=True)
    code = subprocess.call(argv, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL)
    state = _status(run_dir).get("state")
    if code != 0 and state in ACTIVE:
        _write_status(run_dir, "failed", f"the trainer exited with code {code}; see log.txt")
    elif code == 0 and state in ACTIVE:
        _write_status(run_dir, "finished", "the trainer exited without a final status")
    with _lock():  # the device is free from now on: mark it before looking for the next run
        job = read_json(run_dir / "job.json")
        job.update({"ended": time.time(), "exit_code": code})
        write_json(run_dir / "job.json", job)
    dispatch()
    return code


def _run_dir(name: str) -> Path:
    if not _NAME.match(name or ""):
        raise MMXError(f"run name {name!r} is not allowed")
    run_dir = runs_dir() / name
    if not (run_dir / "job.json").exists() and not (run_dir / "status.json").exists():
        raise MMXError(f"no run called {name!r}", runs_dir())
    return run_dir


def _group_alive(pgid: int) -> bool:
    _alive(pgid)  # reaps our own child when it has exited
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return any(_alive(int(p.name)) for p in Path("/proc").iterdir()
               if p.name.isdigit() and _pgid(int(p.name)) == pgid)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


def _stop_group(pgid: int, grace: float = 10.0) -> None:
    """SIGTERM to the process group (the supervisor is its leader), SIGKILL after ``grace`` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
        deadline = time.time() + wait
        while _group_alive(pgid) and time.time() < deadline:
            time.sleep(0.05)
        if not _group_alive(pgid):
            return


def cancel(name: str) -> None:
    """Stop a queued or running run: SIGTERM to its process group, status ``cancelled``."""
    run_dir = _run_dir(name)
    job = read_json(run_dir / "job.json") if (run_dir / "job.json").exists() else {}
    pid = job.get("pid")
    if pid and _alive(pid):
        _stop_group(pid)
    _write_status(run_dir, "cancelled", "cancelled by the user")
    dispatch()


def resume(name: str) -> None:
    """Queue a stopped run again with ``--resume`` (continues from its last checkpoint)."""
    run_dir = _run_dir(name)
    state = _status(run_dir).get("state")
    if state in ACTIVE:
        raise MMXError(f"run {name!r} is {state}; cancel it before resuming")
    job = read_json(run_dir / "job.json")
    job.update({"resume": True, "queued": time.time(), "pid": None})
    write_json(run_dir / "job.json", job)
    _write_status(run_dir, "queued", "waiting for the device (resume)")
    dispatch()


@dataclass
class RunInfo:
    """A run folder as the Train page shows it."""

    name: str
    path: Path
    status: dict
    job: dict
    alive: bool

    @property
    def state(self) -> str:
        return self.status.get("state", "unknown")

    @property
    def progress(self) -> float:
        return float(min(1.0, max(0.0, self.status.get("progress") or 0.0)))


def list_runs() -> list[RunInfo]:
    """Every run folder, newest first (state from status.json, liveness from the process)."""
    if not runs_dir().is_dir():
        return []
    runs = []
    for path in runs_dir().iterdir():
        if not path.is_dir() or not ((path / "status.json").exists() or (path / "job.json").exists()):
            continue
        job = read_json(path / "job.json") if (path / "job.json").exists() else {}
        status = _status(path)
        alive = _alive(job.get("pid"))
        if status.get("state") == "running" and not alive and job.get("pid"):
            status = dict(status, state="failed", message="the process is gone; see log.txt")
        runs.append(RunInfo(path.name, path, status, job, alive))
    return sorted(runs, key=lambda r: r.job.get("queued", r.path.stat().st_mtime), reverse=True)


def read_events(name: str) -> pd.DataFrame:
    """``events.jsonl`` of a run as a table (malformed lines skipped)."""
    path = _run_dir(name) / "events.jsonl"
    if not path.exists():
        return pd.DataFrame()
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            event = json.loads(line)
            if isinstance(event, dict):
                for metric, value in (event.pop("val", None) or {}).items():
                    event[metric if metric.startswith("val_") else f"val_{metric}"] = value
                rows.append(event)
    return pd.DataFrame(rows)


def tail_log(name: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a run's log.txt."""
    path = _run_dir(name) / "log.txt"
    if not path.exists():
        return ""
    with open(path, "rb") as handle:
        handle.seek(max(0, path.stat().st_size - 64_000))
        return "\n".join(handle.read().decode(errors="replace").splitlines()[-lines:])


def submit_embed(name: str, data: str) -> Path:
    """Embed data set ``data`` with run ``name``'s encoder in the background (``python -m mmx_core embed``).

    Writes ``runs/<name>/embeddings/<data>.npz`` with the data set's trailer table beside it
    (``<data>.parquet``), so the set appears among the app's embedding sets with its metadata.
    """
    import shutil

    run_dir = _run_dir(name)
    if data not in data_sets():
        raise MMXError(f"data set {data!r} is not under {data_dir()}; available: {data_sets()}")
    source = _inside(data_dir() / data, data_dir(), "data set")
    out = run_dir / "embeddings" / f"{data}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "trailers.parquet", out.with_suffix(".parquet"))
    argv = [*TRAIN_PREFIX, "embed", "--data", str(source), "--model", str(run_dir), "--out", str(out)]
    with open(run_dir / "embed-log.txt", "ab") as log:
        subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmx_core.jobs.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("supervise", help="run a queued run's trainer, then start the next queued run").add_argument(
        "run_dir", type=Path)
    args = parser.parse_args(argv)
    return supervise(_inside(args.run_dir, runs_dir(), "run folder"))


if __name__ == "__main__":
    sys.exit(main())
