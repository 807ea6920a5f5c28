"""Do tags teach the fine stage? Plain fine stage against fine with ``--tags`` on a planted data set.

A person tags a few trailers of each sub-genre they recognise; the question is whether the fine stage, taught
by those tags (:func:`mmx_core.train.losses.supervised_contrastive`), then places the *untagged* trailers of
the same sub-genres closer together. On a generated ``planted`` set every trailer has a ground-truth
``subgenre``: :func:`plant_tags` tags a share of each sub-genre's training trailers with the sub-genre's name
(what a person would do), :func:`run_tag_experiment` trains the fine stage twice from the same coarse run
(without and with the tags, same seed and budget) and scores sub-genre precision@k among the trailers left
untagged (:func:`untagged_precision`, neighbours searched among untagged trailers only, so a tagged trailer
can neither help nor hurt the score). ``python -m benchmarks tags`` runs it on held-out data seeds; the
tests run it at a small size.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mmx_core.annotations.table import Row, table_text
from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError
from mmx_core.studies.subgenre_metrics import chance_precision_at_k, planted_subgenres, precision_at_k

__all__ = ["TAG_SHARE", "plant_tags", "write_tags_csv", "untagged_precision", "TagExperiment", "run_tag_experiment"]

log = logging.getLogger(__name__)

TAG_SHARE = 0.10
"""Share of each planted sub-genre's training trailers that :func:`plant_tags` tags (issue 19's measure)."""


def plant_tags(store, share: float = TAG_SHARE, seed: int = 0) -> dict[str, str]:
    """Trailer id -> its sub-genre's name, for ``round(share * n)`` random training trailers of each sub-genre.

    Parameters
    ----------
    store : TrailerStore
        A planted data set (it has a ``subgenre`` column).
    share : float
        In (0, 1].
    seed : int
        Which trailers are tagged.
    """
    if not 0 < share <= 1:
        raise MMXError(f"share={share!r} must be in (0, 1]")
    subgenres, ids = planted_subgenres(store).astype(str), store.trailers["id"].astype(str).to_numpy()
    train = np.asarray(store.split_indices("train"), dtype=np.int64)
    rng = np.random.default_rng([seed, 19])
    tags = {}
    for name in sorted(set(subgenres[train])):
        members = train[subgenres[train] == name]
        for row in rng.permutation(members)[:int(round(share * len(members)))]:
            tags[ids[row]] = name
    return tags


def write_tags_csv(path: str | Path, tags: dict[str, str]) -> Path:
    """Write ``tags`` (id -> tag) as an annotations CSV, the file ``train --tags`` reads."""
    path = Path(path)
    with atomic_write(path, "w") as handle:
        handle.write(table_text([Row(trailer, tag) for trailer, tag in sorted(tags.items())]))
    return path


def untagged_precision(store, run, tagged: set[str] | dict, k: int = 10, device: str = "cpu") -> dict[str, float]:
    """Sub-genre precision@k of run ``run``'s embedding among the trailers not in ``tagged``.

    Returns
    -------
    dict
        "all": over every untagged trailer (all splits, neighbours among them); "test": over the test
        split's trailers (never trained on); "chance": the chance level of "all".
    """
    from mmx_core.train import embed_store, load_checkpoint

    _, vectors = embed_store(store, load_checkpoint(run), device=device)  # in store order
    subgenres, all_ids = planted_subgenres(store).astype(str), store.trailers["id"].astype(str).to_numpy()
    untagged = np.flatnonzero(~np.isin(all_ids, list(tagged)))
    test = np.asarray(store.split_indices("test"), dtype=np.int64)
    return {"all": precision_at_k(vectors[untagged], subgenres[untagged], k),
            "test": precision_at_k(vectors[test], subgenres[test], k),
            "chance": chance_precision_at_k(subgenres[untagged])}


@dataclass
class TagExperiment:
    """Plain fine stage against fine with tags, from one coarse run (one data set, one training seed)."""

    data: str
    seed: int
    tag_weight: float
    prototype_weight: float
    trailers_tagged: int
    trailers_untagged: int
    plain: dict = field(default_factory=dict)  # untagged_precision of the plain fine run
    tagged: dict = field(default_factory=dict)  # ... of the fine run with tags

    @property
    def difference(self) -> float:
        """Tagged minus plain precision@k among all untagged trailers."""
        return self.tagged["all"] - self.plain["all"]

    def to_dict(self) -> dict:
        return {**asdict(self), "difference": self.difference}


def run_tag_experiment(data, coarse, out, *, tag_weight: float | None = None, prototype_weight: float | None = None,
                       seed: int = 0, epochs: int = 10,
                       batch_size: int = 64, lr: float = 1e-3, share: float = TAG_SHARE, k: int = 10,
                       plain_run=None, device: str = "cpu") -> TagExperiment:
    """Train the fine stage from ``coarse`` without and with planted tags into ``out``; score both.

    Parameters
    ----------
    data : path
        A planted data set.
    coarse : path
        Its coarse run (or checkpoint), the fine runs' ``--init``.
    out : path
        A new folder: ``tags.csv``, ``fine-plain/`` and ``fine-tags/``.
    tag_weight, prototype_weight : float, optional
        Defaults :data:`mmx_core.train.config.DEFAULT_TAG_WEIGHT` and
        :data:`mmx_core.train.config.DEFAULT_TAG_PROTOTYPE_WEIGHT`.
    seed : int
        Training seed of both fine runs (and which trailers are tagged).
    epochs, batch_size, lr
        The fine budget, the same for both runs.
    plain_run : path, optional
        A plain fine run already trained with these settings (a weight sweep trains it once).
    """
    from mmx_core.data import TrailerStore
    from mmx_core.train import TrainConfig, train

    store = TrailerStore.open(data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=False)
    tags = plant_tags(store, share, seed)
    tags_file = write_tags_csv(out / "tags.csv", tags)
    settings = dict(stage="fine", data=data, init=coarse, epochs=epochs, batch_size=batch_size, lr=lr, patience=0,
                    seed=seed, device=device)
    if plain_run is None:
        plain_run = train(TrainConfig(out=out / "fine-plain", **settings))
    extra = {key: value for key, value in (("tag_weight", tag_weight), ("tag_prototype_weight", prototype_weight))
             if value is not None}
    tagged_run = train(TrainConfig(out=out / "fine-tags", tags=tags_file, **extra, **settings))
    weight, prototype = TrainConfig(**extra).tag_weight, TrainConfig(**extra).tag_prototype_weight
    experiment = TagExperiment(str(data), seed, weight, prototype, len(tags), store.n_trailers - len(tags),
                               untagged_precision(store, plain_run, tags, k, device),
                               untagged_precision(store, tagged_run, tags, k, device))
    log.info("seed %d, weights %g, %g: precision@%d among untagged, plain %.3f, tags %.3f (%+.3f)", seed, weight,
             prototype, k, experiment.plain["all"], experiment.tagged["all"], experiment.difference)
    return experiment
