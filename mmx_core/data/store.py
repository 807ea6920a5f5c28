"""Read access to a trailer data set: :class:`TrailerStore` and :class:`TrailerClips`.

The index (offsets) and the trailer table are read into memory; the features
stay on disk and are memory-mapped (``np.load(mmap_mode="r")``), so a set the
size of MMX-Trailer-20 is used without reading it into RAM. A store can be
pickled into DataLoader workers: the memory maps are reopened in each worker.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import load_npy, regular_file
from mmx_core.data.gather import BatchLayout, gather_frames
from mmx_core.data.manifest import SPLITS, Manifest, dataset_fingerprint, read_manifest

__all__ = ["TrailerStore", "TrailerClips"]


@dataclass
class TrailerClips:
    """The clips of some sequences of one trailer, padded to dense arrays.

    Attributes
    ----------
    features : dict of str to ndarray of shape (S, C, F, D)
        float32 features per expert; S sequences, C = clips_per_sequence,
        F = the most frames any of these clips holds for that expert (at
        least 1), D = the expert's dim. Padding is zero.
    frame_mask : dict of str to ndarray of shape (S, C, F)
        bool, True where a frame exists. A clip whose mask row is all False
        has no feature for that expert (missing, not zero).
    clip_mask : ndarray of shape (S, C)
        bool, True where the clip exists (a sequence may hold fewer than C clips).
    trailer : int
        Row of the trailer in the store.
    sequences : ndarray of shape (S,)
        The trailer's sequence indices that were read (0-based within the trailer).
    """

    features: dict[str, np.ndarray]
    frame_mask: dict[str, np.ndarray]
    clip_mask: np.ndarray
    trailer: int = -1
    sequences: np.ndarray | None = None

    @property
    def n_sequences(self) -> int:
        return int(self.clip_mask.shape[0])


class TrailerStore:
    """A trailer data set on disk (see docs/data-format.md).

    Use :meth:`open`. Row ``t`` of :attr:`trailers` is trailer index ``t``.

    Attributes
    ----------
    path : Path
        The data set folder.
    manifest : Manifest
        Genres, experts, clips per sequence, counts, generator parameters.
    trailers : DataFrame
        ``id``, ``title``, ``year``, ``genres`` (list of str), ``split``
        [, ``subgenre``], one row per trailer.
    sequence_offsets : ndarray of shape (n_trailers + 1,)
        Trailer ``t`` owns sequences ``[o[t], o[t+1])``.
    clip_offsets : ndarray of shape (n_sequences + 1,)
        Sequence ``s`` owns clips ``[o[s], o[s+1])``.
    frame_offsets : dict of str to ndarray of shape (n_clips + 1,)
        Per expert, clip ``c`` owns frames ``[o[c], o[c+1])``.
    """

    def __init__(self, path: Path, manifest: Manifest, trailers: pd.DataFrame, sequence_offsets: np.ndarray,
                 clip_offsets: np.ndarray, frame_offsets: dict[str, np.ndarray]):
        self.path, self.manifest, self.trailers = Path(path), manifest, trailers
        self.sequence_offsets, self.clip_offsets, self.frame_offsets = sequence_offsets, clip_offsets, frame_offsets
        self._features: dict[str, np.ndarray] | None = None
        self._tables: dict[str, torch.Tensor] | None = None
        self._fingerprint: str | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path, validate: bool = True) -> "TrailerStore":
        """Open the data set in ``path``.

        Parameters
        ----------
        path : str or Path
            Data set folder (with ``manifest.json``).
        validate : bool
            Run :func:`mmx_core.data.validate_dataset` first (its result is
            cached per data set fingerprint) and raise on any problem.

        Raises
        ------
        MMXError
            When the folder is not a valid data set; the message names the
            first problems with their files and rows.
        """
        path = Path(path)
        if not path.is_dir():
            raise MMXError("data set folder not found", path)
        if validate:
            from mmx_core.data.validate import ensure_valid

            ensure_valid(path)
        manifest = read_manifest(path)
        trailers = _read_trailers(path / "trailers.parquet")
        seq = _load_index(path / "index" / "sequence_offsets.npy")
        clip = _load_index(path / "index" / "clip_offsets.npy")
        frames = {name: _load_index(path / "experts" / name / "frame_offsets.npy") for name in manifest.experts}
        if len(seq) != len(trailers) + 1 or seq[-1] + 1 != len(clip):
            raise MMXError("index does not match trailers.parquet; run `python -m mmx_core validate` on it", path)
        return cls(path, manifest, trailers, seq, clip, frames)

    @property
    def features(self) -> dict[str, np.ndarray]:
        """Per expert, the memory-mapped ``features.npy`` of shape (n_frames, D) (opened lazily)."""
        if self._features is None:
            features = {}
            for name in self.manifest.experts:
                file = self.path / "experts" / name / "features.npy"
                try:
                    features[name] = load_npy(file, "features", mmap=True)
                except (OSError, ValueError) as exc:
                    raise MMXError(f"cannot memory-map the features ({exc})", file) from None
            self._features = features
        return self._features

    @property
    def feature_tables(self) -> dict[str, torch.Tensor]:
        """Per expert, :attr:`features` as a CPU tensor of shape (n_frames, D) sharing the memory map.

        Read-only: the map is opened read-only, and writing into it would crash the process.
        """
        if self._tables is None:
            with warnings.catch_warnings():  # torch warns that the memory map is not writable
                warnings.simplefilter("ignore", UserWarning)
                self._tables = {name: torch.from_numpy(data) for name, data in self.features.items()}
        return self._tables

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_features"] = state["_tables"] = None  # memory maps are reopened in the receiving process
        return state

    # ------------------------------------------------------------------ metadata
    @property
    def n_trailers(self) -> int:
        return len(self.trailers)

    @property
    def n_clips(self) -> int:
        return int(self.clip_offsets[-1])

    @property
    def genres(self) -> list[str]:
        return self.manifest.genres

    def sequence_count(self, t: int) -> int:
        """Number of sequences of trailer ``t``."""
        return int(self.sequence_offsets[t + 1] - self.sequence_offsets[t])

    def sequence_counts(self) -> np.ndarray:
        """ndarray of shape (n_trailers,): sequences of every trailer."""
        return np.diff(self.sequence_offsets)

    def split_indices(self, split: str) -> np.ndarray:
        """Trailer indices (int64, ascending) of ``split`` ("train", "val" or "test")."""
        if split not in SPLITS:
            raise MMXError(f"split must be one of {list(SPLITS)}, got {split!r}")
        return np.flatnonzero(self.trailers["split"].to_numpy() == split).astype(np.int64)

    def labels(self) -> np.ndarray:
        """Multi-hot genre labels, float32 ndarray of shape (n_trailers, n_genres)."""
        column = {g: j for j, g in enumerate(self.manifest.genres)}
        labels = np.zeros((self.n_trailers, len(column)), dtype=np.float32)
        for t, genres in enumerate(self.trailers["genres"]):
            unknown = [g for g in genres if g not in column]
            if unknown:
                raise MMXError(f"trailers.parquet row {t}: genres {unknown} are not in the manifest's vocabulary",
                               self.path)
            labels[t, [column[g] for g in genres]] = 1.0
        return labels

    @property
    def fingerprint(self) -> str:
        """Hash of the manifest, trailer table, index files and feature file sizes.

        It changes whenever trailers, labels, splits, the index or the amount
        of feature data change (a checkpoint records it to detect that it is
        used on other data). Feature values edited in place are not hashed.
        """
        if self._fingerprint is None:
            self._fingerprint = dataset_fingerprint(self.path, self.manifest)
        return self._fingerprint

    # ------------------------------------------------------------------ reading
    def read(self, t: int, sequence_indices=None) -> TrailerClips:
        """Read sequences of trailer ``t`` into dense padded arrays.

        Parameters
        ----------
        t : int
            Trailer index (row of :attr:`trailers`).
        sequence_indices : array-like of int, optional
            Sequences of this trailer to read, 0-based (default: all), in the
            order wanted; S = their number.

        Returns
        -------
        TrailerClips
            ``features[name]`` float32 (S, C, F, D), ``frame_mask[name]``
            bool (S, C, F), ``clip_mask`` bool (S, C).
        """
        layout = BatchLayout.of_sequences(self, [t], None if sequence_indices is None else [sequence_indices])
        features = {}
        for name, table in self.feature_tables.items():
            out = torch.from_numpy(np.empty(layout.feature_shape(name, table.shape[1]), dtype=np.float32))
            gather_frames(out, table, layout.rows[name], layout.frame_mask[name])
            features[name] = out.numpy()[0]
        frame_mask = {name: mask[0] for name, mask in layout.frame_mask.items()}
        return TrailerClips(features, frame_mask, layout.clip_mask[0], trailer=int(t), sequences=layout.sequences[0])

    def __repr__(self) -> str:
        return (f"TrailerStore({str(self.path)!r}, trailers={self.n_trailers}, clips={self.n_clips}, "
                f"experts={list(self.manifest.experts)}, generated={self.manifest.generated})")


def _read_trailers(file: Path) -> pd.DataFrame:
    regular_file(file, "trailer table")  # MMXError when it is missing or not a regular file
    try:
        table = pd.read_parquet(file)
    except Exception as exc:  # noqa: BLE001 - any parquet failure is a bad file for the user
        raise MMXError(f"cannot read the trailer table ({exc})", file) from None
    if "genres" in table.columns:
        table["genres"] = [list(g) if g is not None else [] for g in table["genres"]]
    for column in ("id", "title", "split", "subgenre"):
        if column in table.columns:
            table[column] = table[column].astype(object)
    return table


def _load_index(file: Path) -> np.ndarray:
    try:
        index = load_npy(file, "index file")  # a missing file: MMXError "index file not found"
    except (OSError, ValueError) as exc:
        raise MMXError(f"cannot read the index ({exc})", file) from None
    if index.dtype != np.int64 or index.ndim != 1 or len(index) == 0:
        raise MMXError(f"index must be a non-empty 1-D int64 array, got {index.dtype} of shape {index.shape}; "
                       "run `python -m mmx_core validate` on the data set", file)
    return index
