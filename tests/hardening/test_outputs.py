"""One output contract for every command that writes (issue 17, cases 1, 2 and 8; mmx_core.base.outputs).

The walk builds the CLI's parser, finds every output option (tagged with its kind by
:func:`mmx_core.base.outputs.tag_output`; an option that looks like an output and is not tagged fails the
test), and tries each dangerous target with and without ``--overwrite``: each must exit 2 with one
``error:`` line naming the option and leave every file byte-for-byte as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hostile_helpers import ROOT, TINY_MODEL_ARGS, cli, one_line_error
from mmx_core.base import outputs
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.locks import folder_lock, lock_holder
from mmx_core.base.output_writer import output_lock, stage_dir
from mmx_core.base.outputs import OUTPUT_KIND_ATTR, check_output
from mmx_core.base.paths import data_dir
from mmx_core.cli import build_parser, main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "extract"))
from videos import make_video  # noqa: E402

DIMS = "image=4,scene=4,motion=4,audio=4"

# Each command that writes: its arguments besides the outputs, given the input the walk builds (a folder, or a
# file for the commands that read an embeddings file); None = the command reads no input the user names.
COMMANDS = {
    "synth": (None, lambda i: ["--trailers", "12"]),
    "import-mmx": ("folder", lambda i: [i]),
    "extract": ("folder", lambda i: [i, "--untrained", "--device", "cpu"]),
    "train": ("folder", lambda i: ["--stage", "coarse", "--data", i]),
    "embed": ("folder", lambda i: ["--data", i, "--model", Path(i).parent / "model.pt"]),
    "evaluate": ("folder", lambda i: ["--data", i, "--model", Path(i).parent / "model.pt"]),
    "project": ("file", lambda i: ["--embeddings", i]),
    "cluster": ("file", lambda i: ["--embeddings", i]),
    "compare": ("file", lambda i: ["--a", i, "--b", i]),
    "generate-embeddings": (None, lambda i: ["--n", "5"]),
    "precompute": ("file", lambda i: ["--set", i]),
    "make-models": (None, lambda i: ["--trailers", "12"]),
    "bundle-published": ("folder", lambda i: ["--src", i]),
    "ablate": ("folder", lambda i: ["--data", i]),
    "subgenre-eval": ("folder", lambda i: ["--data", i]),
    "fine-curve": ("folder", lambda i: ["--data", i]),
    "annotations": (None, lambda i: ["published"]),
}
OUTPUT_WORDS = {"out", "name", "save", "work", "runs", "dest", "target", "write", "output"}
"""Words of an option's name that make it look like an output: such an option must be tagged with its kind."""


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _output_options() -> dict[str, tuple[argparse.ArgumentParser, list[argparse.Action]]]:
    """Command -> (its parser, its output options: the tagged actions); fails on an untagged option that looks
    like an output."""
    found, untagged = {}, []
    for name, sub in _subparsers().items():
        tagged = [a for a in sub._actions if getattr(a, OUTPUT_KIND_ATTR, None) is not None]
        for action in sub._actions:
            words = set(action.dest.lower().split("_"))
            if action not in tagged and words & OUTPUT_WORDS and action.option_strings:
                untagged.append(f"{name} {action.option_strings[0]}")
        if tagged:
            found[name] = (sub, tagged)
    assert not untagged, f"options that look like outputs but have no output kind (tag_output): {untagged}"
    return found


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (hidden ones too) -> its type and content hash."""
    digest = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            digest[os.path.relpath(os.path.join(folder, name), root)] = "dir"
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                digest[os.path.relpath(path, root)] = "link:" + os.readlink(path)
            elif not os.path.isfile(path):  # a FIFO or socket another test left: never opened
                digest[os.path.relpath(path, root)] = f"special:{os.stat(path).st_mode:o}"
            else:
                with open(path, "rb") as handle:
                    digest[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return digest


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Project folders, a home, inputs and foreign files, all under ``tmp_path`` and none of them empty."""
    for name in ("data", "runs", "cache", "home"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "user-notes.txt").write_text(f"the user's own file in {name}\n")
    monkeypatch.setenv("MMX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MMX_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("MMX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    inputs = tmp_path / "inputs"
    (inputs / "tree").mkdir(parents=True)
    (inputs / "tree" / "clip.mp4").write_bytes(b"the user's video")
    np.savez(inputs / "set.npz", embeddings=np.eye(3, dtype=np.float32), ids=np.array(["a", "b", "c"]))
    (inputs / "model.pt").write_bytes(b"a checkpoint")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("years of work\n")
    (tmp_path / "foreign.bin").write_bytes(b"someone's file")
    return tmp_path


def _targets(world: Path, input_path: Path | None) -> dict[str, str]:
    targets = {"empty": "", "blank": "  ", "data root": str(world / "data"), "runs root": str(world / "runs"),
               "home": str(world / "home"), "foreign folder": str(world / "foreign"),
               "foreign file": str(world / "foreign.bin")}
    if input_path is not None:
        targets.update({"the input": str(input_path), "parent of the input": str(input_path.parent),
                        "child of the input": str(input_path / "child")})
    return targets


SUFFIX = {outputs.EMBEDDINGS: ".npz", outputs.PREDICTIONS: ".npz", outputs.ARTEFACT: ".parquet", outputs.DOC: ".md"}
ALONE = {"--name": {"--metadata-out"}}
"""Outputs that exclude others besides their mutually exclusive group (a set kept with --name has its own table)."""


def _fresh_others(world: Path, command: str, sub, action, actions) -> list[str]:
    """The command's other outputs, each at a fresh path, so only the one under test can be refused."""
    exclusive = {a.option_strings[0] for group in sub._mutually_exclusive_groups if action in group._group_actions
                 for a in group._group_actions}
    exclusive |= ALONE.get(action.option_strings[0], set())
    others = []
    for other in actions:
        flag = other.option_strings[0]
        if other is action or flag in exclusive or action.option_strings[0] in ALONE.get(flag, set()):
            continue
        if any(other in g._group_actions for g in sub._mutually_exclusive_groups):
            continue  # the tested option's group partner is left out above; others of a group stay unset
        fresh = world / "fresh" / f"{command}-{other.dest}{SUFFIX.get(other.output_kind, '')}"
        others += [flag, str(fresh)]
    if command == "generate-embeddings" and action.option_strings[0] == "--metadata-out":
        others += ["--out", str(world / "fresh" / "generated.npz")]  # --metadata-out goes with --out
    return others


def test_every_command_refuses_every_dangerous_target_and_touches_nothing(world, capsys):
    options = _output_options()
    assert set(options) == set(COMMANDS), f"commands that write without an entry in COMMANDS: " \
                                          f"{set(options) ^ set(COMMANDS)}"
    before = tree_digest(world)
    failures = []
    for command, (sub, actions) in sorted(options.items()):
        kind_of_input, base = COMMANDS[command]
        input_path = {"folder": world / "inputs" / "tree", "file": world / "inputs" / "set.npz",
                      None: None}[kind_of_input]
        args = [str(a) for a in base(str(input_path) if input_path is not None else "")]
        has_overwrite = any("--overwrite" in a.option_strings for a in sub._actions)
        for action in actions:
            option = action.option_strings[0]
            others = _fresh_others(world, command, sub, action, actions)
            for label, target in _targets(world, input_path).items():
                for overwrite in ([False, True] if has_overwrite else [False]):
                    argv = [command, *args, *others, option, target] + (["--overwrite"] if overwrite else [])
                    try:
                        code = main(argv)
                    except SystemExit as exc:  # a usage error: not what the walk tries
                        code = f"usage error {exc.code} ({argv})"
                    err = capsys.readouterr().err
                    lines = [line for line in err.splitlines() if line.strip()]
                    errors = [line for line in lines if line.startswith("error:")]
                    if code != ExitCode.REFUSED or len(errors) != 1 or option not in errors[0] \
                            or "Traceback" in err:
                        failures.append(f"{command} {option} {label!r} overwrite={overwrite}: exit {code}, {err!r}")
                    after = tree_digest(world)
                    if after != before:
                        changed = sorted(set(after.items()) ^ set(before.items()))
                        failures.append(f"{command} {option} {label!r} overwrite={overwrite} changed {changed[:4]}")
                        before = after
    assert not failures, "\n".join(failures)


def test_walk_knows_every_output_option():
    """The walk covers exactly the output options the parsers declare (a new one must be added to COMMANDS)."""
    options = _output_options()
    kinds = {(command, a.option_strings[0]): a.output_kind.name for command, (_, acts) in options.items()
             for a in acts}
    assert kinds[("synth", "--out")] == "data set" and kinds[("train", "--out")] == "run folder"
    assert kinds[("evaluate", "--save-predictions")] == "predictions file"
    assert kinds[("generate-embeddings", "--name")] == "embedding set"
    assert all(kind in outputs.KINDS for kind in kinds.values())


# ---------------------------------------------------------------------------------------------- case 1
def test_case1_synth_into_an_empty_out_with_overwrite_keeps_the_data_folder(tmp_path, monkeypatch, capsys):
    """``synth --out "" --overwrite`` (an unset shell variable) replaced the whole data folder and exited 0."""
    monkeypatch.setenv("MMX_DATA_DIR", str(tmp_path / "data"))  # a data folder of its own, quick to hash
    assert main(["synth", "--out", "kept", "--trailers", "12", "--dims", DIMS]) == 0
    capsys.readouterr()
    before = tree_digest(data_dir())
    code = main(["synth", "--out", "", "--overwrite", "--trailers", "20", "--dims", DIMS])
    err = capsys.readouterr().err
    assert code == ExitCode.REFUSED and "--out" in one_line_error(err) and "empty" in err
    assert tree_digest(data_dir()) == before


def test_case1_extract_into_its_own_video_folder_keeps_the_videos(tmp_path):
    """``extract DIR --out DIR --overwrite`` deleted the source videos."""
    videos = tmp_path / "videos"
    videos.mkdir()
    make_video(videos / "a.mp4", duration=2.0)
    before = tree_digest(tmp_path)
    result = cli("extract", videos, "--out", videos, "--overwrite", "--experts", "audio", "--untrained",
                 "--device", "cpu")
    assert result.returncode == ExitCode.REFUSED
    assert "it is an input of the command" in one_line_error(result.stderr)
    assert tree_digest(tmp_path) == before


def test_overwrite_replaces_only_what_the_project_wrote(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    with pytest.raises(MMXError, match="not written by this project"):
        check_output(tmp_path / "notes", outputs.DATASET, overwrite=True)
    (tmp_path / "notes" / "manifest.json").write_text("{}")
    assert check_output(tmp_path / "notes", outputs.DATASET, overwrite=True) == (tmp_path / "notes").resolve()
    with pytest.raises(MMXError, match="already exists"):
        check_output(tmp_path / "notes", outputs.DATASET)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "inputs")
    with pytest.raises(MMXError, match="it is an input"):  # symbolic links are followed
        check_output(link, outputs.DATASET, inputs=(tmp_path / "inputs",))
    with pytest.raises(MMXError, match="it holds an input"):  # '..' is followed
        check_output(tmp_path / "x" / "..", outputs.DATASET, inputs=(tmp_path / "inputs",))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MMXError, match="already exists"):
        check_output(tmp_path / "empty", outputs.DATASET)
    assert check_output(tmp_path / "empty", outputs.DATASET, overwrite=True)  # nothing in it to lose


