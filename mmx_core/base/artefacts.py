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
import hashlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.paths import cache_dir, shipped_cache_dir

__all__ = [
    "atomic_write",
    "write_json",
    "read_json",
    "file_hash",
    "array_hash",
    "params_key",
    "write_params_json",
    "cached_artefact",
    "library_versions",
]


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
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
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
    for name in ("numpy", "torch", "scikit-learn", "umap-learn", "hdbscan", "openTSNE", "pynndescent"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def write_params_json(
    artefact: str | Path,
    step: str,
    params: dict[str, Any],
    inputs: dict[str, str],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``<artefact>.json`` describing how ``artefact`` was made."""
    meta_path = Path(str(artefact) + ".json")
    record = {
        "step": step,
        "artefact": Path(artefact).name,
        "params": params,
        "inputs": inputs,
        "key": params_key(step, params, inputs),
        "versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if extra:
        record.update(extra)
    write_json(meta_path, record)
    return meta_path


def cached_artefact(
    step: str,
    params: dict[str, Any],
    inputs: dict[str, str],
    compute: Callable[[Path], None] | None,
    suffix: str = ".parquet",
    extra: Callable[[], dict[str, Any]] | None = None,
) -> Path | None:
    """Return the artefact of ``step`` for ``params`` and ``inputs``, computing it once.

    Looks in the shipped cache (``assets/cache``) and then in :func:`cache_dir`
    for ``<step>/<key><suffix>``; when neither has it, calls ``compute(tmp_path)``
    to write the artefact to a temporary path, renames it into the cache and
    writes the parameter JSON beside it.

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
    for root in (shipped_cache_dir(), cache_dir()):
        candidate = root / step / f"{key}{suffix}"
        if candidate.exists():
            return candidate
    if compute is None:
        return None
    target = cache_dir() / step / f"{key}{suffix}"
    with atomic_path(target) as tmp:
        compute(tmp)
    write_params_json(target, step, params, inputs, extra=extra() if extra else None)
    return target
