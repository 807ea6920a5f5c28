"""Where a training run starts: the run's last checkpoint (``--resume``), ``--init`` weights, or a new model.

Each starting point is checked against the data set (genres, features, and for a resume the very same
data) before any training, so a mismatch stops with one line naming the checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from mmx_core.base.errors import MMXError
from mmx_core.data import TrailerStore
from mmx_core.model import ModelConfig
from mmx_core.train.checkpoint import check_compatible, read_checkpoint, resolve_checkpoint_path
from mmx_core.train.config import TrainConfig

__all__ = ["initial_state"]


def initial_state(config: TrainConfig, store: TrailerStore, out: Path,
                  last: Path) -> tuple[ModelConfig, dict | None, dict | None]:
    """``(model config, resume state or None, init state or None)`` of a run into ``out`` (``last``: its last.pt).

    Raises
    ------
    MMXError
        A new run into a folder holding checkpoints, ``--resume`` without one, model options or a stage other
        than the checkpoint's, a fine run without ``--init``, or a checkpoint that does not fit the data set.
    """
    if last.exists() and not config.resume:
        raise MMXError("run folder already holds checkpoints/last.pt; pass --resume to continue it or choose "
                       "another --out", out)
    if config.resume and not last.exists():
        raise MMXError("--resume but the run has no last checkpoint to continue from; drop --resume to start "
                       "a new run in another folder", last)
    init_state = None
    if config.resume or config.init is not None:
        source = last if config.resume else resolve_checkpoint_path(config.init)
        state = read_checkpoint(source)
        model_config = ModelConfig.from_dict(state["model_config"])
        if config.model is not None and config.model.to_dict() != model_config.to_dict():
            raise MMXError("--resume with model options other than the run's; drop them or choose another --out"
                           if config.resume else "model options differ from the --init checkpoint's; drop them", source)
        if config.resume and state["stage"] != config.stage:
            raise MMXError(f"the run was a {state['stage']} run, not {config.stage}", source)
        check_compatible(model_config, state["genres"], state["data_fingerprint"], store, source, need_same_data=True)
        if config.resume:
            return model_config, state, None
        init_state = state
    elif config.stage == "fine":
        raise MMXError("the fine stage starts from a coarse checkpoint: pass --init CHECKPOINT_OR_RUN")
    else:
        model_config = config.model or ModelConfig.for_store(store.manifest)
        model_config = ModelConfig.from_dict({**model_config.to_dict(), "n_genres": len(store.manifest.genres)})
    check_compatible(model_config, store.manifest.genres, None, store, None)
    return model_config.validate(), None, init_state
