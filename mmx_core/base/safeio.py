"""Opening files that a careless or hostile user may have put there.

- :func:`escape_control` (defined beside :class:`MMXError`, which applies it to every message):
  control characters (ANSI escapes, carriage returns, newlines, bidi overrides) written as
  visible escapes, so a file or folder name can neither redraw the terminal nor split a line.
- :func:`regular_file`: refuse anything but a regular file *before* opening it (a FIFO in place
  of a feature file would block the reader forever; a device could be read without end).
- :func:`npy_header`, :func:`load_npy`: the ``.npy`` header is read and its claimed size
  (shape x itemsize) checked against the file and a byte limit before any array is allocated.
- :func:`check_npz`: the same for every member of an ``.npz`` archive (from a path or from
  uploaded bytes), with the limit on the *expanded* size, not the compressed bytes.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mmx_core.base.errors import MMXError, escape_control

__all__ = ["MAX_ARRAY_BYTES", "escape_control", "regular_file", "npy_header", "load_npy", "check_npz", "NpyHeader"]

MAX_ARRAY_BYTES = 64 * 1024 ** 3
"""Largest array a loader reads into memory (64 GiB): a header claiming more is refused before allocation."""


def regular_file(path: str | Path, what: str = "file") -> Path:
    """``path`` when it is a regular file (symlinks followed); otherwise :class:`MMXError`, without opening it.

    Raises
    ------
    MMXError
        ``what`` not found, or a FIFO, socket, device or folder where a file is expected.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise MMXError(f"{what} not found", path) from None
    except OSError as exc:
        raise MMXError(f"cannot read {what} ({exc.strerror})", path) from None
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise MMXError(f"{what} is {kind}, not a regular file; replace it with the real file", path)
    return path


class NpyHeader:
    """What a ``.npy`` header claims: ``shape``, ``dtype``, ``fortran_order``, ``offset`` (data start), ``nbytes``."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, fortran_order: bool, offset: int):
        self.shape, self.dtype, self.fortran_order, self.offset = shape, dtype, fortran_order, offset
        self.nbytes = math.prod(shape) * dtype.itemsize

    def __repr__(self) -> str:
        return f"NpyHeader(shape={self.shape}, dtype={self.dtype}, nbytes={self.nbytes})"


def _read_header(handle: BinaryIO, path, what: str) -> NpyHeader:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(handle, max_header_size=10000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = fmt.read_array_header_2_0(handle, max_header_size=10000)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign header in any way
        raise MMXError(f"cannot read {what} as .npy ({escape_control(str(exc))[:160]})", path) from None
    if dtype.hasobject:
        raise MMXError(f"cannot read {what}: it holds Python objects (dtype {dtype}); only numeric and text arrays "
                       "are read (no pickle)", path)
    if any(not isinstance(s, int) or s < 0 for s in shape):
        raise MMXError(f"{what} has an invalid shape {shape!r:.80} in its header", path)
    offset = handle.tell() if hasattr(handle, "tell") else 0
    return NpyHeader(tuple(shape), dtype, bool(fortran), offset)


def npy_header(path: str | Path, what: str = ".npy file", max_bytes: int | None = MAX_ARRAY_BYTES) -> NpyHeader:
    """Read and check the header of a ``.npy`` file without reading its data.

    The claimed size (shape x itemsize) must fit in the file and, when ``max_bytes`` is given, be at
    most ``max_bytes``.

    Raises
    ------
    MMXError
        Not a regular file, not a ``.npy``, object dtype, or a claimed size the file cannot hold.
    """
    path = regular_file(path, what)
    with open(path, "rb") as handle:
        header = _read_header(handle, path, what)
    size = os.stat(path).st_size
    if header.nbytes > size - header.offset:
        raise MMXError(f"{what} header claims shape {header.shape} of {header.dtype} ({_size(header.nbytes)}) but "
                       f"the file holds {_size(max(0, size - header.offset))} of data; the file is damaged or crafted",
                       path)
    if max_bytes is not None and header.nbytes > max_bytes:
        raise MMXError(f"{what} holds {_size(header.nbytes)}, more than the limit of {_size(max_bytes)}", path)
    return header


def load_npy(path: str | Path, what: str = ".npy file", mmap: bool = False,
             max_bytes: int | None = MAX_ARRAY_BYTES) -> np.ndarray:
    """:func:`numpy.load` of a checked ``.npy`` (:func:`npy_header` first; never pickle).

    With ``mmap`` the byte limit is not applied (nothing is read into memory) but the size must
    still fit in the file.
    """
    npy_header(path, what, None if mmap else max_bytes)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise MMXError(f"cannot read {what} as .npy without pickle ({escape_control(str(exc))[:160]})", path) from None


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000


def check_npz(source: str | Path | bytes, what: str = ".npz archive", max_bytes: int = MAX_ARRAY_BYTES,
              path: str | Path | None = None) -> dict[str, NpyHeader]:
    """Check every member of an ``.npz`` before anything is loaded; returns member name -> header.

    Each member must be a ``.npy`` whose header claims no more than its declared expanded size,
    and the expanded sizes together must be at most ``max_bytes`` (the limit is on what loading
    would allocate, not on the compressed bytes).

    Parameters
    ----------
    source : str, Path or bytes
        The archive file, or its bytes (an upload).
    max_bytes : int
        Limit on the total expanded size.
    path : str or Path, optional
        Named in messages (defaults to ``source`` when it is a path).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        opened = io.BytesIO(bytes(source))
    else:
        opened = regular_file(source, what)
        path = opened if path is None else path
    try:
        archive = zipfile.ZipFile(opened)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise MMXError(f"{what} is not an .npz archive (a zip of .npy files: {escape_control(str(exc))[:120]})",
                       path) from None
    headers = {}
    with archive:
        infos = archive.infolist()
        total = sum(max(0, info.file_size) for info in infos)
        if total > max_bytes:
            raise MMXError(f"{what} expands to {_size(total)}, more than the limit of {_size(max_bytes)}", path)
        for info in infos:
            name = escape_control(info.filename)
            if not info.filename.endswith(".npy"):
                continue  # np.load ignores other members
            try:
                with archive.open(info) as member:
                    header = _read_header(member, path, f"{what} member {name}")
            except zipfile.BadZipFile as exc:
                raise MMXError(f"{what} member {name} is damaged ({escape_control(str(exc))[:120]})", path) from None
            except (OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
                raise MMXError(f"{what} member {name} cannot be read ({escape_control(str(exc))[:120]})",
                               path) from None
            if header.nbytes > info.file_size:
                raise MMXError(f"{what} member {name} claims shape {header.shape} of {header.dtype} "
                               f"({_size(header.nbytes)}) but holds {_size(info.file_size)}; the file is damaged or "
                               "crafted", path)
            headers[info.filename[:-4]] = header
    return headers