def test_a_kind_may_own_a_root_and_a_sidecar_is_checked_too(world, capsys):
    from mmx_core.base.paths import cache_dir

    with pytest.raises(MMXError, match="not written by this project"):
        check_output(cache_dir(), outputs.CACHE)  # the user's notes are in it
    (cache_dir() / "user-notes.txt").unlink()
    (cache_dir() / "projection").mkdir()
    (cache_dir() / "projection" / "0123.parquet.json").write_text("{}")
    assert check_output(cache_dir(), outputs.CACHE) == cache_dir().resolve()  # precompute fills its own root
    with pytest.raises(MMXError, match="the data folder"):
        check_output(data_dir(), outputs.CACHE)
    (world / "fresh").mkdir()
    (world / "fresh" / "e.parquet").write_bytes(b"the user's table")  # where --with-metadata would write
    before = tree_digest(world)
    code = main(["embed", "--data", str(world / "inputs" / "tree"), "--model", str(world / "inputs" / "model.pt"),
                 "--out", str(world / "fresh" / "e.npz"), "--with-metadata"])
    assert code == ExitCode.REFUSED and "--with-metadata" in one_line_error(capsys.readouterr().err)
    assert tree_digest(world) == before


def test_overwrite_of_a_set_keeps_the_old_one_until_the_new_is_complete(tmp_path, monkeypatch, capsys):
    """The new set is written beside the old one; a writer failing mid-way leaves the old set whole."""
    from mmx_core.data import writer as writer_module

    assert main(["synth", "--out", "swap", "--trailers", "12", "--dims", DIMS]) == 0
    old = tree_digest(data_dir() / "swap")
    seen = {}

    def failing_finish(self, *args, **kwargs):
        seen["old intact while writing"] = tree_digest(data_dir() / "swap") == old
        seen["new beside it"] = self.stage.exists() and self.stage != data_dir() / "swap"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_module.DatasetWriter, "finish", failing_finish)
    code = main(["synth", "--out", "swap", "--trailers", "20", "--overwrite", "--dims", DIMS, "--seed", "3"])
    assert code == ExitCode.FAILED_INPUTS and "No space left" in capsys.readouterr().err
    assert seen == {"old intact while writing": True, "new beside it": True}
    assert tree_digest(data_dir() / "swap") == old
    assert not stage_dir(data_dir() / "swap").exists()
    monkeypatch.undo()
    assert main(["synth", "--out", "swap", "--trailers", "20", "--overwrite", "--dims", DIMS]) == 0
    assert tree_digest(data_dir() / "swap") != old and not stage_dir(data_dir() / "swap").exists()


