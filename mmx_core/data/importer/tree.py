"""The authors' folder tree: folders in natural order, trailer copies grouped across genre folders, problems.

:func:`scan_tree` makes a trailer's copies under several genre folders one :class:`TreeTrailer`, its genres
and year read from their ``meta.pkl`` files; problems are collected in an :class:`ImportProblems`, not raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmx_core.base.errors import MMXError
from mmx_core.base.progress import progress
from mmx_core.base.safeio import escape_control
from mmx_core.data.importer.meta import parse_meta, read_meta

__all__ = ["EXPERT_FOLDERS", "natural_key", "subdirs", "TreeTrailer", "ImportProblems", "scan_tree"]

# authors' expert folder -> project expert
EXPERT_FOLDERS: dict[str, str] = {
    "img-embeddings": "image",
    "location-embeddings": "scene",
    "video-embeddings": "motion",
    "motion-embeddings": "motion",
    "audio-embeddings": "audio",
}


def natural_key(name: str):
    """Sort key that orders ``scene2`` before ``scene10``."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def subdirs(path: Path) -> list[Path]:
    """Visible sub-folders of ``path`` in natural order; :class:`MMXError` when it cannot be listed."""
    try:
        return sorted((p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")),
                      key=lambda p: natural_key(p.name))
    except OSError as exc:
        raise MMXError(f"cannot list folder ({exc.strerror})", path) from None


@dataclass
class TreeTrailer:
    """One trailer of the tree: its copies under the genre folders, and the genres and year read for it."""

    id: str
    copies: list[tuple[str, Path]] = field(default_factory=list)   # (genre folder, trailer folder)
    genres: list[str] = field(default_factory=list)
    year: int | None = None


class ImportProblems:
    """Problems of an import, each ``{"file", "row", "message", "trailer"}`` with the file relative to ``root``.

    Control characters in file names, messages and trailer ids are escaped here, once, so
    neither the command's output nor ``import_report.json`` carries a terminal escape.
    """

    def __init__(self, root: Path):
        self.root = root
        self.items: list[dict[str, Any]] = []

    def add(self, file: Path | str, message: str, trailer: str | None = None) -> None:
        rel = str(Path(file).relative_to(self.root)) if Path(file).is_relative_to(self.root) else str(file)
        self.items.append({"file": escape_control(rel), "row": None, "message": escape_control(message),
                           "trailer": None if trailer is None else escape_control(trailer)})


def scan_tree(root: Path, problems: ImportProblems) -> tuple[list[TreeTrailer], list[str]]:
    """Group trailer folders by id across genre folders; read and compare their meta.pkl files."""
    trailers: dict[str, TreeTrailer] = {}
    genre_folders = subdirs(root)
    if not genre_folders:
        raise MMXError("no genre folders found; expected <root>/<genre>/<trailer>/<scene>/<clip>/<expert>/*.pt", root)
    for genre_dir in genre_folders:
        if escape_control(genre_dir.name) != genre_dir.name:
            problems.add(genre_dir, "genre folder name holds control characters; its trailers are skipped")
            continue
        for trailer_dir in subdirs(genre_dir):
            if escape_control(trailer_dir.name) != trailer_dir.name:
                problems.add(trailer_dir, "trailer folder name holds control characters; trailer skipped")
                continue
            trailers.setdefault(trailer_dir.name, TreeTrailer(trailer_dir.name)).copies.append((genre_dir.name, trailer_dir))
    vocab: set[str] = set()
    for trailer in progress(list(trailers.values()), "reading meta.pkl"):
        metas: dict[tuple, list[Path]] = {}
        for _, trailer_dir in trailer.copies:
            for scene in subdirs(trailer_dir):
                file = scene / "meta.pkl"
                if not file.exists():
                    continue
                try:
                    genres, year = parse_meta(read_meta(file), file)
                    if any(escape_control(g) != g for g in genres):
                        raise MMXError("genre names hold control characters; meta.pkl ignored", file)
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
            if set(folders) != set(trailer.genres):
                problems.add(trailer.copies[0][1],
                             f"genre folders disagree with meta.pkl: trailer is under {sorted(folders)} but its "
                             f"meta.pkl says {trailer.genres}; using meta.pkl", trailer.id)
        if not trailer.genres:
            trailer.genres = list(folders)
        vocab.update(trailer.genres)
    return sorted(trailers.values(), key=lambda t: natural_key(t.id)), sorted(vocab)
