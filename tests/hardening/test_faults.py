"""Fault injection (issue 12): kill -9 at seeded random moments of every writer, a full disk during each.

Writers: ``import-mmx`` (a tree of the authors' layout), ``train`` (a tiny set), ``precompute`` (an uploaded
set) and ``extract`` (tiny generated videos, untrained backbones). For each, an unbroken run is the
reference; then the same command is killed (SIGKILL to its process group) at moments drawn from a seeded
generator over the reference's duration, what it left is checked (nothing half-written is readable as
complete), and the command is run again (``--resume`` where the writer has one): the result must equal
the reference. Under a file-size limit (``RLIMIT_FSIZE``, writes past it fail as on a full disk) each
writer must end with one ``error:`` line, a non-zero exit and the previous artefact unchanged.

Commands run in children forked from ``forker.py`` (the CLI imported once), see there.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mmx_core.base.artefacts import cached_artefact, file_hash, read_json
from mmx_core.trailers.published import load_published
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.base.paths import cache_dir, data_dir, runs_dir
from mmx_core.base.output_writer import stage_dir
from mmx_core.data.validate import validate_dataset
from mmx_core.extract.pipeline import work_dir
from mmx_core.train.checkpoint import read_checkpoint
from mmx_core import workspace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT / "tests" / "data"), str(ROOT / "tests" / "extract")]
from mmx_data_helpers import write_trailer  # noqa: E402
from videos import make_video  # noqa: E402
from project_dirs import env_for, project_dirs, session_home  # noqa: E402

SEED = 1212
KILLS = {"import": 2, "train": 2, "extract": 2, "precompute": 1}   # kill points per writer (precompute: each
                                           # run compiles UMAP's numba kernels, about 10 s here)
FSIZE = 24 * 1024                          # the "disk" holds files up to this size
IMPORT_DIMS = {"image": 256, "scene": 64, "motion": 16, "audio": 8}
SMALL_MODEL = ["--shared-dim", "16", "--sequence-dim", "16", "--bottleneck-dim", "16", "--gating-hidden", "8",
               "--head-hidden", "16", "--projection-dim", "8", "--vlad-clusters", "4"]


class Forker:
    """Client of ``forker.py``: start a CLI command in a forked child, kill it, wait for it."""

    def __init__(self, logs: Path, home: Path):
        self.logs = logs
        # the session's folders of tests/conftest.py, whatever the environment when a module fixture asks
        self.env = env_for(home)
        self.count = 0
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, str(HERE / "forker.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        assert "ready" in json.loads(self.proc.stdout.readline())

    def _ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(self, argv: list, fsize: int | None = None) -> tuple[int, Path, Path]:
        self.count += 1
        out, err = self.logs / f"{self.count}.out", self.logs / f"{self.count}.err"
        pid = self._ask({"run": [str(a) for a in argv], "env": self.env, "out": str(out), "err": str(err),
                         "fsize": fsize})["pid"]
        return pid, out, err

    def wait(self, pid: int) -> int:
        return self._ask({"wait": pid})["code"]

    def run(self, argv: list, fsize: int | None = None) -> tuple[int, str, str, float]:
        """Run to the end: exit code, stdout, stderr, wall seconds."""
        start = time.perf_counter()
        pid, out, err = self.start(argv, fsize)
        code = self.wait(pid)
        return code, out.read_text(), err.read_text(), time.perf_counter() - start

    def kill_during(self, argv: list, began, delay: float, timeout: float = 60) -> dict:
        """Start ``argv``; once ``began()`` is true, wait ``delay`` s and SIGKILL it; what happened."""
        pid, _, err = self.start(argv)
        deadline = time.monotonic() + timeout
        while not began() and alive(pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        finished = not alive(pid)
        if not finished:
            os.killpg(pid, signal.SIGKILL)
        code = self.wait(pid)
        assert finished or code == -signal.SIGKILL, err.read_text()[-2000:]
        return {"delay_s": round(delay, 3), "killed": not finished, "code": code}

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def alive(pid: int) -> bool:
    """Whether a process (not ours to reap) still runs: not gone and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def forker(tmp_path_factory):
    client = Forker(tmp_path_factory.mktemp("forker_logs"), session_home(tmp_path_factory))
    yield client
    client.close()


