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
    resume_state = None
    if last.exists() and not config.resume:
        raise MMXError("run folder already holds checkpoints/last.pt; pass --resume to continue it or choose "
                       "another --out", out)
    if config.resume and not last.exists():
        raise MMXError("--resume but the run has no last checkpoint to continue from; drop --resume to start "
                       "a new run in another folder", last)
    if config.resume:
        resume_state = read_checkpoint(last)
        model_config = ModelConfig.from_dict(resume_state["model_config"])
        if config.model is not None and config.model.to_dict() != model_config.to_dict():
            raise MMXError("--resume with model options other than the run's; drop them or choose another --out",
                           last)
        if resume_state["stage"] != config.stage:
            raise MMXError(f"the run was a {resume_state['stage']} run, not {config.stage}", last)
        check_compatible(model_config, resume_state["genres"], resume_state["data_fingerprint"], store, last,
                         need_same_data=True)
        return model_config, resume_state, None
    init_state = None
    if config.init is not None:
        init_path = resolve_checkpoint_path(config.init)
        init_state = read_checkpoint(init_path)
        model_config = ModelConfig.from_dict(init_state["model_config"])
        if config.model is not None and config.model.to_dict() != model_config.to_dict():
            raise MMXError("model options differ from the --init checkpoint's; drop them", init_path)
        check_compatible(model_config, init_state["genres"], init_state["data_fingerprint"], store, init_path,
                         need_same_data=True)
    elif config.stage == "fine":
        raise MMXError("the fine stage starts from a coarse checkpoint: pass --init CHECKPOINT_OR_RUN")
    else:
        model_config = config.model or ModelConfig.for_store(store.manifest)
        model_config = ModelConfig.from_dict({**model_config.to_dict(), "n_genres": len(store.manifest.genres)})
    check_compatible(model_config, store.manifest.genres, None, store, None)
    return model_config.validate(), resume_state, init_state
