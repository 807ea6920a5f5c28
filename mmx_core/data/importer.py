"""Import MMX-Trailer-20 features from the authors' folder layout (``import-mmx``).

The authors' extraction code keeps features as::

    <root>/<genre>/<trailer>/<scene>/<clip>/<expert>/*.pt
    <root>/<genre>/<trailer>/<scene>/meta.pkl

with ``<expert>`` one of ``img-embeddings`` (image), ``location-embeddings``
(scene), ``video-embeddings`` or ``motion-embeddings`` (motion) and
``audio-embeddings`` (audio), optionally ``test-``-prefixed for test-time
sampling. A trailer with several genres appears under several genre folders;
it becomes one trailer here.

Safety: tensors are read with ``torch.load(weights_only=True)``; ``meta.pkl``
is read by :class:`MetaUnpickler`, whose ``find_class`` refuses every global,
so only the pickle opcodes for built-in containers, strings and numbers work
and nothing in the file can run code.

Problems in single files (unreadable or refused tensor, wrong dim, empty clip
folder, unreadable ``meta.pkl``, genre folders that disagree) do not stop the
import: they are reported (``import_report.json`` in the data set and the
command's output) and the affected expert / clip / trailer is left out, a
missing expert being stored as missing. The import commits every few seconds
and can be interrupted and restarted without redoing finished trailers.
"""

from __future__ import annotations

import io
import json
import logging
import pickle
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.progress import progress
from mmx_core.data.manifest import PAPER_EXPERTS, ExpertSpec
from mmx_core.data.writer import DatasetWriter, staging_dir

__all__ = ["MetaUnpickler", "read_meta", "parse_meta", "import_mmx", "ImportResult", "EXPERT_FOLDERS"]

log = logging.getLogger(__name__)

# authors' expert folder -> project expert
EXPERT_FOLDERS: dict[str, str] = {
    "img-embeddings": "image",
    "location-embeddings": "scene",
    "video-embeddings": "motion",
    "motion-embeddings": "motion",
    "audio-embeddings": "audio",
}
_PROBLEMS = "import_problems.jsonl"
_SPLIT_FRACTIONS = (0.7, 0.1, 0.2)
_ALLOWED_META = (list, tuple, dict, str, int, float, bool, type(None), bytes)


class MetaUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global: only built-in containers, strings and numbers load.

    Lists, tuples, dicts, sets of literals, strings, bytes, numbers, True/False/None
    have their own pickle opcodes and never reach :meth:`find_class`; anything
    else (a class, a function such as ``os.system``) needs ``find_class`` and
    is refused with :class:`pickle.UnpicklingError` before it is called.
    """

    def find_class(self, module: str, name: str):  # noqa: D102 - see class docstring
        raise pickle.UnpicklingError(
            f"refused global {module}.{name}: meta.pkl may only hold lists, tuples, dicts, strings and numbers")


def read_meta(path: str | Path) -> Any:
    """Read ``meta.pkl`` safely with :class:`MetaUnpickler`.

    Raises
    ------
    MMXError
        When the file cannot be read, is not a pickle, or holds anything but
        built-in containers, strings and numbers.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MMXError(f"cannot read meta.pkl ({exc.strerror})", path) from None
    try:
        value = MetaUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        raise MMXError(str(exc), path) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a damaged pickle
        raise MMXError(f"not a readable pickle ({type(exc).__name__}: {exc})", path) from None
    _check_plain(value, path)
    return value


def _check_plain(value: Any, path: Path, depth: int = 0) -> None:
    if depth > 10 or not isinstance(value, _ALLOWED_META):
        raise MMXError(f"refused: meta.pkl holds {type(value).__name__}; only lists, strings and numbers are allowed", path)
    if isinstance(value, dict):
        for k, v in value.items():
            _check_plain(k, path, depth + 1)
            _check_plain(v, path, depth + 1)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_plain(v, path, depth + 1)


def _as_year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and 1800 <= value <= 2200:
        return int(value)
    if isinstance(value, str):
        match = re.search(r"(18|19|20|21)\d\d", value)
        return int(match.group(0)) if match else None
    if isinstance(value, (list, tuple)):
        for item in value:
            year = _as_year(item)
            if year is not None:
                return year
    return None


def _genre_names(values) -> list[str]:
    names = []
    for g in values:
        g = g.decode() if isinstance(g, bytes) else g
        if isinstance(g, str) and g.strip() and g.strip() != "None" and g.strip() not in names:
            names.append(g.strip())
    return names


