"""The one output contract of every command that writes: where it may write, what it may replace, one writer.

Every ``--out`` (``--name``, ``--save-predictions``, ``--work``, ...) goes through :func:`check_output`
before any heavy work (loading models or data). The target is resolved (symbolic links and ``..``
followed) and **refused** with an :class:`MMXError` (exit code 2, nothing touched) when it is

- empty or blank (an unset shell variable);
- a root folder itself (:func:`protected_roots`): ``/``, the home folder, the current folder, the project
  folder, its shipped ``assets/`` and ``models/`` folders, the data, runs and cache folders (a kind may name
  one of them as its own, e.g. ``precompute`` fills the cache folder);
- an input of the command, a folder holding an input, or (for inputs read as a whole: a data set, a tree of
  videos or features) a path inside one;
- an existing file or folder the project did not write: each :class:`OutputKind` says what marks a
  target as written by the project (a data set its ``manifest.json``, a run its ``config.json``, ...).
  An **empty folder** counts as written by the project (nothing in it can be lost), and a folder holding
  only a writer lock as a new target (the lock then decides who writes);
- an existing project-written target without ``--overwrite``, for kinds that replace what they write
  (data sets, embeddings, predictions, parameter-recorded artefacts). Kinds written *into* (``in_place``:
  runs, caches, work folders, docs with generated blocks) take an existing project-written target as it is.

``--overwrite`` replaces only what the project wrote, by writing the new one beside it and swapping it in
when complete (:mod:`mmx_core.base.output_writer`, :func:`mmx_core.base.artefacts.atomic_path`): the old one
stays until then, and a second writer of the same target is refused at once.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from mmx_core.base.errors import MMXError
from mmx_core.base.locks import LOCK_NAME
from mmx_core.base.paths import ASSETS_DIR, MODELS_DIR, PROJECT_ROOT, cache_dir, data_dir, runs_dir

__all__ = ["OutputKind", "KINDS", "DATASET", "RUN", "WORK", "EMBEDDINGS", "PREDICTIONS", "ARTEFACT", "CACHE",
           "MODELS", "PUBLISHED", "DOC", "UPLOAD", "ANNOTATIONS", "check_output", "protected_roots", "tag_output",
           "OUTPUT_KIND_ATTR"]

OUTPUT_KIND_ATTR = "output_kind"
"""Attribute a command's parser sets on each output option (:func:`tag_output`); the tests walk it."""


@dataclass(frozen=True)
class OutputKind:
    """What a command writes, and what marks an existing target as written by the project.

    Attributes
    ----------
    name : str
        How messages name it ("data set", "run folder", ...).
    folder : bool
        A folder (True) or a file.
    marker : callable(Path) -> bool
        Whether the existing target was written by the project (never asked of an empty folder).
    marker_text : str
        What the marker is, for the refusal message.
    in_place : bool
        Written into (an existing project-written target is taken as it is) rather than replaced.
    own_roots : callable() -> tuple of Path
        Root folders this kind may write into itself (the cache kind: the cache folder).
    """

    name: str
    folder: bool
    marker: Callable[[Path], bool]
    marker_text: str
    in_place: bool = False
    own_roots: Callable[[], tuple[Path, ...]] = field(default=lambda: ())


def _has_file(*names: str) -> Callable[[Path], bool]:
    return lambda path: any((path / name).is_file() for name in names)


def _zip_holds(*members: str) -> Callable[[Path], bool]:
    def check(path: Path) -> bool:
        try:
            with zipfile.ZipFile(path) as archive:
                return set(members) <= set(archive.namelist())
        except (OSError, zipfile.BadZipFile):
            return False
    return check