# ---------------------------------------------------------------------------------------------- case 2
def test_case2_a_second_extract_into_one_out_is_refused_naming_the_first(tmp_path):
    """Two ``extract`` runs into one ``--out``: the second deleted the first's work folder, the first then
    reported every video extracted while the set held one. The second is now refused, naming the first."""
    from mmx_core.data import TrailerStore
    from mmx_core.extract.pipeline import ExtractConfig, extract_videos

    videos = tmp_path / "videos"
    videos.mkdir()
    for k in range(3):
        make_video(videos / f"v{k}.mp4", duration=2.0, tone_hz=300 + 100 * k)
    out, seen = tmp_path / "set", []

    def second_writer(event):
        if not seen:
            seen.append(cli("extract", videos, "--out", out, "--experts", "audio", "--untrained", "--device", "cpu",
                            "--workers", "0", timeout=120))
            seen.append(lock_holder(stage_dir(out)))  # the refused writer left the first one's lock in place

    report = extract_videos(videos, out, ExtractConfig(experts="audio", untrained=True, device="cpu", workers=0),
                            progress=second_writer)
    second, holder = seen
    assert second.returncode == ExitCode.REFUSED and holder["pid"] == os.getpid()
    line = one_line_error(second.stderr)
    assert "being written by another process" in line and f"pid {os.getpid()}" in line
    assert report.extracted == 3 and report.out is not None
    assert len(TrailerStore.open(out).trailers) == 3
    assert not stage_dir(out).exists()


