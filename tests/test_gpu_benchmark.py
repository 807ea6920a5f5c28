"""``python -m benchmarks gpu``: on a machine without a CUDA GPU it says so in one line, exits 0 and leaves
docs/benchmarks.md as it was (CI runs it so); with a GPU it runs every GPU path against the CPU."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU machine runs the whole benchmark instead")
def test_without_a_gpu_the_gpu_benchmark_says_so_and_changes_nothing():
    doc = ROOT / "docs" / "benchmarks.md"
    before = doc.read_bytes()
    done = subprocess.run([sys.executable, "-m", "benchmarks", "gpu", "--quick"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if line.strip()] == [
        "benchmarks gpu: torch sees no CUDA GPU on this machine; nothing measured, the previous block kept"]
    assert doc.read_bytes() == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_every_gpu_path_matches_the_cpu_path():  # pragma: no cover - needs a GPU
    from benchmarks import bench_gpu

    tables = bench_gpu.run(quick=True)
    assert tables and all(row[-1] == "yes" for row in tables[0].rows), tables[0].to_markdown()