def kill_points(name: str, span: float) -> list[float]:
    """Seeded moments (s after the writer's first file appears) spread over the reference run's duration."""
    rng = random.Random(f"{SEED}-{name}")
    return [rng.uniform(0.0, span) for _ in range(KILLS[name])]


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (lock files aside) -> its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def same_data_set(a: Path, b: Path) -> None:
    """Two data sets hold the same features and trailer table (manifests differ only in command and times)."""
    arrays = sorted(str(p.relative_to(a)) for p in a.rglob("*.npy"))
    assert arrays and arrays == sorted(str(p.relative_to(b)) for p in b.rglob("*.npy"))
    for rel in arrays:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    pd.testing.assert_frame_equal(pd.read_parquet(a / "trailers.parquet"), pd.read_parquet(b / "trailers.parquet"))


def finish_after_kill(forker: Forker, argv: list, out: Path) -> str:
    """After a kill: a data set already in place was complete (renamed there last), and running the command
    again is refused in one line; otherwise running it again (resuming) must succeed. Says which it was."""
    if out.exists():
        assert validate_dataset(out, deep=True).ok
        code, _, err, _ = forker.run(argv)
        assert "already exists" in one_line_error(code, err)
        return "complete before the kill"
    code, _, err, _ = forker.run(argv)
    assert code == 0, err[-2000:]
    return "run again"


def one_line_error(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code not in (0, -signal.SIGKILL) and "Traceback" not in err, err[-3000:]
    assert lines and lines[-1].startswith("error: "), err[-3000:]
    return lines[-1]


# ---------------------------------------------------------------------------------------------- import

@pytest.fixture(scope="module")
def authors_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    rng = np.random.default_rng(5)
    for k in range(24):
        genres = [["Action"], ["Drama"], ["Horror", "Action"]][k % 3]
        write_trailer(root, genres, f"T{k:02d}", (genres, 1990 + k), rng, scenes=[2, 1], dims=IMPORT_DIMS)
    return root


def import_argv(tree: Path, out: Path) -> list:
    return ["import-mmx", tree, "--out", out, "--dims", ",".join(f"{k}={v}" for k, v in IMPORT_DIMS.items())]


def test_import_killed_anywhere_then_rerun_equals_an_unbroken_import(forker, authors_tree, record_property):
    ref = data_dir() / "import-ref"
    code, _, err, span = forker.run(import_argv(authors_tree, ref))
    assert code == 0, err[-2000:]
    points = []
    for i, delay in enumerate(kill_points("import", span)):
        out = data_dir() / f"import-kill{i}"
        points.append(forker.kill_during(import_argv(authors_tree, out),
                                         lambda: stage_dir(out).exists() or out.exists(), delay))
        rerun = finish_after_kill(forker, import_argv(authors_tree, out), out)
        points[-1]["after"] = rerun
        same_data_set(out, ref)
        assert not stage_dir(out).exists()
    record_property("kill_points", json.dumps(points))
    assert any(p["killed"] for p in points)


def test_import_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_set(forker, authors_tree):
    out = data_dir() / "import-full"
    assert forker.run(import_argv(authors_tree, out))[0] == 0
    before = files_of(out)
    code, _, err, _ = forker.run(import_argv(authors_tree, out) + ["--overwrite"], fsize=FSIZE)
    one_line_error(code, err)
    assert files_of(out) == before and validate_dataset(out, deep=True).ok


# ---------------------------------------------------------------------------------------------- train

def train_argv(data: str, out: Path, epochs: int = 4) -> list:
    return ["train", "--stage", "coarse", "--data", data_dir() / data, "--out", out, "--epochs", epochs,
            "--batch-size", "8", "--device", "cpu", "--threads", "1", "--patience", "0", "--seed", "3", *SMALL_MODEL]


def model_state(run: Path, name: str) -> dict:
    return read_checkpoint(run / "checkpoints" / name)["model"]


def same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_train_killed_anywhere_then_resumed_equals_an_unbroken_run(forker, tiny_data, record_property):
    ref = runs_dir() / "train-ref"
    code, _, err, span = forker.run(train_argv(tiny_data, ref))
    assert code == 0, err[-2000:]
    points = []
    for i, delay in enumerate(kill_points("train", span)):
        out = runs_dir() / f"train-kill{i}"
        points.append(forker.kill_during(train_argv(tiny_data, out), lambda: out.exists(), delay))
        last = out / "checkpoints" / "last.pt"
        if last.exists():                                  # what a resume would read is complete
            assert read_checkpoint(last)["epoch"] >= 1
        if (out / "status.json").exists():
            read_json(out / "status.json")
        code, _, err, _ = forker.run(train_argv(tiny_data, out) + (["--resume"] if last.exists() else []))
        assert code == 0, err[-2000:]
        assert read_json(out / "status.json")["state"] == "finished"
        for name in ("last.pt", "best.pt"):
            same_weights(model_state(out, name), model_state(ref, name))
    record_property("kill_points", json.dumps(points))
    assert any(p["killed"] for p in points)


def test_train_on_a_full_disk_fails_in_one_line_and_keeps_the_checkpoints(forker, tiny_data):
    out = runs_dir() / "train-full"
    assert forker.run(train_argv(tiny_data, out, epochs=1))[0] == 0
    checkpoints = files_of(out / "checkpoints")
    assert max(len(b) for b in checkpoints.values()) > FSIZE          # so writing one must fail
    code, _, err, _ = forker.run(train_argv(tiny_data, out, epochs=3) + ["--resume"], fsize=FSIZE)
    one_line_error(code, err)
    assert files_of(out / "checkpoints") == checkpoints
    assert read_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1


# ---------------------------------------------------------------------------------------------- precompute

@pytest.fixture(scope="module")
def uploaded_sets(tmp_path_factory):
    """Two uploads of published vectors (400 and 1,500), in the data folder the tests share (tests/conftest.py)."""
    with project_dirs(session_home(tmp_path_factory)):
        published = load_published()
        rng = np.random.default_rng(9)
        names = []
        for name, size in (("fault-small", 400), ("fault-big", 1500)):
            rows = np.sort(rng.choice(len(published), size, replace=False))
            save_embeddings(workspace.uploads_dir() / name / "embeddings.npz", published.ids[rows],
                            published.vectors[rows])
            names.append(f"upload:{name}")
    return names


@pytest.fixture(scope="module")
def precompute_reference(forker, uploaded_sets, tmp_path_factory):
    """An unbroken ``precompute`` of the small set: (cache folder, its entries, seconds)."""
    ref = tmp_path_factory.mktemp("precompute") / "ref"
    code, _, err, span = forker.run(precompute_argv(uploaded_sets[0], ref))
    assert code == 0, err[-2000:]
    return ref, cache_entries(ref), span


def precompute_argv(name: str, out: Path) -> list:
    return ["precompute", "--set", name, "--methods", "pca", "--out", out]


def artefacts_in(folder: Path) -> list[Path]:
    """Artefacts of a cache folder (``<key><suffix>``): not their parameter JSONs (``<key><suffix>.json``),
    locks or temporary files (hidden)."""
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")
            and p.name.count(".") == 1]


