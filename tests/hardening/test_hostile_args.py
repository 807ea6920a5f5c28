"""Issue 12, item 9: every numeric option range-checked with one line, --init that does not fit, names with newlines."""

from __future__ import annotations

import argparse
import io

import numpy as np
import pytest
import torch

from hostile_helpers import TINY_MODEL_ARGS, one_line_error
from mmx_core import workspace
from mmx_core.appkit import uploads
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir, runs_dir
from mmx_core.cli import build_parser, main
from mmx_core.commands import argtypes
from mmx_core.jobs import checks


def _numeric_options():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    for command, subparser in sorted(sub.choices.items()):
        for action in subparser._actions:  # noqa: SLF001 - walking argparse's own tables
            if not action.option_strings or action.nargs == 0:
                continue
            numeric = action.type in (int, float) or getattr(action.type, "__module__", "") == argtypes.__name__ or (
                isinstance(action.default, (int, float)) and not isinstance(action.default, bool))
            if numeric:
                yield command, subparser, action


NUMERIC = list(_numeric_options())


def test_every_numeric_option_of_every_command_is_range_checked():
    assert len(NUMERIC) > 60
    unchecked = [f"{c} {a.option_strings[0]}" for c, _, a in NUMERIC if getattr(a.type, "__module__", "") != argtypes.__name__]
    assert not unchecked, f"numeric options without int_in/float_in: {unchecked}"


@pytest.mark.parametrize("value", ["-99999999999", "nan", "1e400", "x"])
def test_out_of_range_values_end_in_one_line_naming_the_option(value, capsys):
    for command, subparser, action in NUMERIC:
        option = action.option_strings[-1]
        with pytest.raises(SystemExit) as caught:
            subparser.parse_args([option] + [value] * (action.nargs if isinstance(action.nargs, int) else 1))
        assert caught.value.code == 2
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"argument {'/'.join(action.option_strings)}: must be " in last and repr(value) in last, (command, last)


@pytest.mark.parametrize("argv, message", [
    (["embed", "--data", "d", "--model", "m", "--out", "o.npz", "--batch-size", "0"],
     "argument --batch-size: must be an integer >= 1, got '0'"),
    (["train", "--stage", "coarse", "--data", "d", "--out", "o", "--seed", "-1"],
     "argument --seed: must be an integer in [0, 4294967295], got '-1'"),
    (["train", "--stage", "coarse", "--data", "d", "--out", "o", "--threads", "-1"],
     "argument --threads: must be an integer in [1, 1024], got '-1'"),
    (["train", "--stage", "coarse", "--data", "d", "--out", "o", "--dropout", "1"],
     "argument --dropout: must be a finite number in [0, 1), got '1'"),
])
def test_the_issue_s_options(argv, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert one_line_error(capsys.readouterr().err).endswith(message)


def test_init_with_weights_that_do_not_fit_is_one_line(tiny_data, capsys):
    tiny_data = str(data_dir() / tiny_data)
    coarse = runs_dir() / "hostile-coarse"
    assert main(["train", "--stage", "coarse", "--data", tiny_data, "--out", str(coarse), "--epochs", "1",
                 "--batch-size", "8", "--threads", "1", *TINY_MODEL_ARGS]) == 0
    state = torch.load(coarse / "checkpoints" / "best.pt", weights_only=True)
    key = next(k for k, v in state["model"].items() if v.ndim == 2)
    state["model"][key] = torch.zeros(state["model"][key].shape[0] + 1, state["model"][key].shape[1])
    bad = runs_dir() / "bad-init.pt"
    torch.save(state, bad)
    capsys.readouterr()
    code = main(["train", "--stage", "fine", "--data", tiny_data, "--out", str(runs_dir() / "hostile-fine"),
                 "--init", str(bad), "--epochs", "1", "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "weights do not fit" in one_line_error(err) and f"size mismatch for {key}" in err
    assert main(["embed", "--data", tiny_data, "--model", str(bad), "--out", str(runs_dir() / "e.npz")]) == 2
    assert "weights do not fit" in one_line_error(capsys.readouterr().err)


def test_names_ending_in_a_newline_are_refused_by_the_one_name_pattern():
    assert workspace.NAME_PATTERN is checks.NAME_PATTERN
    buffer = io.BytesIO()
    np.savez(buffer, embeddings=np.ones((2, 3), np.float32), ids=np.array(["a", "b"]))
    with pytest.raises(MMXError, match="upload name"):
        uploads.save_upload("name\n", buffer.getvalue())
    with pytest.raises(MMXError, match="not allowed"):
        checks.check_name("run\n", "run")
    assert uploads.save_upload("name", buffer.getvalue()).name == "upload:name"