def _recorded(path: Path) -> bool:
    """A file with its parameter record ``<file>.json`` naming it (see ``artefacts.write_params_json``)."""
    try:
        record = json.loads(Path(str(path) + ".json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("artefact") == path.name


def _run_folder(path: Path) -> bool:
    return _has_file("config.json", "status.json")(path) or (path / "checkpoints").is_dir()


def _work_folder(path: Path) -> bool:
    """A folder of runs and results (``ablate``/``subgenre-eval --work``, ``make-models --runs``)."""
    children = [c for c in path.iterdir() if not c.name.startswith(".")]
    return any((c.is_dir() and (_run_folder(c) or c.name in ("runs", "embeddings")))
               or (c.is_file() and c.suffix == ".json") for c in children)


def _cache_folder(path: Path) -> bool:
    """The cache layout: only ``<step>/`` folders at the top, holding parameter records (``*.json``)."""
    children = [c for c in path.iterdir() if not c.name.startswith(".")]
    return bool(children) and all(c.is_dir() for c in children) and any(
        next(c.glob("*.json"), None) is not None for c in children)


def _generated_doc(path: Path) -> bool:
    from mmx_core.base.docblocks import parse_blocks

    try:
        text = path.read_text(errors="replace")
    except OSError:
        return False
    return bool(parse_blocks(text))


ANNOTATIONS_HEADER = '"id","tag","kind","note","colour","title"'
"""The first line of an annotations CSV as ``mmx_core.annotations.table`` writes it (a file people typed has
no quoted header of every column)."""


def _annotations_file(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.readline(4096).rstrip("\r\n") == ANNOTATIONS_HEADER
    except (OSError, UnicodeDecodeError):
        return False


DATASET = OutputKind("data set", True, _has_file("manifest.json"), "manifest.json")
RUN = OutputKind("run folder", True, _run_folder, "config.json, status.json or checkpoints/", in_place=True)
WORK = OutputKind("work folder", True, _work_folder, "run folders or result .json files", in_place=True)
EMBEDDINGS = OutputKind("embeddings file", False, _zip_holds("embeddings.npy", "ids.npy"),
                        "an .npz holding 'embeddings' and 'ids'")
PREDICTIONS = OutputKind("predictions file", False, _zip_holds("scores.npy", "labels.npy", "genres.npy"),
                         "an .npz holding 'scores', 'labels' and 'genres'")
ARTEFACT = OutputKind("artefact", False, _recorded, "its parameter record <file>.json")
CACHE = OutputKind("cache folder", True, _cache_folder, "<step>/ folders of parameter records", in_place=True,
                   own_roots=lambda: (cache_dir(),))
MODELS = OutputKind("models folder", True, _has_file("make_models.json", "coarse.pt", "fine.pt"),
                    "make_models.json or coarse.pt / fine.pt", in_place=True, own_roots=lambda: (MODELS_DIR,))
PUBLISHED = OutputKind("published bundle", True, _has_file("bundle.json"), "bundle.json", in_place=True)
DOC = OutputKind("Markdown file", False, _generated_doc, "generated-block markers (<!-- BEGIN GENERATED: ... -->)",
                 in_place=True)
UPLOAD = OutputKind("embedding set", True, _has_file("upload.json"), "upload.json")
ANNOTATIONS = OutputKind("annotations file", False, _annotations_file, f"the first line {ANNOTATIONS_HEADER}")

KINDS = {kind.name: kind for kind in (DATASET, RUN, WORK, EMBEDDINGS, PREDICTIONS, ARTEFACT, CACHE, MODELS,
                                      PUBLISHED, DOC, UPLOAD, ANNOTATIONS)}
"""Every kind of output, by name."""


def protected_roots() -> dict[Path, str]:
    """Resolved root folder -> what it is: folders no command may write as a whole."""
    roots = {Path("/"): "the file-system root", Path.home(): "the home folder", Path.cwd(): "the current folder",
             PROJECT_ROOT: "the project folder", ASSETS_DIR: "the shipped assets/ folder",
             MODELS_DIR: "the shipped models/ folder", data_dir(): "the data folder ($MMX_DATA_DIR)",
             runs_dir(): "the runs folder ($MMX_RUNS_DIR)", cache_dir(): "the cache folder ($MMX_CACHE_DIR)"}
    return {Path(root).expanduser().resolve(): what for root, what in roots.items()}


def _refuse(option: str, why: str, path: Path | None = None) -> MMXError:
    return MMXError(f"refused as {option}: {why}; nothing was touched", path)


def check_output(target: str | Path | None, kind: OutputKind, *, option: str = "--out",
                 inputs: Iterable[str | Path | None] = (), reads: Iterable[str | Path | None] = (),
                 overwrite: bool = False, overwrite_option: bool = True) -> Path:
    """``target`` resolved, after the checks of the module docstring; :class:`MMXError` when refused.

    Parameters
    ----------
    target : str or Path
        Where the command is to write.
    kind : OutputKind
        What it writes (:data:`KINDS`).
    option : str
        The option that named it (in the message).
    inputs : iterable of path
        What the command reads as a whole (a data set, a tree): the target may be neither one of them, nor a
        folder holding one, nor a path inside one.
    reads : iterable of path
        Other files or folders it reads (a checkpoint, a metadata table): the target may be neither one of
        them, nor a folder holding one, nor a path under a file (a file written inside a run folder read as
        ``--model`` is fine).
    overwrite : bool
        ``--overwrite``: an existing target written by the project may be replaced.
    overwrite_option : bool
        Whether the command has an ``--overwrite`` option (the message of an existing target names it).

    Returns
    -------
    Path
        The resolved target.

    Raises
    ------
    MMXError
        The target is refused (nothing was touched).
    """
    text = "" if target is None else str(target)
    if not text.strip():
        raise _refuse(option, f"the {kind.name} path is empty (an unset shell variable?); name what to write")
    path = Path(text).expanduser().resolve()
    own = {Path(r).expanduser().resolve() for r in kind.own_roots()}
    what = protected_roots().get(path)
    if what is not None and path not in own:
        noun = "folder" if kind.folder else "file"
        raise _refuse(option, f"it is {what} itself, not a {kind.name}; name a new {noun} inside it", path)
    _check_inputs(path, option, inputs, reads)
    if os.path.lexists(path):
        _check_existing(path, kind, option, overwrite, overwrite_option)
    return path


def _check_inputs(path: Path, option: str, inputs: Iterable, reads: Iterable) -> None:
    """Refuse ``path`` when it is, holds, or lies inside an input (see :func:`check_output`)."""
    for source, whole in [(s, True) for s in inputs] + [(s, False) for s in reads]:
        if source is None or not str(source).strip():
            continue
        source = Path(source).expanduser().resolve()
        if path == source:
            raise _refuse(option, f"it is an input of the command ({source})", path)
        if source.is_relative_to(path):
            raise _refuse(option, f"it holds an input of the command ({source})", path)
        if path.is_relative_to(source) and (whole or (source.exists() and not source.is_dir())):
            raise _refuse(option, f"it lies inside an input of the command ({source})", path)


def _check_existing(path: Path, kind: OutputKind, option: str, overwrite: bool, overwrite_option: bool) -> None:
    """Refuse an existing ``path`` the project did not write, or may not replace (see :func:`check_output`)."""
    if kind.folder != path.is_dir() or (path.is_dir() and not os.access(path, os.R_OK | os.X_OK)):
        found = "a folder" if path.is_dir() else "a file"
        raise _refuse(option, f"{found} is there, not a {kind.name} written by this project; "
                              "choose another path", path)
    held = kind.folder and [child.name for child in path.iterdir()]
    if held == [LOCK_NAME]:
        return                     # only a writer's lock: a new target, the lock decides who writes
    empty = held == []             # nothing in it to lose: as if the project had written it
    if not empty and not kind.marker(path):
        raise _refuse(option, f"it exists and was not written by this project (a {kind.name} has "
                              f"{kind.marker_text}); choose another path", path)
    if not (kind.in_place or overwrite):
        hint = " or pass --overwrite to replace it" if overwrite_option else ""
        raise MMXError(f"{option}: already exists; choose another {option}{hint}", path)


def tag_output(action, kind: OutputKind):
    """Mark an argparse option as an output of ``kind`` (returns the action); the output-contract test walks
    every command's options and fails on an output option left untagged."""
    setattr(action, OUTPUT_KIND_ATTR, kind)
    return action