def cache_entries(folder: Path) -> dict[str, pd.DataFrame | bytes]:
    """Artefacts of a cache folder (parameter JSONs aside, they hold times): parquet as frames, others as bytes."""
    return {str(p.relative_to(folder)): pd.read_parquet(p) if p.suffix == ".parquet" else p.read_bytes()
            for p in artefacts_in(folder)}


def assert_same_entries(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and a
    for key in a:
        if isinstance(a[key], pd.DataFrame):
            pd.testing.assert_frame_equal(a[key], b[key])
        else:
            assert a[key] == b[key], key


def complete_entries(folder: Path) -> None:
    """Every artefact that has its parameter JSON matches the size and hash recorded there."""
    for path in artefacts_in(folder):
        meta = Path(str(path) + ".json")
        if meta.exists():
            record = read_json(meta)
            assert record["bytes"] == path.stat().st_size and record["hash"] == file_hash(path), path


def test_precompute_killed_anywhere_then_rerun_equals_an_unbroken_run(forker, uploaded_sets, precompute_reference,
                                                                      record_property):
    _, reference, span = precompute_reference
    points = []
    for i, delay in enumerate(kill_points("precompute", span)):
        out = cache_dir() / f"pre-kill{i}"
        points.append(forker.kill_during(precompute_argv(uploaded_sets[0], out), lambda: out.exists(), delay))
        if out.exists():
            complete_entries(out)
        code, _, err, _ = forker.run(precompute_argv(uploaded_sets[0], out))
        assert code == 0, err[-2000:]
        complete_entries(out)
        assert_same_entries(cache_entries(out), reference)
    record_property("kill_points", json.dumps(points))
    assert any(p["killed"] for p in points)


def test_precompute_on_a_full_disk_fails_in_one_line_and_keeps_the_cache(forker, uploaded_sets,
                                                                         precompute_reference):
    out = precompute_reference[0]
    before = files_of(out)
    code, _, err, _ = forker.run(precompute_argv(uploaded_sets[1], out), fsize=FSIZE)
    one_line_error(code, err)
    after = files_of(out)
    assert {k: v for k, v in after.items() if k in before} == before
    complete_entries(out)
    assert not [k for k in after if Path(k).name.startswith(".") and ".tmp" in k]   # no temporary file left


# ---------------------------------------------------------------------------------------------- extract

@pytest.fixture(scope="module")
def video_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    for k in range(5):
        make_video(folder / f"v{k}.mp4", duration=2.0 + k % 2, cuts=[1.0] if k == 2 else [], tone_hz=300 + 90 * k)
    return folder


def extract_argv(videos: Path, out: Path) -> list:
    return ["extract", videos, "--out", out, "--experts", "audio", "--untrained", "--device", "cpu",
            "--workers", "0", "--threads", "1", "--batch-size", "3"]


def test_extract_killed_anywhere_then_resumed_equals_an_unbroken_run(forker, video_folder, record_property):
    ref = data_dir() / "extract-ref"
    code, _, err, span = forker.run(extract_argv(video_folder, ref))
    assert code == 0, err[-2000:]
    points = []
    for i, delay in enumerate(kill_points("extract", span)):
        out = data_dir() / f"extract-kill{i}"
        points.append(forker.kill_during(extract_argv(video_folder, out),
                                         lambda: work_dir(out).exists() or out.exists(), delay))
        resume = ["--resume"] if work_dir(out).exists() else []
        points[-1]["after"] = finish_after_kill(forker, extract_argv(video_folder, out) + resume, out)
        same_data_set(out, ref)
    record_property("kill_points", json.dumps(points))
    assert any(p["killed"] for p in points)


def test_extract_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_set(forker, video_folder):
    out = data_dir() / "extract-full"
    assert forker.run(extract_argv(video_folder, out))[0] == 0
    before = files_of(out)
    code, _, err, _ = forker.run(extract_argv(video_folder, out) + ["--overwrite"], fsize=2048)
    one_line_error(code, err)
    assert files_of(out) == before and validate_dataset(out, deep=True).ok


# ---------------------------------------------------------------------------------------------- cache entries

def test_a_truncated_or_unrecorded_cache_entry_is_computed_again():
    calls = []

    def compute(path: Path) -> None:
        calls.append(1)
        pd.DataFrame({"x": np.arange(5000, dtype=np.float64)}).to_parquet(path)

    path = cached_artefact("fault_step", {"n": 5000}, {"in": "abc"}, compute)
    good = path.read_bytes()
    assert cached_artefact("fault_step", {"n": 5000}, {"in": "abc"}, compute) == path and len(calls) == 1
    path.write_bytes(good[: len(good) // 2])                  # cut short, as by a full disk or a copy
    assert cached_artefact("fault_step", {"n": 5000}, {"in": "abc"}, compute) == path and len(calls) == 2
    assert path.read_bytes() == good and len(pd.read_parquet(path)) == 5000
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))       # same size, other bytes
    cached_artefact("fault_step", {"n": 5000}, {"in": "abc"}, compute)
    assert len(calls) == 3 and path.read_bytes() == good
    Path(str(path) + ".json").unlink()                        # killed between the rename and the JSON
    assert cached_artefact("fault_step", {"n": 5000}, {"in": "abc"}, None) is None
    cached_artefact("fault_step", {"n": 5000}, {"in": "abc"}, compute)
    assert len(calls) == 4 and read_json(Path(str(path) + ".json"))["bytes"] == len(good)


def test_two_writers_of_one_cache_entry_compute_it_once():
    import threading

    calls, barrier = [], threading.Barrier(3)

    def compute(path: Path) -> None:
        calls.append(1)
        time.sleep(0.3)
        path.write_bytes(b"entry")

    def ask(results: list) -> None:
        barrier.wait()
        results.append(cached_artefact("fault_lock", {}, {}, compute, suffix=".bin"))

    results: list = []
    threads = [threading.Thread(target=ask, args=(results,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1 and len(set(results)) == 1 and results[0].read_bytes() == b"entry"
