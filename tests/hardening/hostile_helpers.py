"""Small hostile inputs for the tests of issue 12 (items 1-3, 7-9): trees of the authors' layout,
crafted .npy headers, shared-reference pickles, FIFOs, and a tiny trained checkpoint."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
DIMS = {"image": 6, "scene": 5, "motion": 4, "audio": 3}
FOLDERS = {"image": "img-embeddings", "scene": "location-embeddings", "motion": "video-embeddings",
           "audio": "audio-embeddings"}
TINY_MODEL_ARGS = ["--shared-dim", "8", "--sequence-dim", "16", "--bottleneck-dim", "12", "--gating-hidden", "8",
                   "--head-hidden", "16", "--projection-dim", "8", "--vlad-clusters", "3", "--train-sequences", "3"]


def write_tree(root: Path, n_trailers: int, seed: int = 0, clips: int = 2) -> Path:
    """``root/<genre>/<trailer>/scene0/<clip>/<expert>/0.pt`` with a meta.pkl per scene; every file valid."""
    rng = np.random.default_rng(seed)
    genres = ["Drama", "Comedy", "Horror"]
    for t in range(n_trailers):
        genre = genres[t % len(genres)]
        scene = root / genre / f"trailer{t:03d}" / "scene0"
        for clip in range(clips):
            for expert, folder in FOLDERS.items():
                target = scene / str(clip) / folder
                target.mkdir(parents=True, exist_ok=True)
                rows = 2 if expert == "audio" else 1
                torch.save(torch.from_numpy(rng.normal(size=(rows, DIMS[expert])).astype(np.float32)), target / "0.pt")
        (scene / "meta.pkl").write_bytes(pickle.dumps([genre, "None", "None"]))
    return root


def shared_list_bomb(width: int = 40, depth: int = 8) -> bytes:
    """A pickle of ``depth`` levels of ``width`` references to the same list: a few hundred bytes,
    ``width ** depth`` leaves for anything that walks it."""
    value: list = ["Drama"]
    for _ in range(depth):
        value = [value] * width
    return pickle.dumps(value, protocol=2)


def npy_claiming(shape: tuple[int, ...], dtype: str = "<f8", payload: bytes = b"\0" * 16) -> bytes:
    """A .npy file whose header claims ``shape`` but which holds only ``payload``."""
    text = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (dtype, tuple(shape))
    body = (text + " " * (118 - len(text)) + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + payload


def npz_with(members: dict[str, bytes], compress: bool = True) -> bytes:
    """An .npz archive (a zip) holding the given raw member bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def make_fifo(path: Path) -> Path:
    """Replace ``path`` by a FIFO (named pipe) that nobody writes to: opening it for reading blocks."""
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    return path


def cli(*args: str, timeout: float = 60, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``python -m mmx_core ARGS`` in a subprocess (a hang ends the test by ``timeout``, not the session)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mmx_core", *map(str, args)], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def one_line_error(stderr: str) -> str:
    """The last stderr line, checked to be an ``error:`` line with no traceback before it."""
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert "error:" in last, stderr
    return last
