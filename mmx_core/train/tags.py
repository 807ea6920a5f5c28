"""The tags of a ``train --stage fine --tags FILE.csv`` run: read once, checked against the data set, hashed.

:func:`load_trailer_tags` parses the file's bytes with :func:`mmx_core.annotations.table.parse_tags` (the one
reader of the annotations CSV) and hashes the same bytes. A file that names trailers the data set does not hold,
or in which no two training trailers share a tag (nothing to learn), is refused before any training, so the run
folder is never created. :class:`TagTeaching` holds what such a run adds to the plain fine stage.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mmx_core.annotations.table import parse_tags, table_bytes
from mmx_core.base.errors import MMXError
from mmx_core.data import TrailerStore
from mmx_core.train.config import TAG_TEMPERATURE
from mmx_core.train.inference import inference_batches
from mmx_core.train.losses import prototype_loss, supervised_contrastive

__all__ = ["TrailerTags", "load_trailer_tags", "check_resume_tags", "TagTeaching"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrailerTags:
    """Tags of a data set's trailers, as read from one tags file.

    Attributes
    ----------
    path : str
        The tags file as given.
    sha256 : str
        SHA-256 (hex) of the file's bytes.
    names : tuple of str
        The tags, sorted.
    matrix : ndarray of shape (n_trailers, n_tags), bool
        ``matrix[t, k]``: trailer ``t`` of the store (store order) carries tag ``names[k]``.
    train_rows : ndarray of int
        Store indices of the training split.
    """

    path: str
    sha256: str
    names: tuple[str, ...]
    matrix: np.ndarray
    train_rows: np.ndarray

    def groups(self, positions_of: np.ndarray) -> list[np.ndarray]:
        """For each tag carried by at least two of the trailers ``positions_of`` (store indices), the positions
        (indices into ``positions_of``) of those trailers; the input of :func:`mmx_core.train.sampling.tag_batches`."""
        sub = self.matrix[np.asarray(positions_of, dtype=np.int64)]
        return [np.flatnonzero(sub[:, k]) for k in range(sub.shape[1]) if sub[:, k].sum() >= 2]

    def summary(self) -> dict:
        """What the run records in config.json and its checkpoints: the file, its hash and the counts."""
        train = self.matrix[self.train_rows]
        return {"path": self.path, "sha256": self.sha256, "tags": len(self.names),
                "trailers_tagged": int(self.matrix.any(axis=1).sum()),
                "train_trailers_tagged": int(train.any(axis=1).sum()),
                "tags_shared_in_train": int((train.sum(axis=0) >= 2).sum())}


def load_trailer_tags(path: str | Path, store: TrailerStore) -> TrailerTags:
    """The tags file ``path`` over the trailers of ``store``.

    Raises
    ------
    MMXError
        The file is not a valid tags file (:func:`~mmx_core.annotations.table.parse_tags`), names ids that are
        not trailers of the data set (how many and the first few), or no two training trailers share a tag.
    """
    path = Path(path)
    raw = table_bytes(path)                                  # read once: the hash is of the bytes parsed
    tags, digest = parse_tags(raw, path), hashlib.sha256(raw).hexdigest()
    ids = [str(i) for i in store.trailers["id"].tolist()]
    row_of = {trailer: row for row, trailer in enumerate(ids)}
    unknown = sorted(trailer for trailer in tags if trailer not in row_of)
    if unknown:
        first = ", ".join(repr(u) for u in unknown[:3])
        raise MMXError(f"{len(unknown)} id(s) of the tags file are not trailers of the data set {store.path} "
                       f"(first: {first}); tag trailers of this data set or pass its own tags file", path)
    names = tuple(sorted({tag for trailer_tags in tags.values() for tag in trailer_tags}))
    column = {name: k for k, name in enumerate(names)}
    matrix = np.zeros((len(ids), len(names)), dtype=bool)
    for trailer, trailer_tags in tags.items():
        matrix[row_of[trailer], [column[t] for t in trailer_tags]] = True
    trailer_tags = TrailerTags(str(path), digest, names, matrix, np.asarray(store.split_indices("train"), np.int64))
    counts = trailer_tags.summary()
    if not counts["tags_shared_in_train"]:
        raise MMXError(f"no two training trailers share a tag ({counts['trailers_tagged']} trailers tagged, "
                       f"{len(names)} tags): nothing for --tags to teach; give a tag to several training trailers",
                       path)
    log.info("tags %s (sha256 %s): %d training trailers tagged", path, digest[:16], counts["train_trailers_tagged"])
    return trailer_tags


def check_resume_tags(recorded: dict | None, tags: TrailerTags | None, checkpoint: str | Path) -> None:
    """Refuse to resume a run (its checkpoint's ``"tags"`` record ``recorded``) with other tags than its own."""
    was = (recorded or {}).get("sha256")
    if was != (None if tags is None else tags.sha256):
        raise MMXError("--resume with other tags than the run's (" + (f"it used a file of sha256 {was[:16]}"
                       if was else "it had none") + "); pass the same --tags or start a new run", checkpoint)


class TagTeaching:
    """What a ``--tags`` fine run adds to the plain one: batches holding trailers that share a tag, and the loss
    ``tag_weight * supervised_contrastive + tag_prototype_weight * prototype_loss`` on the bottleneck.

    Parameters
    ----------
    tags : TrailerTags
        Its ``train_rows`` are the training set's trailers, in the order of the set's positions.
    weight, prototype_weight : float
        ``TrainConfig.tag_weight`` and ``TrainConfig.tag_prototype_weight`` (0: no prototype term).

    Attributes
    ----------
    groups : list of ndarray of int
        Per tag shared by two training trailers, their positions (:meth:`TrailerTags.groups`).
    memory_ : tuple of Tensor or None
        After :meth:`refresh`: unit embeddings of the tagged training trailers (store rows, zeros elsewhere), per
        tag the sum of its members' and its member count: the prototypes of :func:`prototype_loss`.
    """

    def __init__(self, tags: TrailerTags, weight: float, prototype_weight: float) -> None:
        self.tags, self.train_rows = tags, np.asarray(tags.train_rows, dtype=np.int64)
        self.weight, self.prototype_weight = weight, prototype_weight
        self.groups = tags.groups(self.train_rows)
        self.memory_ = None

    def rows(self, positions: np.ndarray) -> torch.Tensor:
        """Tag matrix rows (bool, (B, n_tags)) of the training set's positions ``positions``."""
        return torch.from_numpy(self.tags.matrix[self.train_rows[positions]])

    @torch.no_grad()
    def refresh(self, model: torch.nn.Module, store: TrailerStore, batch_size: int, device: torch.device,
                buffers=None) -> None:
        """Embed the tagged training trailers with ``model`` (eval mode, all their sequences) into ``memory_``;
        the loop calls it at the start of each epoch (the same on resume: it depends on the weights only)."""
        if not self.prototype_weight:
            return
        matrix = self.tags.matrix
        tagged = self.train_rows[matrix[self.train_rows].any(axis=1)]
        was_training = model.training
        model.eval()
        vectors = torch.cat([model(b["batch"], head="embed").float().cpu()
                             for b in inference_batches(store, tagged, batch_size, device, buffers=buffers)])
        model.train(was_training)
        unit = torch.zeros(len(matrix), vectors.shape[1])
        unit[torch.from_numpy(tagged)] = torch.nn.functional.normalize(vectors, dim=1)
        member = torch.zeros(matrix.shape)
        member[torch.from_numpy(tagged)] = torch.from_numpy(matrix[tagged].astype(np.float32))
        self.memory_ = (unit, member.t() @ unit, member.sum(dim=0))

    def loss(self, h_a: torch.Tensor, h_b: torch.Tensor, tag_rows: torch.Tensor, h: torch.Tensor | None = None,
             index: torch.Tensor | None = None) -> torch.Tensor:
        """The tag terms of a step.

        Shape: h_a, h_b :math:`(B, d)` (the global batch's halves), tag_rows :math:`(B, n_{tags})`; h
        :math:`(2b, d)` and index :math:`(2b,)` (store rows): this process's rows, for the prototype term.
        """
        loss = self.weight * supervised_contrastive(h_a, h_b, tag_rows.to(h_a.device), TAG_TEMPERATURE)
        if self.prototype_weight:
            if self.memory_ is None:
                raise RuntimeError("TagTeaching.refresh must run before a loss with a prototype term")
            unit, sums, counts = self.memory_
            index = index.cpu()
            rows = torch.from_numpy(self.tags.matrix[index.numpy()])
            loss = loss + self.prototype_weight * prototype_loss(h, rows, sums, counts, unit[index], TAG_TEMPERATURE)
        return loss
