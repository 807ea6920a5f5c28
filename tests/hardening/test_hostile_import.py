"""Issue 12, items 1, 7 and 8: one importer per destination, escaped control characters, exit codes."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
import torch

from hostile_helpers import DIMS, cli, one_line_error, write_tree
from mmx_core import jobs
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir
from mmx_core.cli import main
from mmx_core.data import validate_dataset
from mmx_core.data.importer import convert as importer
from mmx_core.base.output_writer import stage_dir
from mmx_core.jobs import queue

DIMS_ARG = ",".join(f"{k}={v}" for k, v in DIMS.items())


def test_a_second_import_into_the_same_out_is_refused_naming_the_holder(tmp_path, monkeypatch, capsys):
    src, out = write_tree(tmp_path / "tree", 8), tmp_path / "set"
    first_started, second_done = threading.Event(), threading.Event()
    first = {}
    real_read = importer.read_trailer

    def slow_read(*args, **kwargs):  # the first import pauses inside its loop until the second has tried
        if threading.current_thread().name == "first-import":
            first_started.set()
            second_done.wait(30)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(importer, "read_trailer", slow_read)

    def run_first():
        first["result"] = importer.import_mmx(src, out, dims=DIMS, commit_seconds=0.0)

    thread = threading.Thread(target=run_first, name="first-import")
    thread.start()
    assert first_started.wait(30)
    try:
        code = main(["import-mmx", str(src), "--out", str(out), "--dims", DIMS_ARG])
    finally:
        second_done.set()
        thread.join(60)
    err = capsys.readouterr().err
    assert code == 2
    assert f"being written by another process (pid {os.getpid()}" in err and err.count("\n") == 1
    assert first["result"].trailers == 8
    report = validate_dataset(out)
    assert report.ok and report.trailers == 8, report.problems
    assert not stage_dir(out).exists(), "the refused import left a .partial folder"
    assert not (out / ".writer.lock").exists()


def test_an_import_into_an_existing_set_touches_nothing(tmp_path):
    src, out = write_tree(tmp_path / "tree", 3), tmp_path / "set"
    importer.import_mmx(src, out, dims=DIMS)
    with pytest.raises(MMXError, match="already exists"):
        importer.import_mmx(src, out, dims=DIMS)
    assert not stage_dir(out).exists()
    assert validate_dataset(out).ok


def test_clicking_import_twice_queues_one_job(tmp_path, monkeypatch):
    src = write_tree(tmp_path / "tree", 2)
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, "-c", "import time; time.sleep(0.5)"])
    request = jobs.ImportRequest(folder=str(src), dataset="double-click")
    jobs.submit(request)
    with pytest.raises(MMXError, match="job called 'import-double-click' exists already"):
        jobs.submit(request)
    assert [j.name for j in jobs.list_jobs()].count("import-double-click") == 1


def _tree_with_skips(root: Path) -> Path:
    write_tree(root, 3)
    clip = root / "Drama" / "trailer000" / "scene0" / "0"
    (clip / "img-embeddings" / "0.pt").write_bytes(b"\x80not a tensor")                          # unreadable
    torch.save(torch.zeros(2, 3, DIMS["scene"]), clip / "location-embeddings" / "0.pt")           # (2, 3, D)
    return root


def test_skipped_input_exits_non_zero_after_keeping_what_it_could(tmp_path):
    src, out = _tree_with_skips(tmp_path / "tree"), tmp_path / "set"
    done = cli("import-mmx", src, "--out", out, "--dims", DIMS_ARG)
    assert done.returncode == 1, done.stderr
    last = one_line_error(done.stderr)
    assert "2 problem(s)" in last and "--allow-skips" in last and "3 imported trailers are kept" in last
    assert validate_dataset(out).ok
    problems = {p["file"]: p["message"] for p in json.loads((out / "import_report.json").read_text())["problems"]}
    assert "expected last dim 5 in a shape (5,), (1, 5) or (n, 5)" in \
        problems["Drama/trailer000/scene0/0/location-embeddings/0.pt"]


def test_allow_skips_accepts_partial_results_and_strict_is_a_no_op(tmp_path):
    src = _tree_with_skips(tmp_path / "tree")
    assert cli("import-mmx", src, "--out", tmp_path / "a", "--dims", DIMS_ARG, "--allow-skips").returncode == 0
    assert cli("import-mmx", src, "--out", tmp_path / "b", "--dims", DIMS_ARG, "--strict").returncode == 1


def test_a_three_dimensional_tensor_is_refused_not_taken_as_frames(tmp_path):
    src = write_tree(tmp_path / "tree", 1)
    clip = src / "Drama" / "trailer000" / "scene0" / "0"
    torch.save(torch.ones(2, 3, DIMS["audio"]), clip / "audio-embeddings" / "0.pt")
    result = importer.import_mmx(src, tmp_path / "set", dims=DIMS)
    assert any("tensor of shape (2, 3, 3)" in p["message"] for p in result.problems)
    assert result.trailers == 1  # the clip keeps its other experts; audio of that clip is missing, not 6 frames
    offsets = __import__("numpy").load(tmp_path / "set" / "experts" / "audio" / "frame_offsets.npy")
    assert offsets[1] - offsets[0] == 0


ESC = "\x1b[2J\x1b[H"


def test_control_characters_are_escaped_in_messages_and_the_import_report(tmp_path):
    src = write_tree(tmp_path / "tree", 2)
    os.rename(src / "Comedy" / "trailer001", src / "Comedy" / f"evil{ESC}")
    out = tmp_path / "set"
    done = cli("import-mmx", src, "--out", out, "--dims", DIMS_ARG)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout + done.stderr and "evil\\x1b[2J" in done.stdout
    report = (out / "import_report.json").read_text()
    assert "\x1b" not in json.loads(report)["problems"][0]["file"]
    assert "evil\\x1b[2J" in json.loads(report)["problems"][0]["file"]
    error = MMXError(f"bad value {ESC}\nsecond line", tmp_path / f"dir{ESC}")
    assert "\x1b" not in str(error) and "\n" not in str(error) and error.path.name == f"dir{ESC}"


def test_validate_reports_ids_and_titles_with_control_characters(tiny_data):
    import shutil

    copy = data_dir() / "tiny-escapes"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data_dir() / tiny_data, copy)
    table = pd.read_parquet(copy / "trailers.parquet")
    table.loc[0, "id"] = f"id{ESC}"
    table.loc[1, "title"] = "title\rover"
    table.to_parquet(copy / "trailers.parquet", index=False)
    report = validate_dataset(copy)
    messages = [p["message"] for p in report.problems]
    assert any(m.startswith("id 'id\\x1b[2J") and "control characters" in m for m in messages), messages
    assert any(m.startswith("title 'title\\rover'") for m in messages), messages
    done = cli("validate", copy)
    assert done.returncode == 1 and "\x1b" not in done.stdout and "\r" not in done.stdout
