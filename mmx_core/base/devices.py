"""Compute devices: the one list of choices, their check and their resolution.

The device is chosen once, by name, where a run starts (CLI option, app form,
job request) and resolved here; tensors then follow their inputs' device.

``"auto"`` means CUDA when torch sees a GPU, else the CPU. ``"cuda"`` on a
machine without a GPU is refused by :func:`check_device` with the reason, so a
job queue can refuse it when the job is submitted rather than when the trainer
starts. torch is imported only when a device is checked or resolved, so the
list of choices costs nothing to import (the app's widgets read it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmx_core.base.errors import MMXError

if TYPE_CHECKING:  # pragma: no cover - for annotations only
    import torch

__all__ = ["DEVICES", "DEFAULT_DEVICE", "DEVICE_LABELS", "cuda_available", "check_device", "resolve_device"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
"""Device choices, in the order widgets and ``--device`` list them."""

DEFAULT_DEVICE = "auto"

DEVICE_LABELS: dict[str, str] = {"auto": "auto", "cpu": "CPU", "cuda": "GPU (cuda)"}
"""How the app names each choice."""


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU on this machine."""
    import torch

    return bool(torch.cuda.is_available())


def check_device(choice: str, what: str = "device") -> str:
    """Validate a device choice; returns it unchanged.

    Parameters
    ----------
    choice : {"auto", "cpu", "cuda"}
    what : str
        How the caller names the setting in messages (e.g. ``"--device"``).

    Raises
    ------
    MMXError
        When ``choice`` is not one of :data:`DEVICES`, or is ``"cuda"`` while
        torch sees no GPU (the message says so and what to choose instead).
    """
    if not isinstance(choice, str) or choice not in DEVICES:
        raise MMXError(f"{what}={choice!r} is not one of {list(DEVICES)}")
    if choice == "cuda" and not cuda_available():
        raise MMXError(f"{what}='cuda' but no CUDA GPU is available to torch on this machine "
                       "(torch.cuda.is_available() is False); choose 'cpu' or 'auto'")
    return choice


def resolve_device(choice: str, local_rank: int | None = None) -> "torch.device":
    """The torch device a run uses for ``choice`` (checked by :func:`check_device` first).

    Parameters
    ----------
    choice : {"auto", "cpu", "cuda"}
        ``"auto"`` becomes CUDA when a GPU is visible, else the CPU.
    local_rank : int, optional
        The process's GPU under DistributedDataParallel; None uses torch's
        current CUDA device.

    Returns
    -------
    torch.device
        ``cpu`` or ``cuda:<index>``; ``.type`` gives the plain name.
    """
    import torch

    check_device(choice)
    if choice == "cpu" or (choice == "auto" and not cuda_available()):
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device() if local_rank is None else local_rank)
