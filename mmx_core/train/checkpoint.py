"""Checkpoints: one dict of tensors and plain values, written atomically.

A checkpoint holds the epoch, the train and model configs, the model and
optimiser state dicts, the genre vocabulary, the data fingerprint, the best
metric so far and the RNG states. Only tensors, numbers, strings, lists, dicts
and None go in, so :func:`torch.load` with ``weights_only=True`` reads it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from mmx_core.base.artefacts import atomic_write
from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import regular_file
from mmx_core.model import MMXModel, ModelConfig

__all__ = ["Checkpoint", "save_checkpoint", "read_checkpoint", "load_checkpoint", "resolve_checkpoint_path",
           "run_checkpoint", "check_compatible", "FORMAT"]

FORMAT = "mmx-checkpoint"
FORMAT_VERSION = 1
REQUIRED = ("format", "version", "stage", "epoch", "model_config", "model", "genres", "data_fingerprint")


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, CPU) and what it was trained on.

    Attributes
    ----------
    model : MMXModel
    config : ModelConfig
    genres : list of str
        Column j of the coarse head's logits is ``genres[j]``.
    data_fingerprint : str
        :attr:`TrailerStore.fingerprint` of the training data.
    epoch : int
        Completed epochs.
    stage : {"coarse", "fine"}
    best_metric : float or None
        Best validation metric and its name ``metric_name``.
    path : Path
    state : dict
        The raw checkpoint dict (optimiser state, history, RNG states, ...).
    """

    model: MMXModel
    config: ModelConfig
    genres: list[str]
    data_fingerprint: str
    epoch: int
    stage: str
    best_metric: float | None
    metric_name: str
    path: Path
    state: dict[str, Any] = field(repr=False, default_factory=dict)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (a crash leaves the previous file intact); equal states give equal bytes."""
    assert all(key in state for key in REQUIRED), sorted(set(REQUIRED) - set(state))
    buffer = io.BytesIO()  # not torch.save(path): the archive would be named after the temporary file
    torch.save(state, buffer)
    with atomic_write(path) as handle:
        handle.write(buffer.getbuffer())
    return Path(path)


def resolve_checkpoint_path(path_or_run: str | Path) -> Path:
    """A checkpoint file, or a run folder meaning its ``checkpoints/best.pt``."""
    path = Path(path_or_run)
    if path.is_dir():
        best = path / "checkpoints" / "best.pt"
        if best.exists():
            return best
        hint = " (it has checkpoints/last.pt: pass that file to use it)" if (path / "checkpoints" / "last.pt").exists() else ""
        raise MMXError(f"run folder has no checkpoints/best.pt{hint}; pass a checkpoint file or a finished run", path)
    if not path.exists():
        raise MMXError("checkpoint not found; pass a .pt file or a run folder", path)
    return path


def run_checkpoint(run_dir: str | Path, present: Iterable[str] | None = None) -> Path:
    """A run folder's best checkpoint, else its last one (a run that has not written a best yet).

    Unlike :func:`resolve_checkpoint_path` this does not check that the file exists. ``present``: the
    names in the run's ``checkpoints/`` folder when the caller has listed it (one listing instead of a
    look-up per name, for the catalogue of many runs).
    """
    folder = Path(run_dir) / "checkpoints"
    has_best = "best.pt" in present if present is not None else (folder / "best.pt").exists()
    return folder / ("best.pt" if has_best else "last.pt")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict; a corrupt or foreign file raises :class:`MMXError`."""
    path = regular_file(resolve_checkpoint_path(path), "checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged or foreign file
        raise MMXError(f"cannot read the checkpoint: it is corrupt, truncated or not a torch file ({type(exc).__name__}); "
                       "use another checkpoint or retrain", path) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise MMXError(f"not an MMX checkpoint (no format={FORMAT!r} entry); pass a file written by "
                       "`python -m mmx_core train`", path)
    missing = [key for key in REQUIRED if key not in state]
    if missing:
        raise MMXError(f"incomplete checkpoint: missing {missing}; retrain", path)
    return state


def load_checkpoint(path_or_run: str | Path) -> Checkpoint:
    """Load a checkpoint file or a run folder's best checkpoint (see :func:`resolve_checkpoint_path`)."""
    path = resolve_checkpoint_path(path_or_run)
    state = read_checkpoint(path)
    try:
        config = ModelConfig.from_dict(state["model_config"]).validate()
        model = MMXModel(config)
        model.load_state_dict(state["model"])
    except (MMXError, RuntimeError, TypeError, KeyError, ValueError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise MMXError(f"the weights do not fit the model config stored beside them ({reason}); retrain",
                       path) from None
    model.eval()
    return Checkpoint(model=model, config=config, genres=list(state["genres"]), data_fingerprint=state["data_fingerprint"],
                      epoch=int(state["epoch"]), stage=state["stage"], best_metric=state.get("best_metric"),
                      metric_name=state.get("metric_name", ""), path=path, state=state)


def check_compatible(config: ModelConfig, genres: list[str], fingerprint: str | None, store, source: Path | None,
                     need_genres: bool = True, need_same_data: bool = False) -> None:
    """Raise :class:`MMXError` when a checkpoint cannot be used on ``store``.

    Checks that every expert of the model exists in the data set with the same
    dim, that clips per sequence agree, and optionally the genre vocabulary and
    the data fingerprint.
    """
    manifest = store.manifest
    for name in config.experts:
        if name not in manifest.experts:
            raise MMXError(f"the model reads expert {name!r} but the data set {store.path} has only "
                           f"{list(manifest.experts)}; use a model trained on this kind of data", source)
        if manifest.experts[name].dim != config.expert_dims[name]:
            raise MMXError(f"expert {name!r} has dim {config.expert_dims[name]} in the model but "
                           f"{manifest.experts[name].dim} in the data set {store.path}; other dims need another model",
                           source)
    if manifest.clips_per_sequence != config.clips_per_sequence:
        raise MMXError(f"the model expects {config.clips_per_sequence} clips per sequence, the data set {store.path} "
                       f"has {manifest.clips_per_sequence}", source)
    if need_genres and list(genres) != list(manifest.genres):
        raise MMXError(f"the checkpoint's genres {list(genres)} differ from the data set's {list(manifest.genres)} "
                       f"({store.path}); use a model trained on this genre vocabulary", source)
    if need_same_data and fingerprint != store.fingerprint:
        raise MMXError(f"the checkpoint was trained on other data (fingerprint {fingerprint}, data set {store.path} has "
                       f"{store.fingerprint}); resume only on the same data set, or start a new run folder", source)
