"""``extract`` end to end on tiny generated videos, with untrained backbones (no network, no weights)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmx_core.base.errors import MMXError
from mmx_core.data import TrailerStore, validate_dataset
from mmx_core.extract.pipeline import ExtractConfig, extract_videos, work_dir

from videos import make_audio_only, make_corrupt, make_video

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "mmx_core", "extract", *map(str, args)], env=ENV, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _same_data(a: Path, b: Path) -> None:
    """Two data sets hold the same bytes (features, index, trailer table); manifests differ only by command."""
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    ma["generator"].pop("command"), mb["generator"].pop("command")
    assert ma == mb
    files = sorted(p.relative_to(a) for p in a.rglob("*.npy"))
    assert files and files == sorted(p.relative_to(b) for p in b.rglob("*.npy"))
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    pd.testing.assert_frame_equal(pd.read_parquet(a / "trailers.parquet"), pd.read_parquet(b / "trailers.parquet"))
    with zipfile.ZipFile(a / "thumbnails.zip") as za, zipfile.ZipFile(b / "thumbnails.zip") as zb:
        assert za.namelist() == zb.namelist()


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    make_video(folder / "cut.mp4", duration=4.0, cuts=[2.0])
    make_video(folder / "silent.mp4", duration=2.0, audio=False)
    make_video(folder / "blip.mp4", frame_times=[0.0, 1 / 12, 2 / 12])
    return folder


def test_all_four_experts_dims_masks_and_untrained_mark(clips_dir, tmp_path):
    seen = []
    report = extract_videos([clips_dir / "cut.mp4"], tmp_path / "set",
                            ExtractConfig(untrained=True, device="cpu", batch_size=2, workers=0),
                            progress=seen.append)
    assert report.ok and report.clips == 2 and report.untrained
    assert [(e["done"], e["total"]) for e in seen] == [(1, 1)]
    assert validate_dataset(tmp_path / "set").ok
    store = TrailerStore.open(tmp_path / "set")
    manifest = store.manifest
    assert {k: (v.dim, v.temporal) for k, v in manifest.experts.items()} == {
        "image": (2048, "pooled"), "scene": (2048, "pooled"), "motion": (512, "pooled"), "audio": (128, "frames")}
    assert manifest.extraction["untrained"] is True and "untrained" in manifest.source
    assert manifest.extraction["experts"]["motion"]["backbone"] and manifest.extraction["shots"]["detector"] == "content"
    assert list(store.trailers["id"]) == ["cut"] and list(store.trailers["title"]) == ["cut"]
    cut = store.read(0)
    assert cut.clip_mask.shape == (2, 9) and cut.clip_mask.sum() == 2  # two shots, one clip each; 16 slots masked
    for name in ("image", "scene", "motion"):
        assert cut.frame_mask[name].sum() == 2
        assert np.isfinite(cut.features[name]).all() and np.abs(cut.features[name]).sum() > 0
    assert cut.frame_mask["audio"].sum() == 4  # two 0.96 s examples in each 2 s clip
    assert manifest.counts["frames"]["audio"] == 4
    names = zipfile.ZipFile(tmp_path / "set" / "thumbnails.zip").namelist()
    assert names == ["cut.jpg", "sequences/cut/0.jpg", "sequences/cut/1.jpg"]
    sources = json.loads((tmp_path / "set" / "sources.json").read_text())["videos"]
    assert sources[0]["file"] == str((clips_dir / "cut.mp4").resolve()) and sources[0]["cuts"] == [2.0]
    assert sources[0]["sequences"] == [[0.0, 2.0], [2.0, 4.0]]
    assert not work_dir(tmp_path / "set").exists()


def test_failures_are_reported_and_the_rest_goes_on(clips_dir, tmp_path):
    folder = tmp_path / "my videos"
    folder.mkdir()
    for name in ("cut.mp4", "blip.mp4"):
        (folder / name).write_bytes((clips_dir / name).read_bytes())
    make_corrupt(folder / "corrupt.mp4")
    (folder / "empty.mkv").write_bytes(b"")
    make_audio_only(folder / "sound.mp4")
    data = (clips_dir / "cut.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 3])
    result = _cli(folder, "--out", tmp_path / "set", "--experts", "audio", "--untrained", "--device", "cpu",
                  "--workers", "1")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "extracted 2 of 6 videos" in result.stdout
    summary = result.stderr[result.stderr.index("4 video(s) failed"):]
    for name, reason in (("corrupt.mp4", "not a readable media file"), ("empty.mkv", "empty file"),
                         ("sound.mp4", "no video stream"), ("truncated.mp4", "")):
        assert f"  {name}: {reason}" in summary
    store = TrailerStore.open(tmp_path / "set")
    assert list(store.trailers["id"]) == ["blip", "cut"]
    blip = store.read(0)
    assert blip.clip_mask.shape[0] == 1 and blip.clip_mask.sum() == 1  # a few frames: one short clip
    command = shlex.split(json.loads((tmp_path / "set" / "manifest.json").read_text())["generator"]["command"])
    assert command[3:5] == ["extract", str(folder)]                     # the recorded command runs as it was
    failed = {f["file"] for f in store.manifest.extraction["failed"]}
    assert failed == {"corrupt.mp4", "empty.mkv", "sound.mp4", "truncated.mp4"}


def test_missing_weights_stop_before_decoding(clips_dir, tmp_path):
    weights = tmp_path / "weights"
    weights.mkdir()
    env_home = {**ENV, "TORCH_HOME": str(tmp_path / "torch")}
    result = subprocess.run([sys.executable, "-m", "mmx_core", "extract", str(clips_dir), "--out",
                             str(tmp_path / "set"), "--experts", "image", "--weights-dir", str(weights),
                             "--no-download"], env=env_home, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: expert 'image'") and str(weights) in lines[0]
    assert "resnet50" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / "set").exists() and not work_dir(tmp_path / "set").exists()


def test_metadata_vocabulary_comes_from_the_table(clips_dir, tmp_path):
    genres = ["Noir", "Western", "Anime", "Heist", "Musical"]
    pd.DataFrame({"file": ["cut.mp4", "silent.mp4", "blip.mp4"], "title": ["The Cut", "Quiet", "Blip"],
                  "year": [2001, 1950, None], "genres": ["Noir|Heist", "Western;Musical", "Anime"],
                  "split": ["train", "val", "test"]}).to_parquet(tmp_path / "meta.parquet")
    extract_videos(clips_dir, tmp_path / "set",
                   ExtractConfig(experts="image,audio", untrained=True, device="cpu", workers=0, batch_size=1),
                   meta=tmp_path / "meta.parquet")
    store = TrailerStore.open(tmp_path / "set")
    assert store.manifest.genres == sorted(genres)
    table = store.trailers.set_index("id")
    assert table.loc["cut", "title"] == "The Cut" and list(table.loc["silent", "genres"]) == ["Western", "Musical"]
    assert table.loc["blip", "split"] == "test" and pd.isna(table.loc["blip", "year"])
    assert store.labels().sum() == 5
    silent = store.read(int(np.flatnonzero(store.trailers["id"] == "silent")[0]))
    assert silent.clip_mask.sum() == 1 and silent.frame_mask["audio"].sum() == 0  # no audio: missing, not zeros
    assert silent.frame_mask["image"].sum() == 1
    assert store.manifest.counts["frames"]["audio"] == 2 * 2 + 1  # cut: 2 clips x 2 examples, blip: 1


def test_a_video_no_expert_can_see_fails_with_its_reason(clips_dir, tmp_path):
    report = extract_videos(clips_dir, tmp_path / "set",
                            ExtractConfig(experts="audio", untrained=True, device="cpu", workers=0))
    assert report.failed == [("silent.mp4", "no expert gave features for any clip (no audio stream)")]
    assert list(TrailerStore.open(tmp_path / "set").trailers["id"]) == ["blip", "cut"]


def test_existing_output_and_bad_parameters(clips_dir, tmp_path):
    (tmp_path / "set").mkdir()
    with pytest.raises(MMXError, match="already exists"):
        extract_videos(clips_dir, tmp_path / "set", ExtractConfig(experts="audio", untrained=True))
    with pytest.raises(MMXError, match="unknown expert 'colour'"):
        extract_videos(clips_dir, tmp_path / "x", ExtractConfig(experts="audio,colour", untrained=True))
    with pytest.raises(MMXError, match="detector='fancy': must be one of"):
        extract_videos(clips_dir, tmp_path / "x", ExtractConfig(experts="audio", untrained=True, detector="fancy"))


@pytest.mark.slow
def test_resume_after_kill_equals_an_unbroken_run(tmp_path):
    folder = tmp_path / "my videos"
    folder.mkdir()
    for k in range(6):
        make_video(folder / f"v{k}.mp4", duration=2.0 + k % 3, cuts=[1.0] if k == 3 else [], tone_hz=300 + 100 * k)
    args = ["--experts", "audio", "--untrained", "--device", "cpu", "--batch-size", "3", "--workers", "0"]
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "mmx_core", "extract", str(folder), "--out", str(out), *args],
                            env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finished = work_dir(out) / "videos"

    def whole_files() -> list[Path]:  # a file being written is a hidden temporary name until it is renamed
        return [p for p in finished.glob("*.npz") if not p.name.startswith(".")] if finished.exists() else []

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not whole_files():
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done_before = len(whole_files())
    assert 1 <= done_before < 6 and not out.exists()
    report = extract_videos(folder, out,
                            ExtractConfig(experts="audio", untrained=True, device="cpu", batch_size=3, workers=0,
                                          threads=1),
                            resume=True)
    assert report.resumed == done_before and report.extracted == 6 - done_before
    unbroken = extract_videos(folder, tmp_path / "unbroken",
                              ExtractConfig(experts="audio", untrained=True, device="cpu", batch_size=3, workers=1,
                                            threads=1))
    assert unbroken.extracted == 6
    _same_data(out, tmp_path / "unbroken")


@pytest.mark.slow
def test_two_torchrun_processes_equal_one(clips_dir, tmp_path):
    args = ["--experts", "image,audio", "--untrained", "--device", "cpu", "--batch-size", "2", "--workers", "0"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "mmx_core",
           "extract", str(clips_dir), "--out", str(tmp_path / "two"), *args]
    result = subprocess.run(cmd, env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # torchrun runs each process with one thread; kernels sum in a thread-count dependent order
    one = extract_videos(clips_dir, tmp_path / "one",
                         ExtractConfig(experts="image,audio", untrained=True, device="cpu", batch_size=2, workers=0,
                                       threads=1))
    assert one.extracted == 3
    _same_data(tmp_path / "two", tmp_path / "one")


def test_bad_extraction_parameters_are_refused_by_name_before_any_work(clips_dir, tmp_path):
    for bad, named in ((dict(batch_size=0), "batch_size=0"), (dict(threads=0), "threads=0"),
                       (dict(workers=-1), "workers=-1"), (dict(clip_seconds=0.0), "clip_seconds=0.0")):
        with pytest.raises(MMXError, match=named):
            extract_videos(clips_dir, tmp_path / "never", ExtractConfig(experts="audio", untrained=True, **bad))
    assert not (tmp_path / "never").exists()
