"""Devices: one list of choices, one check (refuses cuda without a GPU), one resolution."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
import torch

from mmx_core.base.devices import DEVICE_LABELS, DEVICES, check_device, cuda_available, resolve_device
from mmx_core.base.errors import MMXError
from mmx_core.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def test_cuda_is_refused_without_a_gpu():
    # The real check: this machine's torch has no GPU (on a GPU machine the same call must pass).
    if torch.cuda.is_available():
        assert check_device("cuda") == "cuda"
        assert resolve_device("cuda").type == "cuda"
        return
    assert cuda_available() is False
    with pytest.raises(MMXError, match=r"device='cuda' but no CUDA GPU is available.*choose 'cpu' or 'auto'"):
        check_device("cuda")
    with pytest.raises(MMXError, match=r"--device='cuda' but no CUDA GPU"):
        check_device("cuda", what="--device")
    with pytest.raises(MMXError, match=r"no CUDA GPU"):
        resolve_device("cuda")


def test_auto_and_cpu_resolve():
    assert check_device("auto") == "auto" and check_device("cpu") == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("bad", ["gpu", "CUDA", "", None, 0])
def test_unknown_choices_are_named(bad):
    with pytest.raises(MMXError, match=re.escape(f"device={bad!r} is not one of ['auto', 'cpu', 'cuda']")):
        check_device(bad)


def test_every_device_option_offers_the_same_choices():
    assert set(DEVICE_LABELS) == set(DEVICES)
    choices = "{" + ",".join(DEVICES) + "}"
    for command in ("train", "embed", "evaluate", "ablate", "make-models"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        help_text = " ".join(out.getvalue().split())
        assert f"--device {choices}" in help_text and "(default: auto)" in help_text, command


# Work in progress elsewhere that still carries its own copy (feature extraction, not landed yet).
# Empty this once it uses mmx_core.base.devices.
PENDING: tuple[str, ...] = ()


def test_no_other_copy_of_the_device_choices():
    copies = []
    for path in [*ROOT.glob("mmx_core/**/*.py"), *ROOT.glob("pages/**/*.py"), *ROOT.glob("ui/**/*.py"), ROOT / "app.py"]:
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "devices.py" or relative.startswith(PENDING):
            continue
        text = path.read_text()
        if re.search(r"""\(\s*["']auto["'],\s*["']cpu["'],\s*["']cuda["']\s*\)""", text) \
                or re.search(r"def resolve_device\b", text):
            copies.append(str(path.relative_to(ROOT)))
    assert copies == []
