"""Each expert under ``--precision``: bfloat16 features close to float32, fp32 bit for bit the float32 path,
and the precision run (with the reason) in the manifest.

The backbones are built in their published layouts with random weights drawn from a fixed seed, and run on
small inputs (one clip, small frames) to stay fast; the features go through the pipeline's own
:class:`~mmx_core.extract.infer.ExpertRunner`, where the autocast is applied.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmx_core.base import devices
from mmx_core.extract.experts import get_expert
from mmx_core.extract.infer import ExpertRunner, Item
from mmx_core.extract.pipeline import ExtractConfig, extract_videos
from videos import make_video

CPU = torch.device("cpu")


def _inputs(name: str) -> tuple[torch.Tensor, int]:
    """A small model input of expert ``name`` (one clip) and its rows."""
    generator = torch.Generator().manual_seed(1)
    if name in ("image", "scene"):  # (T, 3, S, S): two frames, 64 x 64 (ResNet pools whatever the size)
        return torch.randn(2, 3, 64, 64, generator=generator), 1
    if name == "motion":  # (3, T, S, S): 8 frames of 56 x 56
        return torch.randn(3, 8, 56, 56, generator=generator), 1
    wave = 0.3 * torch.sin(torch.arange(32000) * 0.07) + 0.05 * torch.randn(32000, generator=generator)
    examples = get_expert("audio").prepare(wave.numpy())  # the log-mel front end: (2, 1, 96, 64)
    return examples, int(examples.shape[0])


def _module(name: str) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return get_expert(name).build(untrained=True, device=CPU)


def _runner_features(name: str, module, tensor: torch.Tensor, rows: int, dtype) -> np.ndarray:
    """What the pipeline's runner delivers for one queued clip."""
    got = {}
    runner = ExpertRunner(get_expert(name), module, CPU, batch_size=rows,
                          deliver=lambda video, clip, expert, features: got.setdefault("features", features),
                          dtype=dtype)
    runner.pending, runner.pending_rows = [Item(0, 0, tensor, rows)], rows
    runner.flush()
    return got["features"]


def _float32_path(name: str, module, tensor: torch.Tensor) -> np.ndarray:
    """The experts' float32 forward pass as it was before ``--precision`` (no autocast on the CPU)."""
    with torch.inference_mode():
        if name in ("image", "scene"):
            batch = tensor[None]
            n, t = batch.shape[:2]
            x = batch.reshape(n * t, *batch.shape[2:]).contiguous(memory_format=torch.channels_last)
            return module.forward_features(x).float().reshape(n, t, -1).mean(dim=1).numpy()
        if name == "motion":
            return module.forward_features(tensor[None]).float().numpy()
        return module(tensor).float().numpy()


@pytest.mark.parametrize("name", ["image", "scene", "motion", "audio"])
def test_bf16_features_match_float32_and_fp32_is_the_float32_path(name):
    module = _module(name)
    tensor, rows = _inputs(name)
    reference = _float32_path(name, module, tensor)
    fp32 = _runner_features(name, module, tensor, rows, devices.resolve_precision("fp32", CPU).dtype)
    assert fp32.dtype == np.float32 and np.array_equal(fp32, reference)  # bit for bit
    bf16 = _runner_features(name, module, tensor, rows, torch.bfloat16)
    assert bf16.dtype == np.float32 and bf16.shape == reference.shape == (rows, get_expert(name).dim)
    assert not np.array_equal(bf16, reference)  # the autocast took effect
    cosine = (bf16 * reference).sum(1) / (np.linalg.norm(bf16, axis=1) * np.linalg.norm(reference, axis=1))
    assert cosine.min() >= 0.999, cosine


@pytest.fixture(scope="module")
def one_video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("precision_videos")
    make_video(folder / "tone.mp4", duration=2.5)
    return folder


@pytest.mark.parametrize("precision, level, ran", [("auto", "none", "fp32"), ("auto", "amx", "bf16"),
                                                   ("fp32", "amx", "fp32")])
def test_the_manifest_records_the_precision(one_video, tmp_path, monkeypatch, precision, level, ran):
    monkeypatch.setattr(devices, "cpu_bf16_support", lambda: level)  # simulate the CPU
    report = extract_videos(one_video, tmp_path / "set",
                            ExtractConfig(experts="audio", untrained=True, device="cpu", workers=0, thumbnails=False,
                                          precision=precision))
    recorded = json.loads((tmp_path / "set" / "manifest.json").read_text())["extraction"]["precision"]
    assert recorded == report.precision == devices.resolve_precision(precision, "cpu").record(precision)
    assert recorded["precision"] == ran and recorded["requested"] == precision
    assert f" in {ran} " in report.summary()
    if level == "none":
        assert "no bfloat16 matrix units" in recorded["reason"]
