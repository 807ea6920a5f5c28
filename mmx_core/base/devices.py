"""Compute devices: the one list of choices, their check and their resolution.

The device is chosen once, by name, where a run starts (CLI option, app form,
job request) and resolved here; tensors then follow their inputs' device.

``"auto"`` means CUDA when torch sees a GPU, else the CPU. ``"cuda"`` on a
machine without a GPU is refused by :func:`check_device` with the reason, so a
job queue can refuse it when the job is submitted rather than when the trainer
starts. torch is imported only when a device is checked or resolved, so the
list of choices costs nothing to import (the app's widgets read it).

The numeric precision is chosen the same way (:data:`PRECISIONS`, ``--precision``)
and resolved here for the device a run uses (:func:`resolve_precision`):

- ``"auto"``: bfloat16 autocast on a CPU whose matrix units run bfloat16 (AMX
  tiles, detected through torch), float16 autocast on a CUDA GPU (what the
  trainer always did there), else float32; the reason names what was detected.
- ``"fp32"``: no autocast; the results are bit for bit those of a plain float32 run.
- ``"bf16"``: bfloat16 autocast. On a CPU without bfloat16 instructions it runs,
  emulated and slower than float32, and the reason says so (a choice to compare
  results, not to go faster); on a GPU without bfloat16 it is refused.
- ``"fp16"``: float16 autocast on a CUDA GPU; refused on the CPU (use bf16).

:func:`autocast_for` is the one context every forward pass runs under. Autocast
runs matrix products and convolutions in the lower precision; norms, losses and
softmax that the project computes itself cast to float32 explicitly.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, NamedTuple

from mmx_core.base.errors import MMXError

if TYPE_CHECKING:  # pragma: no cover - for annotations only
    import torch

__all__ = ["DEVICES", "DEFAULT_DEVICE", "DEVICE_LABELS", "cuda_available", "check_device", "resolve_device",
           "PRECISIONS", "DEFAULT_PRECISION", "PRECISION_LABELS", "PRECISION_HELP", "CPU_BF16_LEVELS", "cpu_bf16_support",
           "check_precision", "resolve_precision", "ResolvedPrecision", "autocast_for"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
"""Device choices, in the order widgets and ``--device`` list them."""

DEFAULT_DEVICE = "auto"

DEVICE_LABELS: dict[str, str] = {"auto": "auto", "cpu": "CPU", "cuda": "GPU (cuda)"}
"""How the app names each choice."""


def _one_of(choice: Any, options: tuple[str, ...], what: str) -> None:
    if not isinstance(choice, str) or choice not in options:
        raise MMXError(f"{what}={choice!r} is not one of {list(options)}")


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
    _one_of(choice, DEVICES, what)
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


PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
"""Precision choices, in the order widgets and ``--precision`` list them."""

DEFAULT_PRECISION = "auto"

PRECISION_LABELS: dict[str, str] = {"auto": "auto (bfloat16 where the CPU has matrix units)", "fp32": "float32",
                                    "bf16": "bfloat16", "fp16": "float16 (GPU)"}
"""How the app names each choice."""

PRECISION_HELP = ("auto: bfloat16 autocast on a CPU with bfloat16 matrix units (AMX), float16 autocast on a CUDA "
                  "GPU, else float32; fp32 reproduces float32 results bit for bit; fp16 needs a GPU")
"""The one help text of every ``--precision`` option."""

CPU_BF16_LEVELS: tuple[str, ...] = ("amx", "avx512_bf16", "none")
"""What :func:`cpu_bf16_support` reports: matrix units, vector instructions only, or neither (emulated)."""

_DTYPE_NAMES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}


def cpu_bf16_support() -> str:
    """How this CPU runs bfloat16 in torch: one of :data:`CPU_BF16_LEVELS`.

    ``"amx"``: AMX tiles (bfloat16 matrix units; ``torch.cpu._is_amx_tile_supported``) with oneDNN's
    bfloat16 kernels (``torch.ops.mkldnn._is_mkldnn_bf16_supported``); ``"avx512_bf16"``: bfloat16
    vector instructions only; ``"none"``: bfloat16 would be emulated. Tests monkeypatch this function
    to simulate another CPU.
    """
    import torch

    try:
        mkldnn = bool(torch.backends.mkldnn.is_available()) and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without these probes
        return "none"
    if not mkldnn:
        return "none"
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is not None and probe():
        return "amx"
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return "avx512_bf16" if probe is not None and probe() else "none"


def _device_type(device: Any) -> str:
    """``"cpu"`` or ``"cuda"`` for a torch.device, a device string or a device choice (``"auto"`` resolved)."""
    name = getattr(device, "type", None) or str(device)
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    return name.split(":", 1)[0]


class ResolvedPrecision(NamedTuple):
    """What :func:`resolve_precision` returns: the autocast dtype (None: float32, no autocast) and why.

    Unpacks as ``dtype, reason``; :attr:`name` is the precision run (``"fp32"``, ``"bf16"``, ``"fp16"``)
    and :meth:`record` the dict written into manifests, run configs and parameter files.
    """

    dtype: Any
    reason: str

    @property
    def name(self) -> str:
        return "fp32" if self.dtype is None else _DTYPE_NAMES[str(self.dtype).rsplit(".", 1)[-1]]

    def record(self, choice: str) -> dict[str, str]:
        """``{"precision": <run>, "requested": <choice>, "reason": ...}``, as artefacts record it."""
        return {"precision": self.name, "requested": str(choice), "reason": self.reason}


def resolve_precision(choice: str, device: Any) -> ResolvedPrecision:
    """The autocast dtype a run on ``device`` uses for the precision ``choice``, and the reason.

    Parameters
    ----------
    choice : {"auto", "fp32", "bf16", "fp16"}
    device : torch.device or str
        The resolved device, or a device choice (``"auto"`` is resolved as :func:`resolve_device` does).

    Returns
    -------
    ResolvedPrecision
        ``(dtype, reason)``: ``torch.bfloat16``, ``torch.float16`` or None (float32, no autocast), and one
        line saying what was chosen and why (what was detected, for ``"auto"``).

    Raises
    ------
    MMXError
        ``choice`` is not one of :data:`PRECISIONS`; ``"fp16"`` on the CPU; ``"bf16"`` on a GPU without it.
    """
    import torch

    _one_of(choice, PRECISIONS, "precision")
    kind = _device_type(device)
    if choice == "fp32":
        return ResolvedPrecision(None, "fp32: float32, no autocast (as asked)")
    if kind == "cuda":
        if choice == "bf16":
            if not torch.cuda.is_bf16_supported(including_emulation=False):
                raise MMXError("precision='bf16' but this GPU has no bfloat16 support; choose 'fp16', 'fp32' or 'auto'")
            return ResolvedPrecision(torch.bfloat16, "bf16: bfloat16 autocast on the GPU (as asked)")
        return ResolvedPrecision(torch.float16, "fp16: float16 autocast on the GPU"
                                 + (" (as asked)" if choice == "fp16" else " (auto on a CUDA GPU)"))
    if kind != "cpu":
        return ResolvedPrecision(None, f"fp32: float32 on device {kind!r} (no autocast rule for it)")
    if choice == "fp16":
        raise MMXError("precision='fp16' is for a CUDA GPU; on the CPU choose 'bf16', 'fp32' or 'auto'")
    support = cpu_bf16_support()
    if choice == "bf16":
        if support == "none":
            return ResolvedPrecision(torch.bfloat16, "bf16: bfloat16 autocast as asked, EMULATED: this CPU has no "
                                                     "bfloat16 instructions (slower than fp32)")
        units = "AMX matrix units" if support == "amx" else "AVX-512 BF16 instructions"
        return ResolvedPrecision(torch.bfloat16, f"bf16: bfloat16 autocast on the CPU's {units} (as asked)")
    if support == "amx":
        return ResolvedPrecision(torch.bfloat16, "auto: bfloat16 autocast, the CPU has bfloat16 matrix units "
                                                 "(AMX tiles and oneDNN bfloat16 detected by torch)")
    found = "only AVX-512 BF16 vector instructions" if support == "avx512_bf16" else "no bfloat16 matrix units"
    return ResolvedPrecision(None, f"auto: float32, the CPU has {found} (no AMX detected by torch)")


def check_precision(choice: str, device: str = DEFAULT_DEVICE, what: str = "precision") -> str:
    """Validate a precision choice for a device choice; returns it unchanged.

    For job queues and forms, which refuse a choice when the job is submitted (as :func:`check_device`).

    Raises
    ------
    MMXError
        As :func:`resolve_precision`, with the setting named ``what`` in the message.
    """
    try:
        resolve_precision(choice, device)
    except MMXError as exc:
        raise MMXError(str(exc).replace("precision=", f"{what}=", 1)) from None
    return choice


def autocast_for(device: Any, dtype: Any = None) -> contextlib.AbstractContextManager:
    """The context a forward pass on ``device`` runs under: autocast to ``dtype``, or none for float32.

    Parameters
    ----------
    device : torch.device or str
    dtype : torch.dtype or None
        From :func:`resolve_precision`; None (float32) gives a null context, so fp32 runs exactly the
        operations of a plain float32 run.
    """
    if dtype is None:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=_device_type(device), dtype=dtype)
