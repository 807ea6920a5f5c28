"""Issue 17, cases 4, 5, 6, 7 and 9: video files and metadata cannot stall or fool extraction.

One ``python -m mmx_core extract`` run over a folder of hostile files (module fixture) is checked per case;
the library rules (:mod:`mmx_core.extract.budget`, :mod:`mmx_core.extract.meta`) are tested directly.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mmx_core.base.constraints import ParameterError
from mmx_core.base.errors import MMXError
from mmx_core.extract.budget import MediaBudget, OverBudget, budget_markdown
from mmx_core.extract.decode import DecodeSpec, ExpertInput, decode_video
from mmx_core.extract.media import DecodeError
from mmx_core.extract.listing import list_videos
from mmx_core.extract.meta import read_metadata, trailer_rows
from mmx_core.extract.report import ExtractReport
from mmx_core.extract.shots import ShotDetector

from hostile_videos import make_faststart, make_jump, truncate
from videos import make_corrupt, make_video

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
SPEC = DecodeSpec((ExpertInput("img", "video", frames_per_clip=2, resize=40, size=32),), ShotDetector(), 2.0, 9,
                  thumbnails=False)
ESC_NAME = "clear\x1b[2Jscreen.mkv"
NEWLINE_NAME = "two\nlines.mp4"


def _cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "mmx_core", "extract", *map(str, args), "--experts", "audio",
                           "--untrained", "--no-download", "--device", "cpu", "--workers", "0", "--batch-size", "2"],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A folder of one good video and one hostile file per case, extracted once through the CLI."""
    base = tmp_path_factory.mktemp("hostile")
    folder = base / "in"
    folder.mkdir()
    make_video(folder / "good.mp4", duration=4.0, cuts=[2.0])
    make_jump(folder / "ten_hours.mkv")  # case 4: 2 s of frames, one at 10 h (about 3 KB)
    make_video(base / "whole.mkv", duration=10.0, cuts=[5.0])
    truncate(base / "whole.mkv", 0.6, folder / "cut_short.mkv")  # case 5
    make_faststart(base / "whole.mp4", duration=10.0, cuts=[5.0])
    truncate(base / "whole.mp4", 0.6, folder / "cut_short_faststart.mp4")
    make_corrupt(folder / ESC_NAME)  # case 7: fails, its name in the failure line
    make_video(folder / NEWLINE_NAME, duration=2.0)  # case 7: extracted, its name in the log line
    outside = base / "outside"
    outside.mkdir()
    make_video(outside / "elsewhere.mp4", duration=2.0)
    (folder / "link_out.mp4").symlink_to(outside / "elsewhere.mp4")  # case 9
    (folder / "link_in.mp4").symlink_to(folder / "good.mp4")
    started = time.perf_counter()
    result = _cli(folder, "--out", base / "set")
    return {"folder": folder, "base": base, "result": result, "seconds": time.perf_counter() - started}


def _failure_lines(result) -> dict[str, str]:
    lines = result.stderr[result.stderr.index("video(s) failed:"):].splitlines()[1:]
    return dict(line.strip().split(": ", 1) for line in lines if line.startswith("  "))


def test_case4_a_frame_at_ten_hours_is_refused_before_planning_in_bounded_time(hostile):
    result = hostile["result"]
    assert result.returncode == 1, result.stderr[-2000:]
    reason = _failure_lines(result)["ten_hours.mkv"]
    assert "declares 36000" in reason and "--max-duration" in reason
    assert hostile["seconds"] < 90  # on main this one 3 KB file kept extraction busy past 120 s
    manifest = json.loads((hostile["base"] / "set" / "manifest.json").read_text())
    assert manifest["extraction"]["media_budget"]["max_duration"] == MediaBudget().max_duration


def test_case4_each_limit_refuses_before_any_clip_is_planned(tmp_path):
    jump = make_jump(tmp_path / "jump.mkv", jump_to=500.0)  # under the duration limit: the jump rule
    with pytest.raises(OverBudget, match=r"jump from 1\.917 s to 500 s .*--max-frame-gap"):
        next(decode_video(jump, SPEC))
    video = make_video(tmp_path / "ten.mp4", duration=10.0, audio=False)
    for limits, match in [({"max_clips": 3}, "would be 5 clips .*--max-clips"),
                          ({"max_frames": 50}, "frames .*--max-frames"),
                          ({"max_pixels": 64 * 47}, "64 x 48 pixels .*--max-pixels"),
                          ({"max_duration": 5.0}, "--max-duration")]:
        spec = dataclasses.replace(SPEC, budget=MediaBudget(**limits))
        with pytest.raises(OverBudget, match=match):
            next(decode_video(video, spec))
    kinds = [kind for kind, _ in decode_video(video, SPEC)]
    assert kinds[0] == "plan" and kinds.count("clip") == 5 and kinds[-1] == "done"


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "10"])
def test_case4_a_budget_is_validated_once_in_one_line_naming_the_parameter(value):
    with pytest.raises(ParameterError, match=r"^max_duration=.*: must be a finite number > 0$"):
        MediaBudget(max_duration=value)
    with pytest.raises(ParameterError, match=r"^max_clips=2\.5: must be an integer > 0$"):
        MediaBudget(max_clips=2.5)


