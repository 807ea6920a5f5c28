"""Both cores: ``extract`` held to one core against ``extract`` on every core of the machine, two ways.

Each run is fresh processes of ``python -m mmx_core extract`` on the same generated videos (untrained backbones,
bfloat16 where the CPU has matrix units, as ``--precision auto`` picks): one core is ``taskset -c 0`` with one
decoding worker and one inference thread; every core is the command's defaults (one decoding worker, torch's
threads for the experts' kernels), or one process per core under torchrun (each decoding its own share of the
videos, one thread). The goal of issue 20: every core at least 1.7x the one-core rate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_extract import make_trailer
from benchmarks.harness import Table

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.7


def _extract(videos: Path, out: Path, how: str) -> tuple[float, int]:
    """Clips per second of one ``extract`` run (``how``: one core, defaults, one process per core) and its clips."""
    command = ["-m", "mmx_core", "extract", str(videos), "--out", str(out), "--untrained", "--device", "cpu",
               "--no-thumbnails"]
    argv = {"one core": ["taskset", "-c", "0", sys.executable, *command, "--workers", "1", "--threads", "1"],
            "defaults": [sys.executable, *command],
            "processes": [sys.executable, "-m", "torch.distributed.run", "--standalone",
                          f"--nproc_per_node={os.cpu_count()}", *command, "--workers", "0", "--threads", "1"]}[how]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"extract failed: {done.stderr[-500:]}")
    from mmx_core.data import TrailerStore

    clips = int(TrailerStore.open(out).n_clips)
    return clips / seconds, clips


def run(quick: bool = False) -> list[Table]:
    if shutil.which("taskset") is None:
        print("benchmarks cores: taskset is not installed; nothing measured", flush=True)
        return []
    with tempfile.TemporaryDirectory(prefix="mmx-bench-cores-") as folder:
        tmp = Path(folder)
        (tmp / "in").mkdir()
        seconds, size = (6.0, (320, 180)) if quick else (20.0, (640, 360))
        for k in range(1 if quick else 2):
            make_trailer(tmp / "in" / f"t{k}.mp4", seconds, size, seed=k)
        one, one_clips = _extract(tmp / "in", tmp / "one", "one core")
        every = {how: _extract(tmp / "in", tmp / how, how)[0] for how in ("defaults", "processes")}
    table = Table("extract on one core against every core (fresh processes, bf16 where the CPU runs it)",
                  ["cores", "how", "clips/s", "ratio to one core", "goal met"],
                  note=f"{os.cpu_count()} cores; {one_clips} clips of generated {seconds:.0f} s videos, process "
                       "start-up included. One core: `taskset -c 0`, `--workers 1 --threads 1`. Every core: the "
                       "command's defaults (one decoding worker, torch's threads in the experts' kernels), or one "
                       f"process per core under torchrun (`--workers 0 --threads 1`). Goal: >= {GOAL}x.")
    table.rows.append(["1", "one decoding worker, one thread", one, 1.0, ""])
    names = {"defaults": "defaults: torch's threads", "processes": "one process per core (torchrun)"}
    for how, rate in every.items():
        table.rows.append([str(os.cpu_count()), names[how], rate, rate / one, "yes" if rate / one >= GOAL else "no"])
    return [table]