def test_a_second_synth_into_one_out_is_refused_naming_the_first(capsys):
    out = data_dir() / "held"
    with output_lock(out, "the data set"):
        code = main(["synth", "--out", "held", "--trailers", "12", "--dims", DIMS])
        assert lock_holder(stage_dir(out))["pid"] == os.getpid()  # the refused writer left the lock in place
    line = one_line_error(capsys.readouterr().err)
    assert code == ExitCode.REFUSED and f"pid {os.getpid()}" in line
    assert not out.exists() and not stage_dir(out).exists()


def test_a_second_train_into_one_run_is_refused_naming_the_first(tiny_data, tmp_path, capsys):
    run = tmp_path / "run"
    with folder_lock(run, "run folder"):
        before = tree_digest(run)
        code = main(["train", "--stage", "coarse", "--data", str(data_dir() / tiny_data), "--out", str(run),
                     "--epochs", "1", "--device", "cpu", *TINY_MODEL_ARGS])
        assert tree_digest(run) == before
    line = one_line_error(capsys.readouterr().err)
    assert code == ExitCode.REFUSED and "being written by another process" in line and f"pid {os.getpid()}" in line


# ---------------------------------------------------------------------------------------------- case 8
def test_case8_every_video_failing_exits_1_and_leaves_no_work_folder(tmp_path):
    """Every video failing exited 2 (docs/extract.md says 1) and left the work folder behind."""
    from mmx_core.extract.workdir import work_dir

    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(b"not a video at all")
    (videos / "b.mp4").write_bytes(b"")
    out = tmp_path / "set"
    result = cli("extract", videos, "--out", out, "--experts", "audio", "--untrained", "--device", "cpu",
                 "--workers", "0")
    assert result.returncode == ExitCode.FAILED_INPUTS, result.stderr[-2000:]
    assert "2 video(s) failed" in result.stderr and "Traceback" not in result.stderr
    assert re.search(r"no video could be extracted \(2 failed\)", result.stderr)
    assert not out.exists() and not work_dir(out).exists() and not stage_dir(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["videos"]


def test_docs_state_the_contract():
    interfaces = (ROOT / "docs" / "interfaces.md").read_text()
    assert "## Outputs" in interfaces and "mmx_core.base.outputs" in interfaces
    extract = (ROOT / "docs" / "extract.md").read_text()
    assert "every video fails" in extract.lower()


def test_refusal_messages_are_one_line_and_name_the_option(tmp_path):
    with pytest.raises(MMXError) as info:
        check_output("", outputs.RUN, option="--work")
    assert "--work" in str(info.value) and "\n" not in str(info.value)
    proc = subprocess.run([sys.executable, "-c", "import mmx_core.base.outputs, sys; "
                           "sys.exit('torch' in sys.modules or 'streamlit' in sys.modules)"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, "mmx_core.base.outputs must stay light (no torch, no streamlit)"
