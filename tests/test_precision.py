"""Precision: one list of choices, its resolution per device (detection simulated), one autocast helper,
the refusals through the CLI, and the model's float32 islands under autocast."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch

from mmx_core.base import devices
from mmx_core.base.devices import (CPU_BF16_LEVELS, DEFAULT_PRECISION, PRECISION_LABELS, PRECISIONS, autocast_for,
                                   check_precision, cpu_bf16_support, resolve_precision)
from mmx_core.base.errors import MMXError
from mmx_core.cli import build_parser, main


def _simulate_cpu(monkeypatch, level: str) -> None:
    assert level in CPU_BF16_LEVELS
    monkeypatch.setattr(devices, "cpu_bf16_support", lambda: level)


def test_the_choices_and_the_real_detection():
    assert PRECISIONS == ("auto", "fp32", "bf16", "fp16") and DEFAULT_PRECISION == "auto"
    assert set(PRECISION_LABELS) == set(PRECISIONS)
    assert cpu_bf16_support() in CPU_BF16_LEVELS
    dtype, reason = resolve_precision("auto", "cpu")  # whatever this CPU has, the reason names what was detected
    assert (dtype is torch.bfloat16) == (cpu_bf16_support() == "amx")
    assert reason.startswith("auto: ") and ("AMX" in reason)


def test_auto_is_bf16_with_matrix_units(monkeypatch):
    _simulate_cpu(monkeypatch, "amx")
    resolved = resolve_precision("auto", torch.device("cpu"))
    assert resolved.dtype is torch.bfloat16 and resolved.name == "bf16"
    assert "matrix units" in resolved.reason and "AMX" in resolved.reason
    assert resolved.record("auto") == {"precision": "bf16", "requested": "auto", "reason": resolved.reason}


@pytest.mark.parametrize("level, detected", [("none", "no bfloat16 matrix units"),
                                             ("avx512_bf16", "only AVX-512 BF16")])
def test_auto_is_fp32_where_the_cpu_lacks_the_units(monkeypatch, level, detected):
    _simulate_cpu(monkeypatch, level)
    dtype, reason = resolve_precision("auto", "cpu")
    assert dtype is None and reason.startswith("auto: float32") and detected in reason and "no AMX" in reason
    assert resolve_precision("auto", "cpu").record("auto")["precision"] == "fp32"


def test_explicit_choices_on_the_cpu(monkeypatch):
    _simulate_cpu(monkeypatch, "none")
    assert resolve_precision("fp32", "cpu") == (None, "fp32: float32, no autocast (as asked)")
    dtype, reason = resolve_precision("bf16", "cpu")  # runs, but the record says it is emulated
    assert dtype is torch.bfloat16 and "EMULATED" in reason
    _simulate_cpu(monkeypatch, "amx")
    assert "EMULATED" not in resolve_precision("bf16", "cpu").reason
    with pytest.raises(MMXError, match=r"^precision='fp16' is for a CUDA GPU; on the CPU choose 'bf16', 'fp32' or "
                                       r"'auto'$"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(MMXError, match=r"^--precision='fp16' is for a CUDA GPU"):
        check_precision("fp16", "cpu", "--precision")
    assert check_precision("bf16", "cpu") == "bf16"


def test_choices_on_a_gpu_without_one(monkeypatch):
    # the rules for CUDA are pure: resolve them for a CUDA device without needing one
    assert resolve_precision("auto", "cuda").dtype is torch.float16
    assert resolve_precision("fp16", "cuda:0").name == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(MMXError, match="no bfloat16 support"):
        resolve_precision("bf16", "cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert resolve_precision("bf16", "cuda").dtype is torch.bfloat16


@pytest.mark.parametrize("bad", ["FP32", "float32", "", None, 16])
def test_unknown_choices_are_named(bad):
    with pytest.raises(MMXError, match=re.escape(f"precision={bad!r} is not one of ['auto', 'fp32', 'bf16', 'fp16']")):
        resolve_precision(bad, "cpu")


def test_autocast_for():
    layer = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8)
    with autocast_for("cpu", None):
        assert not torch.is_autocast_enabled("cpu")
        assert torch.equal(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))
    with autocast_for(torch.device("cpu"), torch.bfloat16):
        assert torch.is_autocast_enabled("cpu") and layer(x).dtype is torch.bfloat16
    assert isinstance(autocast_for("cpu", None), contextlib.nullcontext)


def test_every_precision_option_offers_the_same_choices():
    choices = "{" + ",".join(PRECISIONS) + "}"
    for command in ("extract", "embed", "evaluate", "train"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        help_text = " ".join(out.getvalue().split())
        assert f"--precision {choices}" in help_text and "(default: auto)" in help_text, command


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and lines and lines[-1].startswith("error: "), err
    return lines[-1]


def test_fp16_on_the_cpu_is_refused_in_one_line(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(b"never decoded")
    code = main(["extract", str(videos), "--out", str(tmp_path / "set"), "--device", "cpu", "--precision", "fp16"])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "precision='fp16' is for a CUDA GPU" in line
    assert not (tmp_path / "set").exists()


def test_fp16_on_the_cpu_is_refused_by_embed_and_evaluate(tiny_data, tmp_path, capsys):
    for argv in (["embed", "--data", tiny_data, "--model", str(tmp_path / "no-run"), "--out", str(tmp_path / "e.npz")],
                 ["evaluate", "--data", tiny_data, "--model", str(tmp_path / "no-run")]):
        code = main([*argv, "--device", "cpu", "--precision", "fp16"])
        assert code == 2 and "'fp16' is for a CUDA GPU" in _one_line_error(capsys.readouterr().err), argv


def test_job_requests_carry_and_check_the_precision(tiny_data, tmp_path):
    from mmx_core import jobs

    request = jobs.EmbedRequest(run="r", data=tiny_data, device="cpu", precision="bf16")
    argv = request.command(tmp_path)
    assert argv[argv.index("--precision") + 1] == "bf16"
    assert build_parser().parse_args(argv).precision == "bf16"
    default = jobs.EmbedRequest(run="r", data=tiny_data)
    assert default.precision == DEFAULT_PRECISION and "--precision" not in default.command(tmp_path)
    with pytest.raises(MMXError, match=r"precision='fp64': must be one of"):
        jobs.ExtractRequest(videos="v", dataset="d", precision="fp64").checked()
    with pytest.raises(MMXError, match=r"precision='fp16' is for a CUDA GPU"):
        jobs.ExtractRequest(videos="v", dataset="d", device="cpu", precision="fp16")._checked_device()
    train = jobs.TrainRequest(stage="coarse", data=tiny_data, device="cpu", precision="fp32").validate()
    from mmx_core.base.paths import runs_dir

    argv = train.command(runs_dir() / "r")
    assert argv[argv.index("--precision") + 1] == "fp32" and build_parser().parse_args(argv).precision == "fp32"
    extract = jobs.ExtractRequest(videos=str(tmp_path), dataset="d", device="cpu", precision="fp32")
    argv = extract.command(tmp_path)
    assert argv[argv.index("--precision") + 1] == "fp32"


def test_model_keeps_softmax_and_norms_in_float32_under_bf16():
    from mmx_core.model.gem import GatedEmbeddingUnit
    from mmx_core.model.netvlad import NetVLAD

    torch.manual_seed(0)
    vlad, gem = NetVLAD(16, 4, 1), GatedEmbeddingUnit(16, 8)
    x, mask = torch.randn(5, 7, 16), torch.rand(5, 7) > 0.3
    with torch.no_grad():
        reference = vlad(x, mask), gem(x[:, 0])
        with autocast_for("cpu", torch.bfloat16):
            low = vlad(x, mask), gem(x[:, 0])
    for ref, out in zip(reference, low):
        assert out.dtype is torch.float32  # normalised in float32
        assert torch.allclose(out.norm(dim=-1), torch.ones(len(out)), atol=1e-5)
        assert torch.nn.functional.cosine_similarity(ref, out).min() > 0.999


def _tiny_run(tiny_data, out):
    """One short coarse epoch on the tiny set (tiny model dims)."""
    from mmx_core.data import TrailerStore
    from mmx_core.model import ModelConfig
    from mmx_core.train import TrainConfig, train

    model = ModelConfig.for_store(TrailerStore.open(tiny_data).manifest, shared_dim=8, sequence_dim=16,
                                  bottleneck_dim=12, gating_hidden=8, head_hidden=16, projection_dim=8,
                                  vlad_clusters=3, train_sequences=3)
    return train(TrainConfig(stage="coarse", data=tiny_data, out=out, epochs=1, batch_size=8, device="cpu",
                             model=model))


def test_embed_and_evaluate_record_the_precision_and_fp32_is_the_float32_path(tiny_data, tmp_path, capsys,
                                                                               monkeypatch):
    import json

    import numpy as np

    from mmx_core.data import BatchBuffers, TrailerStore
    from mmx_core.train import embed_store, load_checkpoint
    from mmx_core.base.paths import data_dir
    from mmx_core.train.inference import inference_batches

    tiny_data = str(data_dir() / tiny_data)
    run = _tiny_run(tiny_data, tmp_path / "run")
    store, checkpoint = TrailerStore.open(tiny_data), load_checkpoint(tmp_path / "run")
    model = checkpoint.model.eval()
    with torch.no_grad():  # the float32 inference as it was before --precision (no autocast on the CPU)
        reference = torch.cat([model(batch["batch"], head="embed").float() for batch in inference_batches(
            store, np.arange(store.n_trailers), 16, torch.device("cpu"), buffers=BatchBuffers())]).numpy()
    _, fp32 = embed_store(store, checkpoint, device="cpu", precision="fp32")
    assert np.array_equal(fp32, reference)  # bit for bit
    _, bf16 = embed_store(store, checkpoint, device="cpu", precision="bf16")
    assert bf16.dtype == np.float32 and not np.array_equal(bf16, reference)
    cosine = (bf16 * reference).sum(1) / (np.linalg.norm(bf16, axis=1) * np.linalg.norm(reference, axis=1))
    assert cosine.min() >= 0.999

    monkeypatch.setattr(devices, "cpu_bf16_support", lambda: "none")  # a CPU without the units: auto is fp32
    target = tmp_path / "e.npz"
    assert main(["embed", "--data", tiny_data, "--model", str(run), "--out", str(target), "--device", "cpu"]) == 0
    params = json.loads((tmp_path / "e.npz.json").read_text())["params"]
    assert params["precision"]["precision"] == "fp32" and params["precision"]["requested"] == "auto"
    assert "no bfloat16 matrix units" in params["precision"]["reason"]
    capsys.readouterr()
    assert main(["evaluate", "--data", tiny_data, "--model", str(run), "--device", "cpu", "--precision", "bf16",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["compute_precision"]["precision"] == "bf16" and "EMULATED" in report["compute_precision"]["reason"]


def test_train_records_the_precision_and_refuses_fp16_on_the_cpu(tiny_data, tmp_path, capsys, monkeypatch):
    import json

    from mmx_core.base.paths import data_dir

    tiny_data = str(data_dir() / tiny_data)
    monkeypatch.setattr(devices, "cpu_bf16_support", lambda: "amx")  # simulate the units: auto trains in bf16
    run = _tiny_run(tiny_data, tmp_path / "run")
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["precision"] == "auto" and config["precision"]["precision"] == "bf16"
    assert "matrix units" in config["precision"]["reason"]
    assert np_finite(json.loads(line)["loss"] for line in (run / "events.jsonl").read_text().splitlines()
                     if '"loss"' in line)
    code = main(["train", "--stage", "coarse", "--data", tiny_data, "--out", str(tmp_path / "refused"),
                 "--device", "cpu", "--precision", "fp16"])
    assert code == 2 and "'fp16' is for a CUDA GPU" in _one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "refused" / "config.json").exists()


def np_finite(values) -> bool:
    import math

    values = list(values)
    return bool(values) and all(math.isfinite(v) for v in values)


def test_a_run_resumes_only_in_the_precision_it_trained_in(tiny_data, tmp_path, monkeypatch):
    from mmx_core.base.paths import data_dir
    from mmx_core.train import TrainConfig, train

    _simulate_cpu(monkeypatch, "amx")                          # auto: bf16 here
    data = str(data_dir() / tiny_data)
    run = _tiny_run(data, tmp_path / "run")                    # trained with the default, auto
    checkpoint = (run / "checkpoints" / "last.pt").read_bytes()
    config = dict(stage="coarse", data=data, out=run, epochs=2, batch_size=8, device="cpu", resume=True)
    with pytest.raises(MMXError, match=r"--resume in fp32, but the run trained in bf16 \(--precision auto\)"):
        train(TrainConfig(precision="fp32", **config))
    assert (run / "checkpoints" / "last.pt").read_bytes() == checkpoint     # nothing touched
    train(TrainConfig(precision="bf16", **config))                           # the same precision, named
