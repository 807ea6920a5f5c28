"""Atomic writes, content hashes and the parameter JSON written beside every artefact.

Every file the project writes goes through :func:`atomic_write` (a temporary
name in the same folder, then ``os.replace``), so a crash never leaves a
half-written artefact and never damages what was saved before.

Every pipeline step writes its artefact plus ``<artefact>.json`` holding the
step name, its parameters, the hashes of its inputs, library versions and the
time. :func:`cached_artefact` turns (step, params, input hashes) into a stable
key so that asking twice returns the file computed the first time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.paths import cache_dir, shipped_cache_dir

log = logging.getLogger(__name__)

__all__ = ["atomic_write", "write_json", "read_json", "file_hash", "array_hash", "params_key", "write_params_json",
           "cached_artefact", "library_versions"]


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    with atomic_path(path) as tmp:
        with open(tmp, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for writers that want a file name.

    Libraries such as pandas (``to_parquet``) or numpy (``savez``) write to a
    name; the temporary file is renamed onto ``path`` when the block succeeds.
    The temporary name keeps ``path``'s suffix so such writers do not add one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _default_mode() -> int:
    """Permission bits a plain ``open()`` would give (mkstemp gives 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default)
    with atomic_write(path, "w") as handle:
        handle.write(text + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a missing or malformed file raises :class:`MMXError`."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MMXError("file not found", path) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MMXError(f"not valid JSON ({exc})", path) from None


def _json_default(obj: Any) -> Any:
    for kind, convert in ((np.integer, int), (np.floating, float), (np.ndarray, np.ndarray.tolist), (Path, str)):
        if isinstance(obj, kind):
            return convert(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def file_hash(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes (hex, first 16 characters)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
    except FileNotFoundError:
        raise MMXError("file not found", path) from None
    return digest.hexdigest()[:16]


def array_hash(*arrays: Any) -> str:
    """SHA-256 over the dtype, shape and bytes of arrays (hex, first 16 characters)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str(array.dtype).encode())
        digest.update(str(array.shape).encode())
        if array.dtype.kind in "OU":
            digest.update("\x1f".join(map(str, array.ravel().tolist())).encode())
        elif array.dtype.kind in "biufc" and array.size:
            digest.update(memoryview(array).cast("B"))   # the same bytes as tobytes(), read in place: no copy
        else:
            digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def params_key(step: str, params: dict[str, Any], inputs: dict[str, str]) -> str:
    """Stable key for a step run with ``params`` on inputs with the given hashes."""
    blob = json.dumps({"step": step, "params": params, "inputs": inputs}, sort_keys=True, default=_json_default)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape numerical results."""
    import importlib.metadata as metadata

    versions = {"python": platform.python_version()}
    for name in ("numpy", "torch", "scikit-learn", "umap-learn", "hdbscan", "openTSNE", "pynndescent", "faiss-cpu"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def write_params_json(artefact: str | Path, step: str, params: dict[str, Any], inputs: dict[str, str],
                      extra: dict[str, Any] | None = None) -> Path:
    """Write ``<artefact>.json`` describing how ``artefact`` was made."""
    meta_path = Path(str(artefact) + ".json")
    record = {"step": step, "artefact": Path(artefact).name, "params": params, "inputs": inputs,
              "key": params_key(step, params, inputs), "versions": library_versions(),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(extra or {})}
    write_json(meta_path, record)
    return meta_path


def cached_artefact(step: str, params: dict[str, Any], inputs: dict[str, str], compute: Callable[[Path], None] | None,
                    suffix: str = ".parquet", extra: Callable[[], dict[str, Any]] | None = None) -> Path | None:
    """Return the artefact of ``step`` for ``params`` and ``inputs``, computing it once.

    Looks in the shipped cache (``assets/cache``) and then in :func:`cache_dir`
    for ``<step>/<key><suffix>``; when neither has a complete one, calls ``compute(tmp_path)``
    to write the artefact to a temporary path, renames it into the cache and
    writes the parameter JSON beside it, with the artefact's size and hash.

    An entry counts only when it is complete: its parameter JSON exists and records the size
    and hash the file has (a file cut short by a full disk or a damaged copy is computed again,
    never read). While computing, the process holds a lock on the entry
    (``<step>/.<key><suffix>.lock``), so two processes never write one entry: the second waits,
    then finds the first one's result.

    Parameters
    ----------
    step : str
        Name of the pipeline step (a folder of the cache).
    params : dict
        Every parameter that changes the result (JSON-serialisable).
    inputs : dict
        Name -> content hash of every input.
    compute : callable or None
        ``compute(path)`` writes the artefact to ``path``; None only looks (returns None when absent).
    suffix : str
        File suffix of the artefact.
    extra : callable, optional
        Returns more fields for the JSON (e.g. timings), called after compute.
    """
    key = params_key(step, params, inputs)
    for root, shipped in ((shipped_cache_dir(), True), (cache_dir(), False)):
        candidate = root / step / f"{key}{suffix}"
        if _complete(candidate, shipped):
            return candidate
    if compute is None:
        return None
    target = cache_dir() / step / f"{key}{suffix}"
    with _entry_lock(target):
        if _complete(target, shipped=False):           # written by another process while this one waited
            return target
        with atomic_path(target) as tmp:
            compute(tmp)
            record = {"bytes": tmp.stat().st_size, "hash": file_hash(tmp)}
        write_params_json(target, step, params, inputs, extra={**(extra() if extra else {}), **record})
    return target


_VERIFIED: dict[tuple, bool] = {}   # (path, inode, size, mtime) -> the hash matched; each file is hashed once


def _complete(path: Path, shipped: bool) -> bool:
    """Whether the cache entry ``path`` is whole: it and its JSON exist, and the recorded size and hash match.

    Shipped entries written before sizes were recorded count when present (they are in git); such
    entries of the computed cache are computed again, once.
    """
    try:
        stat = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    meta = Path(str(path) + ".json")
    try:
        record = json.loads(meta.read_text())
    except FileNotFoundError:
        return shipped
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict) or "bytes" not in record or "hash" not in record:
        if shipped and isinstance(record, dict) and record.get("step"):
            return True                               # shipped before sizes were recorded (kept in git)
        log.warning("cache entry %s has no size and hash recorded; computing it again", path)
        return False
    ident = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if ident not in _VERIFIED:
        _VERIFIED[ident] = stat.st_size == record["bytes"] and file_hash(path) == record["hash"]
        if not _VERIFIED[ident]:
            log.warning("cache entry %s does not match its record (%d bytes, %s); computing it again",
                        path, record["bytes"], record["hash"])
    return _VERIFIED[ident]


@contextlib.contextmanager
def _entry_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock on one cache entry (waits for another writer; released by the OS if this one dies)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