def parse_meta(value: Any, path: str | Path | None = None) -> tuple[list[str], int | None]:
    """Genres and year from the content of a ``meta.pkl``.

    Accepted forms: a list of genre names padded with ``'None'``; such a list
    paired with a year (``(genres, year)``, the year possibly itself a pair);
    a list of names followed by a year; or a dict with ``genres``/``genre``
    and ``year``.

    Returns
    -------
    genres : list of str
        Without the ``'None'`` padding, in their order.
    year : int or None
    """
    if isinstance(value, dict):
        genres = value.get("genres", value.get("genre", []))
        genres = [genres] if isinstance(genres, str) else genres
        if isinstance(genres, (list, tuple)):
            return _genre_names(genres), _as_year(value.get("year"))
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (str, bytes)) for v in value):
            return _genre_names(value), None
        lists = [v for v in value if isinstance(v, (list, tuple)) and v and all(isinstance(x, (str, bytes)) for x in v)
                 and any(_as_year(x) is None for x in v)]
        if len(lists) == 1:
            rest = [v for v in value if v is not lists[0]]
            return _genre_names(lists[0]), _as_year(rest)
        strings = [v for v in value if isinstance(v, (str, bytes)) and not re.fullmatch(r"\d{4}", str(v))]
        others = [v for v in value if not (isinstance(v, (str, bytes)) and v in strings)]
        if strings:
            return _genre_names(strings), _as_year(others)
    raise MMXError(f"unrecognised meta.pkl content {value!r:.100}; expected genre names padded with 'None' "
                   "[and a year]", path)


