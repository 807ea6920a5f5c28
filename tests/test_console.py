"""Every line a command prints is escaped, and every command's exit code comes from one table."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmx_core import cli
from mmx_core.base.console import escaped_output
from mmx_core.base.errors import ExitCode, MMXError

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "a\x1b[2Jclear\r\nerror: forged line\x07"


def test_printed_names_and_log_records_are_escaped_whole(capsys, caplog):
    with caplog.at_level(logging.INFO), escaped_output():
        print("wrote", HOSTILE)
        print(HOSTILE, file=sys.stderr)
        logging.getLogger("mmx_test").info("video %s done", HOSTILE)
    out, err = capsys.readouterr()
    assert out == "wrote a\\x1b[2Jclear\\r\\nerror: forged line\\x07\n"
    assert err == "a\\x1b[2Jclear\\r\\nerror: forged line\\x07\n"
    assert caplog.records[-1].getMessage() == "video a\\x1b[2Jclear\\r\\nerror: forged line\\x07 done"
    assert sys.stdout is not None and "\x1b" not in out + err


def test_streams_and_log_handlers_are_restored_after_a_command(capsys):
    before = sys.stdout, sys.stderr, [list(h.filters) for h in logging.getLogger().handlers]
    with escaped_output():
        pass
    assert (sys.stdout, sys.stderr, [list(h.filters) for h in logging.getLogger().handlers]) == before


def test_a_command_run_as_a_process_prints_a_hostile_out_name_on_one_line(tmp_path):
    out = tmp_path / HOSTILE.replace("/", "_")
    env = {**os.environ, "MMX_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "mmx_core", "synth", "--out", str(out), "--trailers", "4",
                           "--sequences", "1", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == ExitCode.OK, done.stderr
    printed = done.stdout + done.stderr
    assert "\x1b" not in printed and "\x07" not in printed
    assert not any(line.startswith("error: forged line") for line in printed.splitlines())
    assert "a\\x1b[2Jclear\\r\\nerror: forged line\\x07" in done.stdout


@pytest.mark.parametrize("raised, code", [
    (MMXError("bad parameter"), ExitCode.REFUSED),
    (OSError(28, "No space left on device", "f.npy"), ExitCode.FAILED_INPUTS),
    (KeyboardInterrupt(), ExitCode.INTERRUPTED),
])
def test_errors_map_onto_the_exit_code_table_in_one_line(raised, code, capsys):
    def func(args):
        raise raised

    assert cli.run_command(type("Args", (), {"func": staticmethod(func)})()) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1


def test_a_command_returning_a_code_outside_the_table_is_a_bug_not_a_silent_exit():
    with pytest.raises(ValueError):
        cli.run_command(type("Args", (), {"func": staticmethod(lambda args: 3)})())