def test_case4_the_defaults_are_shown_by_help_and_in_the_docs():
    result = subprocess.run([sys.executable, "-m", "mmx_core", "extract", "--help"], env=ENV, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    text = " ".join(result.stdout.split())
    for flag in ("--max-duration", "--max-frame-gap", "--max-frames", "--max-pixels", "--max-clips",
                 "--allow-partial", "--strict"):
        assert flag in text
    assert f"(default: {MediaBudget().max_duration})" in text and f"(default: {MediaBudget().max_clips})" in text
    from mmx_core.base import docblocks
    from mmx_core.extract.budget import BLOCK

    blocks = docblocks.parse_blocks((ROOT / "docs" / "extract.md").read_text())
    assert blocks[BLOCK].strip() == budget_markdown().strip()  # python -m mmx_core docs rewrites it


def test_case5_truncated_mkv_and_faststart_mp4_are_failures(hostile):
    failures = _failure_lines(hostile["result"])
    for name in ("cut_short.mkv", "cut_short_faststart.mp4"):
        assert failures[name].startswith("truncated or damaged: the header declares"), failures[name]
        assert "--allow-partial" in failures[name]


def test_case5_allow_partial_keeps_what_decoded_and_says_so(hostile, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("cut_short.mkv", "cut_short_faststart.mp4", "good.mp4"):
        (folder / name).write_bytes((hostile["folder"] / name).read_bytes())
    result = _cli(folder, "--out", tmp_path / "set", "--allow-partial")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "extracted 3 of 3 videos" in result.stdout and "2 kept in part (--allow-partial)" in result.stdout
    assert "  cut_short.mkv: partial: the header declares" in result.stderr
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    partial = {p["file"]: p["reason"] for p in manifest["extraction"]["partial"]}
    assert set(partial) == {"cut_short.mkv", "cut_short_faststart.mp4"}
    assert manifest["extraction"]["media_budget"]["allow_partial"] is True


class _Breaking:
    """A PyAV container whose video decoding raises InvalidDataError after ``after`` frames (a damaged stream)."""

    def __init__(self, container, after: int):
        self.container, self.after = container, after

    def __getattr__(self, name):
        return getattr(self.container, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.container.close()

    def decode(self, *streams):
        import av

        for n, frame in enumerate(self.container.decode(*streams)):
            if n == self.after and streams and streams[0].type == "video":
                raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
            yield frame


def test_case5_a_stream_that_stops_on_an_error_is_a_failure_unless_partial(tmp_path, monkeypatch):
    from mmx_core.extract import media, video

    path = make_video(tmp_path / "v.mkv", duration=6.0, audio=False)
    monkeypatch.setattr(video, "open_media", lambda p: _Breaking(media.open_media(p), after=30))
    with pytest.raises(DecodeError, match=r"truncated or damaged: decoding stopped after 30 frames \(Invalid data"):
        list(decode_video(path, SPEC))
    messages = list(decode_video(path, dataclasses.replace(SPEC, allow_partial=True)))
    assert messages[0][1]["partial"].startswith("decoding stopped after 30 frames")
    assert messages[-1][1]["partial"] and sum(kind == "clip" for kind, _ in messages) == 1


@pytest.mark.parametrize("year", ["2001.5", "1e30", "12345678901234567890", "abc", "1700", "2101"])
def test_case6_a_bad_year_is_one_line_naming_file_row_column_and_value(tmp_path, year):
    (tmp_path / "meta.csv").write_text(f"id,year\na,1999\nb,{year}\n")
    with pytest.raises(MMXError) as caught:
        read_metadata(tmp_path / "meta.csv")
    assert str(caught.value) .startswith(f"{tmp_path / 'meta.csv'}: row 3: year '{year}' is not")
    assert "\n" not in str(caught.value)


def test_case6_whole_years_lists_and_parquet_values_are_read(tmp_path):
    (tmp_path / "meta.csv").write_text("id,year,genres\na,2001.0,Drama|Noir\nb,,\n")
    table = read_metadata(tmp_path / "meta.csv")
    assert table["year"].tolist() == [2001, None] and table["genres"].tolist() == [["Drama", "Noir"], []]
    pd.DataFrame({"id": ["a", "b"], "year": [1999.0, 1e30]}).to_parquet(tmp_path / "meta.parquet")
    with pytest.raises(MMXError, match=r"row 3: year 1e\+30 is not a whole year|row 3: year 1e\+30 is not a year"):
        read_metadata(tmp_path / "meta.parquet")
    pd.DataFrame({"id": ["a"], "genres": [5]}).to_parquet(tmp_path / "g.parquet")
    with pytest.raises(MMXError, match="row 2: genres 5 is not a list of genres"):
        read_metadata(tmp_path / "g.parquet")


def test_case6_unmatched_and_doubly_matched_rows_warn_and_strict_refuses(tmp_path, caplog):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("Film A.mp4", "b.mp4"):
        (folder / name).write_bytes(b"x")
    (tmp_path / "meta.csv").write_text("file,title\nFilm A.mp4,First\nfilm a,Second\nnowhere.mp4,Lost\n")
    items, table = list_videos(folder), read_metadata(tmp_path / "meta.csv")
    with caplog.at_level(logging.WARNING, logger="mmx_core.extract.meta"):
        rows = trailer_rows(items, table)
    assert rows[0]["title"] == "First"
    text = caplog.text
    assert "Film A.mp4 matches row 2 ('Film A.mp4'), row 3 ('film a'); row 2 is used" in text
    assert "row 4 ('nowhere.mp4')" in text
    with pytest.raises(MMXError, match="--strict refuses"):
        trailer_rows(items, table, strict=True)
    (tmp_path / "none.csv").write_text("id,title\nx,X\ny,Y\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mmx_core.extract.meta"):
        trailer_rows(items, read_metadata(tmp_path / "none.csv"))
    assert "no metadata row matches any of the 2 videos" in caplog.text


def test_case6_strict_cli_refuses_before_writing(hostile, tmp_path):
    (tmp_path / "meta.csv").write_text("file,title\ngood.mp4,Good\nGOOD,Shouting\n")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.mp4").write_bytes((hostile["folder"] / "good.mp4").read_bytes())
    result = _cli(folder, "--out", tmp_path / "set", "--meta", tmp_path / "meta.csv", "--strict")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "matches row 2 ('good.mp4'), row 3 ('GOOD')" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "set").exists()
    (tmp_path / "year.csv").write_text("file,year\ngood.mp4,1e30\n")
    result = _cli(folder, "--out", tmp_path / "set", "--meta", tmp_path / "year.csv")
    assert result.returncode == 2 and "row 2: year '1e30' is not" in result.stderr
    assert "Traceback" not in result.stderr


def test_case7_names_with_escapes_and_newlines_are_escaped_in_every_line(hostile):
    result = hostile["result"]
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream
    assert "clear\\x1b[2Jscreen.mkv: not a readable media file" in result.stderr
    assert "two\\nlines.mp4: " in result.stderr  # the per-video log line
    assert not any(line.startswith("lines.mp4") for line in result.stderr.splitlines())


def test_case7_the_report_escapes_file_names_and_reasons():
    report = ExtractReport(out=Path("set\x1b[0m"), videos=2, failed=[("a\x1b[2J.mp4", "bad\nreason")],
                           partial=[("b\r.mkv", "short")])
    lines = [report.summary(), *report.problem_lines()]
    assert all("\x1b" not in line and "\n" not in line and "\r" not in line for line in lines)
    assert "  a\\x1b[2J.mp4: bad\\nreason" in lines and "  b\\r.mkv: partial: short" in lines


def test_case9_a_link_out_of_the_folder_is_refused_not_followed(hostile):
    result = hostile["result"]
    assert "  link_out.mp4: a symbolic link that points out of its folder; not followed" in result.stderr
    store = json.loads((hostile["base"] / "set" / "sources.json").read_text())["videos"]
    assert {v["relative"] for v in store} == {"good.mp4", "link_in.mp4", NEWLINE_NAME}
    assert not any("elsewhere" in v["file"] for v in store)


def test_case9_links_given_directly_are_checked_against_their_own_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = make_video(tmp_path / "b" / "real.mp4", duration=1.0, audio=False)
    (tmp_path / "a" / "out.mp4").symlink_to(real)
    (tmp_path / "b" / "in.mp4").symlink_to(real)
    (tmp_path / "a" / "dangling.mp4").symlink_to(tmp_path / "missing.mp4")
    items = {v.relative: v for v in list_videos([tmp_path / "a" / "out.mp4", tmp_path / "b" / "in.mp4",
                                                 tmp_path / "a" / "dangling.mp4"])}
    assert "points out of its folder" in items["out.mp4"].refused
    assert items["in.mp4"].refused is None
    assert "symbolic link to nothing readable" in items["dangling.mp4"].refused