# ---------------------------------------------------------------------------- scanning
def _natural_key(name: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted((p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: _natural_key(p.name))
    except OSError as exc:
        raise MMXError(f"cannot list folder ({exc.strerror})", path) from None


@dataclass
class _Trailer:
    id: str
    copies: list[tuple[str, Path]] = field(default_factory=list)   # (genre folder, trailer folder)
    genres: list[str] = field(default_factory=list)
    year: int | None = None


@dataclass
class ImportResult:
    """What :func:`import_mmx` did.

    Attributes
    ----------
    path : Path
        The data set written.
    trailers, clips : int
        Trailers and clips in the data set.
    skipped : int
        Trailers found in the tree but not imported (no usable clip).
    resumed : int
        Trailers already done by an interrupted run and not redone.
    problems : list of dict
        ``{"file", "row", "message"}``, files relative to the source root.
    """

    path: Path
    trailers: int
    clips: int
    skipped: int
    resumed: int
    problems: list[dict[str, Any]]


class _Problems:
    def __init__(self, root: Path):
        self.root = root
        self.items: list[dict[str, Any]] = []

    def add(self, file: Path | str, message: str, trailer: str | None = None) -> None:
        try:
            rel = str(Path(file).relative_to(self.root))
        except ValueError:
            rel = str(file)
        self.items.append({"file": rel, "row": None, "message": message, "trailer": trailer})


def _scan(root: Path, problems: _Problems) -> tuple[list[_Trailer], list[str]]:
    """Group trailer folders by id across genre folders; read and compare their meta.pkl files."""
    trailers: dict[str, _Trailer] = {}
    genre_folders = _subdirs(root)
    if not genre_folders:
        raise MMXError("no genre folders found; expected <root>/<genre>/<trailer>/<scene>/<clip>/<expert>/*.pt", root)
    for genre_dir in genre_folders:
        for trailer_dir in _subdirs(genre_dir):
            trailers.setdefault(trailer_dir.name, _Trailer(trailer_dir.name)).copies.append((genre_dir.name, trailer_dir))
    vocab: set[str] = set()
    for trailer in progress(list(trailers.values()), "reading meta.pkl"):
        metas: dict[tuple, list[Path]] = {}
        for _, trailer_dir in trailer.copies:
            for scene in _subdirs(trailer_dir):
                file = scene / "meta.pkl"
                if not file.exists():
                    continue
                try:
                    genres, year = parse_meta(read_meta(file), file)
                except MMXError as exc:
                    problems.add(file, exc.message, trailer.id)
                    continue
                metas.setdefault((tuple(genres), year), []).append(file)
        folders = [g for g, _ in trailer.copies]
        if metas:
            (genres, year), _ = max(metas.items(), key=lambda kv: len(kv[1]))
            if len(metas) > 1:
                variants = "; ".join(f"{list(g)} {y} in {len(f)} file(s)" for (g, y), f in metas.items())
                problems.add(trailer.copies[0][1], f"meta.pkl files disagree ({variants}); using the most common",
                             trailer.id)
            trailer.genres, trailer.year = list(genres), year
        else:
            trailer.genres = list(folders)
        if metas and set(folders) != set(trailer.genres):
            problems.add(trailer.copies[0][1],
                         f"genre folders disagree with meta.pkl: trailer is under {sorted(folders)} but its "
                         f"meta.pkl says {trailer.genres}; using meta.pkl", trailer.id)
        if not trailer.genres:
            trailer.genres = list(folders)
        vocab.update(trailer.genres)
    return sorted(trailers.values(), key=lambda t: _natural_key(t.id)), sorted(vocab)


# ---------------------------------------------------------------------------- reading tensors
def _load_tensor(file: Path, dim: int, problems: _Problems, trailer: str) -> np.ndarray | None:
    """Frames of one .pt file as float32 (n, dim), or None (reported) when unusable."""
    import torch

    try:
        value = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt, truncated or refused (malicious) files alike
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        problems.add(file, f"cannot read tensor with weights_only=True ({reason[:200]}); expert left missing", trailer)
        return None
    if not isinstance(value, torch.Tensor):
        problems.add(file, f"holds {type(value).__name__}, not a tensor; expert left missing", trailer)
        return None
    array = value.detach().to(torch.float32).numpy()
    if array.ndim == 0 or array.shape[-1] != dim:
        problems.add(file, f"tensor of shape {tuple(array.shape)}, expected last dim {dim}; expert left missing",
                     trailer)
        return None
    array = array.reshape(-1, dim)
    if not np.isfinite(array).all() or (np.abs(array) > 65000).any():
        problems.add(file, "tensor holds NaN/Inf or values beyond float16 range; expert left missing", trailer)
        return None
    return array


def _read_clip(clip_dir: Path, experts: dict[str, ExpertSpec], test_sampling: bool, problems: _Problems,
               trailer: str) -> dict[str, np.ndarray] | None:
    """Per expert the clip's frames (0 rows = missing); None when the clip folder holds no feature."""
    folders: dict[str, Path] = {}
    for sub in _subdirs(clip_dir):
        name, is_test = sub.name, sub.name.startswith("test-")
        base = name[5:] if is_test else name
        if base not in EXPERT_FOLDERS or is_test != test_sampling:
            continue
        expert = EXPERT_FOLDERS[base]
        if expert in experts:
            folders.setdefault(expert, sub)
    frames = {}
    for expert, spec in experts.items():
        rows = []
        if expert in folders:
            for file in sorted(folders[expert].glob("*.pt"), key=lambda p: _natural_key(p.name)):
                array = _load_tensor(file, spec.dim, problems, trailer)
                if array is not None:
                    rows.append(array)
        if rows:
            stacked = np.concatenate(rows)
            frames[expert] = stacked.mean(axis=0, keepdims=True) if spec.temporal == "pooled" else stacked
        else:
            frames[expert] = np.zeros((0, spec.dim), np.float32)
    if not any(len(f) for f in frames.values()):
        problems.add(clip_dir, "clip folder holds no usable expert feature; clip skipped", trailer)
        return None
    return frames


def _read_trailer(trailer: _Trailer, experts: dict[str, ExpertSpec], clips_per_sequence: int, test_sampling: bool,
                  problems: _Problems):
    """All usable clips of a trailer grouped into sequences (scenes cut into runs of at most C clips)."""
    scenes: dict[str, Path] = {}
    listings: dict[str, tuple] = {}
    for genre, trailer_dir in trailer.copies:
        for scene in _subdirs(trailer_dir):
            scenes.setdefault(scene.name, scene)
        listings[genre] = tuple((s.name, tuple(c.name for c in _subdirs(s))) for s in _subdirs(trailer_dir))
    if len(set(listings.values())) > 1:
        problems.add(trailer.copies[0][1], f"copies under genre folders {sorted(listings)} hold different scenes or "
                     "clips; using the union (first copy of each scene)", trailer.id)
    clip_counts, per_expert = [], {name: [] for name in experts}
    for name in sorted(scenes, key=_natural_key):
        clips = [c for c in (_read_clip(d, experts, test_sampling, problems, trailer.id) for d in _subdirs(scenes[name]))
                 if c is not None]
        for start in range(0, len(clips), clips_per_sequence):
            chunk = clips[start:start + clips_per_sequence]
            clip_counts.append(len(chunk))
            for clip in chunk:
                for expert in experts:
                    per_expert[expert].append(clip[expert])
    if not clip_counts:
        return None
    features = {}
    for expert, spec in experts.items():
        arrays = per_expert[expert]
        features[expert] = (np.concatenate(arrays) if arrays else np.zeros((0, spec.dim), np.float32),
                            np.array([len(a) for a in arrays], dtype=np.int64))
    return np.array(clip_counts, dtype=np.int64), features


def _split_of(trailer_id: str) -> str:
    """Deterministic 70/10/20 split from a hash of the id (stable under resume and reordering)."""
    u = (zlib.crc32(trailer_id.encode()) % 10000) / 10000
    return "train" if u < _SPLIT_FRACTIONS[0] else "val" if u < _SPLIT_FRACTIONS[0] + _SPLIT_FRACTIONS[1] else "test"


# ---------------------------------------------------------------------------- import
def import_mmx(src: str | Path, out: str | Path, *, dims: dict[str, int] | None = None, test_sampling: bool = False,
               clips_per_sequence: int = 9, restart: bool = False, overwrite: bool = False,
               commit_seconds: float = 5.0, stop_after: int | None = None, command: str | None = None) -> ImportResult:
    """Convert a tree of the authors' layout into a data set at ``out``.

    Parameters
    ----------
    src : str or Path
        Root of the tree (``<src>/<genre>/<trailer>/...``).
    out : str or Path
        Destination data set folder.
    dims : dict of str to int, optional
        Expected expert dims (default 2048/2048/512/128); tensors of another
        dim are reported and left out.
    test_sampling : bool
        Read the ``test-``-prefixed expert folders instead of the plain ones.
    clips_per_sequence : int
        C; a scene with more clips becomes several sequences of at most C.
    restart : bool
        Discard an interrupted import of ``out`` instead of resuming it.
    overwrite : bool
        Replace an existing data set at ``out``.
    commit_seconds : float
        Make progress durable at least this often.
    stop_after : int, optional
        Stop (as if interrupted) after importing this many new trailers;
        for tests of resuming.
    command : str, optional
        The command line, recorded in the manifest.

    Returns
    -------
    ImportResult
    """
    root = Path(src).resolve()
    if not root.is_dir():
        raise MMXError("source folder not found", src)
    experts = {name: ExpertSpec(int((dims or {}).get(name, spec.dim)), spec.temporal)
               for name, spec in PAPER_EXPERTS.items()}
    problems = _Problems(root)
    trailers, vocab = _scan(root, problems)
    if not trailers:
        raise MMXError("no trailer folders found under the genre folders", root)
    params = {"command": command or "import-mmx", "step": "import-mmx", "source": str(root),
              "dims": {k: v.dim for k, v in experts.items()}, "test_sampling": test_sampling,
              "clips_per_sequence": clips_per_sequence}
    writer = DatasetWriter(out, vocab, experts, clips_per_sequence, generated=False, generator=params,
                           source=f"imported from the authors' layout at {root}", resume=not restart,
                           overwrite=overwrite)
    problems_file = staging_dir(out) / _PROBLEMS
    done_before = set(writer.done_ids)
    kept = _read_problem_log(problems_file, done_before)
    _write_problem_log(problems_file, kept)
    scan_problems = list(problems.items)
    skipped = written = 0
    try:
        for trailer in progress(trailers, "importing trailers"):
            if trailer.id in done_before:
                continue
            if stop_after is not None and written >= stop_after:
                writer.commit()
                raise KeyboardInterrupt
            problems.items = []
            result = _read_trailer(trailer, experts, clips_per_sequence, test_sampling, problems)
            if result is None:
                problems.add(trailer.copies[0][1], "trailer has no usable clip; skipped", trailer.id)
                skipped += 1
            else:
                clip_counts, features = result
                row = {"id": trailer.id, "title": trailer.id, "year": trailer.year, "genres": trailer.genres,
                       "split": _split_of(trailer.id)}
                writer.add_trailer(row, clip_counts, features)
                written += 1
            kept.extend(p for p in problems.items if result is not None)
            if result is not None and problems.items:
                _append_problem_log(problems_file, problems.items)
            else:
                scan_problems.extend(problems.items)
            writer.maybe_commit(commit_seconds)
        all_problems = scan_problems + kept
        problems_file.unlink(missing_ok=True)  # scratch of the staging folder, not part of the set
        path = writer.finish(
            extra={"problems": len(all_problems), "skipped_trailers": skipped},
            extra_files={"import_report.json": {"source": str(root), "problems": all_problems}},
        )
    finally:
        writer.close()
    return ImportResult(path=path, trailers=writer.n_trailers, clips=writer.n_clips, skipped=skipped,
                        resumed=len(done_before), problems=all_problems)


def _read_problem_log(file: Path, done: set[str]) -> list[dict[str, Any]]:
    if not file.exists():
        return []
    items = []
    for line in file.read_text().splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by the interruption
        if item.get("trailer") in done:
            items.append(item)
    return items


def _write_problem_log(file: Path, items: list[dict[str, Any]]) -> None:
    from mmx_core.base.artefacts import atomic_write

    file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(file, "w") as handle:
        handle.write("".join(json.dumps(i) + "\n" for i in items))


def _append_problem_log(file: Path, items: list[dict[str, Any]]) -> None:
    with open(file, "a") as handle:
        handle.write("".join(json.dumps(i) + "\n" for i in items))

