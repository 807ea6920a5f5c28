"""Decoding, shot detection, the clip plan and the metadata table, on tiny PyAV-made videos."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmx_core.base.errors import MMXError
from mmx_core.extract.decode import DecodeSpec, ExpertInput, decode_video
from mmx_core.extract.listing import list_videos
from mmx_core.extract.meta import UNLABELLED, genre_vocabulary, read_metadata, split_of, trailer_rows
from mmx_core.extract.plan import plan_trailer, sample_times
from mmx_core.extract.shots import ShotDetector, scan_shots
from mmx_core.extract.video import AudioWindows, DecodeError, iter_frames, probe

from videos import make_audio_only, make_corrupt, make_video, shot_colour

FPS = 12.0


@pytest.mark.parametrize("kind", ["content", "adaptive"])
@pytest.mark.parametrize("cuts", [(2.0, 4.5), (1.5, 3.25, 6.0)])
def test_shot_boundaries_within_one_frame(tmp_path, kind, cuts):
    path = make_video(tmp_path / "v.mp4", duration=8.0, cuts=cuts, fps=FPS, audio=False)
    scan = scan_shots(path, ShotDetector(kind), FPS)
    assert len(scan.cuts) == len(cuts)
    assert np.all(np.abs(np.array(scan.cuts) - np.array(cuts)) <= 1.0 / FPS + 1e-6)
    assert scan.frames == 96 and scan.duration == pytest.approx(8.0, abs=1e-3)


def test_variable_frame_rate_is_sampled_by_time(tmp_path):
    times = [0.0, 0.05, 0.3, 0.35, 0.9, 1.0, 1.5, 2.6, 2.7]
    path = make_video(tmp_path / "vfr.mp4", frame_times=times, cuts=[1.4], fps=FPS)
    got = [t for t, _ in iter_frames(path, width=32)]
    assert got == pytest.approx(times, abs=1e-3)
    scan = scan_shots(path, ShotDetector("content", min_shot_seconds=0.0), FPS)
    assert scan.cuts == pytest.approx([1.5], abs=1e-3)  # the first frame of the new shot


def test_rotation_metadata_is_honoured(tmp_path):
    path = make_video(tmp_path / "rot.mp4", duration=1.0, rotation=90, audio=False, size=(64, 48))
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    plain = make_video(tmp_path / "plain.mp4", duration=1.0, audio=False, size=(64, 48))
    (_, rotated), (_, upright) = next(iter(iter_frames(path))), next(iter(iter_frames(plain)))
    assert rotated.shape == (64, 48, 3) and upright.shape == (48, 64, 3)
    # a counter-clockwise quarter turn of the stored picture is what is shown
    assert np.abs(rotated.astype(int) - np.rot90(upright, 1).astype(int)).mean() < 6


def test_decode_failures_name_the_reason(tmp_path):
    with pytest.raises(DecodeError, match="not a readable media file"):
        probe(make_corrupt(tmp_path / "bad.mp4"))
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(DecodeError, match="empty file"):
        probe(tmp_path / "empty.mp4")
    with pytest.raises(DecodeError, match="no video stream"):
        probe(make_audio_only(tmp_path / "sound.mp4"))
    good = make_video(tmp_path / "good.mp4", duration=3.0).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(good[: len(good) // 3])  # truncated: no index (moov) at the end
    with pytest.raises(DecodeError):
        probe(tmp_path / "cut.mp4")


def test_audio_windows_stream_the_tone(tmp_path):
    path = make_video(tmp_path / "tone.mp4", duration=3.0, tone_hz=500.0)
    with AudioWindows(path, 16000) as audio:
        first, second = audio.window(0.0, 1.0), audio.window(1.0, 2.5)
        beyond = audio.window(5.0, 6.0)
    assert first.shape == (16000,) and second.shape == (24000,) and beyond.size == 0
    spectrum = np.abs(np.fft.rfft(second))
    assert np.fft.rfftfreq(len(second), 1 / 16000)[spectrum.argmax()] == pytest.approx(500.0, abs=2.0)


def test_plan_rules():
    plan = plan_trailer([2.0, 4.5], 6.0, clip_seconds=2.0)
    assert plan.clip_counts.tolist() == [1, 2]  # the 1.5 s tail joins the previous shot
    assert [(c.start, c.end) for c in plan.clips] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    plan = plan_trailer([0.5, 1.0, 1.4, 3.0], 40.0, clip_seconds=2.0)
    assert plan.clip_counts.tolist() == [1, 9, 9]  # short shots merged; a 37 s shot split in two sequences
    assert plan.sequence_bounds() == [(0.0, 3.0), (3.0, 21.5), (21.5, 40.0)]
    short = plan_trailer([], 0.25)
    assert short.clip_counts.tolist() == [1] and short.clips[0].end == 0.25
    spread = sample_times(plan.clips[1], 4, None)
    assert np.all(np.diff(spread) > 0) and plan.clips[1].start < spread[0] < spread[-1] < plan.clips[1].end
    motion = sample_times(short.clips[0], 16, 15.0)  # longer than the video: clamped inside its sequence
    assert motion.min() >= 0.0 and motion.max() < 0.25


def test_decode_video_gives_each_expert_its_frames(tmp_path):
    path = make_video(tmp_path / "v.mp4", duration=4.0, cuts=[2.0], fps=FPS)
    spec = DecodeSpec((ExpertInput("img", "video", frames_per_clip=2, resize=40, size=32),
                       ExpertInput("mot", "video", frames_per_clip=5, fps=6.0, resize=20, size=16),
                       ExpertInput("snd", "audio", sample_rate=16000)), ShotDetector(), 2.0, 9)
    messages = list(decode_video(path, spec))
    kinds = [k for k, _ in messages]
    assert kinds[0] == "plan" and kinds[-1] == "done" and kinds.count("clip") == 2 and kinds.count("thumb") == 2
    clips = [p for k, p in messages if k == "clip"]
    assert [k for k, _ in clips] == [0, 1]
    for k, inputs in clips:
        assert inputs["img"].shape == (2, 32, 32, 3) and inputs["img"].dtype == np.uint8
        assert inputs["mot"].shape == (5, 16, 16, 3)
        assert inputs["snd"].shape == (32000,)
        # the frames come from the clip's own shot: its colour fills the corners
        assert np.abs(inputs["img"][:, 0, 0].astype(int) - shot_colour(k)).max() < 40


def test_metadata_table_and_defaults(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.mp4", "a.mkv", "sub/c.webm", "notes.txt"):
        (folder / name).write_bytes(b"x")
    items = list_videos(folder)
    assert [v.id for v in items] == ["a", "b", "sub/c"]
    table = pd.DataFrame({"file": ["a.mkv", "sub/c"], "title": ["Alpha", None], "year": [1999, None],
                          "genres": ["Drama|Horror", "Comedy; Noir"], "split": ["test", None]})
    table.to_csv(tmp_path / "meta.csv", index=False)
    rows = trailer_rows(items, read_metadata(tmp_path / "meta.csv"))
    assert rows[0] == {"id": "a", "title": "Alpha", "year": 1999, "genres": ["Drama", "Horror"], "split": "test",
                       "labelled": True}
    assert rows[1]["title"] == "b" and rows[1]["genres"] == [UNLABELLED] and rows[1]["split"] == split_of("b")
    assert rows[2]["genres"] == ["Comedy", "Noir"] and rows[2]["title"] == "c"
    assert genre_vocabulary(rows) == ["Comedy", "Drama", "Horror", "Noir", UNLABELLED]
    pd.DataFrame({"name": ["a"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(MMXError, match="needs an 'id' or 'file' column"):
        read_metadata(tmp_path / "bad.csv")
    pd.DataFrame({"id": ["a"], "split": ["dev"]}).to_csv(tmp_path / "bad2.csv", index=False)
    with pytest.raises(MMXError, match="split 'dev' is not one of"):
        read_metadata(tmp_path / "bad2.csv")
