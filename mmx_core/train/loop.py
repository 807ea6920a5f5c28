"""The training loop of both stages: train(TrainConfig) -> run folder.

One epoch = shuffled full global batches of training trailers (coarse: a random
sample of sequences per trailer; fine: two disjoint random halves), then a
validation pass, then ``checkpoints/best.pt`` when the validation metric improved and
``last.pt`` last of all (the epoch counts as done once it is written). Every random
choice is seeded by (seed, epoch), so a run resumed from ``last.pt`` repeats exactly
what an unbroken run does, wherever the previous process died.

A fine run given tags (``TrainConfig.tags``) reads them before any training and adds their batches and terms
(:class:`~mmx_core.train.tags.TagTeaching`) to NT-Xent; without tags none of that code runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from mmx_core.base.artefacts import write_json
from mmx_core.base.devices import autocast_for, resolve_device, resolve_precision
from mmx_core.data import BatchBuffers, TrailerStore
from mmx_core.base.errors import MMXError
from mmx_core.base.processgroup import ProcessGroup, join_process_group, leave_process_group
from mmx_core.base.locks import folder_lock
from mmx_core.base.outputs import RUN, check_output
from mmx_core.train import distributed
from mmx_core.train.build import build_run
from mmx_core.train.inference import read_dtype, to_device
from mmx_core.train.checkpoint import FORMAT, FORMAT_VERSION, save_checkpoint
from mmx_core.train.config import TrainConfig
from mmx_core.train.events import RunRecorder
from mmx_core.train.losses import coarse_loss, nt_xent
from mmx_core.train.sampling import TrailerSequences, epoch_batches, tag_batches
from mmx_core.train.tags import TagTeaching, load_trailer_tags
from mmx_core.train.validation import coarse_validation, fine_validation

__all__ = ["train"]

log = logging.getLogger(__name__)


def train(config: TrainConfig) -> Path:
    """Train one stage; returns the run folder (see docs/interfaces.md for its contents)."""
    config.validate()
    check_output(config.out, RUN, inputs=(config.data,), reads=(config.init, config.tags))  # before any work
    info = join_process_group(config.device)
    try:
        return _Trainer(config, info).run()
    finally:
        leave_process_group(info)


class _Trainer:
    def __init__(self, config: TrainConfig, info: ProcessGroup) -> None:
        self.config, self.info = config, info
        self.out = Path(config.out)
        self.last, self.best = self.out / "checkpoints" / "last.pt", self.out / "checkpoints" / "best.pt"
        self.store = TrailerStore.open(config.data)
        self.device = resolve_device(config.device, info.gpu_index)
        self.autocast = resolve_precision(config.precision, self.device)  # (dtype or None, reason)
        self.buffers, self.read_dtype = BatchBuffers(), read_dtype(self.store, self.device)  # batches reuse memory
        self.recorder = RunRecorder(self.out, config.stage, config.epochs, enabled=info.is_main)
        self.metric_name = "auprc_weighted" if config.stage == "coarse" else "val_loss"
        # read and checked before the run folder exists: a refused tags file leaves nothing behind
        self.tags = None if config.tags is None else load_trailer_tags(config.tags, self.store)
        self.teaching = None if self.tags is None else TagTeaching(self.tags, config.tag_weight, config.tag_prototype_weight)

    # ------------------------------------------------------------------ set-up
    def _build(self):
        built = build_run(self.config, self.store, self.out, self.last, self.device, self.autocast, self.tags)
        self.model_config, self.model, self.optimiser, self.scaler, self.progress = built
        self.ddp = self.model
        if self.info.active:
            from torch.nn.parallel import DistributedDataParallel

            self.ddp = DistributedDataParallel(self.model,
                                               device_ids=[self.device.index] if self.device.type == "cuda" else None)

    # ------------------------------------------------------------------ one step
    def _loss(self, batch: dict, tag_rows: torch.Tensor | None = None) -> torch.Tensor:
        """The step's loss; ``tag_rows`` (``--tags`` runs): the tag matrix rows of the global batch."""
        with autocast_for(self.device, self.autocast.dtype):
            if self.config.stage == "coarse":
                return coarse_loss(self.ddp(batch["batch"], head="coarse"), batch["labels"])
            if tag_rows is not None:  # the tag terms on the bottleneck (the embedding the app maps) + NT-Xent
                h = self.ddp(batch["batch"], head="embed")
                halves = [*h.chunk(2), *self.model.projection_head(h).chunk(2)]  # h_a, h_b, z_a, z_b
                if self.info.active:
                    halves = [distributed.all_gather_with_grad(t) for t in halves]
                tag_term = self.teaching.loss(halves[0], halves[1], tag_rows, h, batch["index"])
                return nt_xent(halves[2], halves[3], self.config.temperature) + tag_term
            z = self.ddp(batch["batch"], head="projection")
            z_a, z_b = z.chunk(2)
            if self.info.active:
                z_a, z_b = distributed.all_gather_with_grad(z_a), distributed.all_gather_with_grad(z_b)
            return nt_xent(z_a, z_b, self.config.temperature)

    def _collate(self, dataset: TrailerSequences, positions) -> dict:
        # fine: one forward over both halves: rows 0..B-1 are halves A, rows B..2B-1 halves B
        return dataset.batch(positions, join_pairs=self.config.stage == "fine", dtype=self.read_dtype,
                             buffers=self.buffers)

    def _dataset(self, split: str, epoch_seed: int | None = None) -> TrailerSequences:
        mode = "sample" if self.config.stage == "coarse" else "pairs"
        n = self.model_config.train_sequences  # per trailer (coarse) or per half (fine)
        seed = self.config.seed if epoch_seed is None else epoch_seed
        return TrailerSequences(self.store, self.store.split_indices(split), mode, n, seed)

    # ------------------------------------------------------------------ the run
    def run(self) -> Path:
        """Train under the run folder's writer lock (a second trainer on the same folder is refused)."""
        self.out.mkdir(parents=True, exist_ok=True)
        with folder_lock(self.out, "run folder") if self.info.is_main else contextlib.nullcontext():
            return self._run()

    def _run(self) -> Path:
        status = self.out / "status.json"
        fresh = not status.exists() or '"queued"' in status.read_text(errors="replace")  # new, or queued for us
        try:
            self._build()
        except MMXError as exc:
            if fresh:  # a refused command never touches an existing run's files
                self.recorder.failed(str(exc))
            raise
        config, info = self.config, self.info
        if info.is_main:
            write_json(self.out / "config.json", {
                "train": config.to_dict(), "model": self.model_config.to_dict(), "genres": self.store.manifest.genres,
                "data_fingerprint": self.store.fingerprint, "precision": self.autocast.record(config.precision),
                **({} if self.tags is None else {"tags": self.tags.summary()})})
        train_set, val_rows = self._dataset("train"), self.store.split_indices("val")
        self.steps_per_epoch = len(epoch_batches(len(train_set), config.batch_size, info.world_size, config.seed, 0))
        self.total_steps = self.steps_per_epoch * config.epochs
        start_epoch = int(self.progress["epoch"])
        message = f"resumed after epoch {start_epoch}" if start_epoch else "started"
        log.info("training in %s", self.autocast.reason)
        self.recorder.event("start", epoch=start_epoch, step=start_epoch * self.steps_per_epoch,
                            total_steps=self.total_steps, message=message)
        self.recorder.status("running", epoch=start_epoch, message=message,
                             best_checkpoint=str(self.best) if self.best.exists() else None)
        self.started = time.perf_counter()
        self.steps_done_here = 0
        try:
            already_stopped = 0 < config.patience <= self.progress["bad_epochs"]  # an early-stopped run stays stopped
            for epoch in range(start_epoch + 1, config.epochs + 1 if not already_stopped else start_epoch + 1):
                train_loss = self._train_epoch(train_set, epoch)
                if self._end_epoch(epoch, train_loss, self._validate(val_rows, train_loss)):
                    break
        except BaseException as exc:
            self.recorder.failed(str(exc) if isinstance(exc, MMXError) else f"{type(exc).__name__}: {exc}")
            raise
        message = f"best {self.metric_name} {self.progress['best_metric']:.4f} at epoch {self.progress['best_epoch']}"
        self.recorder.event("end", epoch=self.progress["epoch"], step=self.progress["epoch"] * self.steps_per_epoch,
                            total_steps=self.total_steps, message=message)
        self.recorder.status("finished", progress=1.0, eta_s=0.0, message=message, best_checkpoint=str(self.best))
        return self.out

    def _train_epoch(self, train_set: TrailerSequences, epoch: int) -> float:
        config, info = self.config, self.info
        torch.manual_seed(config.seed * 100_003 + epoch)  # dropout: the same on resume
        train_set.set_epoch(epoch)
        self.ddp.train()
        losses = []
        batches = epoch_batches(len(train_set), config.batch_size, info.world_size, config.seed, epoch)
        if self.tags is not None:
            batches = tag_batches(batches, self.teaching.groups, config.seed, epoch)
            self.teaching.refresh(self.model, self.store, config.batch_size, self.device, self.buffers)
        for step, rows in enumerate(batches, start=1):
            tick = time.perf_counter()
            local = rows.reshape(info.world_size, -1)[info.rank]
            batch = to_device(self._collate(train_set, local), self.device)
            # a --tags run: every process holds the global batch's tag rows (the halves are gathered in rank order)
            loss = self._loss(batch) if self.tags is None else self._loss(batch, self.teaching.rows(rows))
            if not torch.isfinite(loss.detach()).all():
                kept = f"the last good checkpoint {self.last} was kept" if self.last.exists() else "no checkpoint was written"
                raise MMXError(f"training loss became {loss.item()} at epoch {epoch}, step {step}; {kept}. Lower the "
                               "learning rate or check the data set for NaN/Inf features, then start again", self.out)
            self.optimiser.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimiser)
            self.scaler.update()
            losses.append(float(loss.detach()))
            self.steps_done_here += 1
            if step % config.log_every == 0 or step == len(batches):
                self._step_event(epoch, step, len(rows), losses[-1], time.perf_counter() - tick)
        return distributed.mean_over_ranks(float(np.mean(losses)), info)

    def _step_event(self, epoch: int, step: int, batch_trailers: int, loss: float, seconds: float) -> None:
        global_step = (epoch - 1) * self.steps_per_epoch + step
        eta = self._eta(global_step)
        self.recorder.event("step", epoch=epoch, step=global_step, total_steps=self.total_steps, loss=loss,
                            lr=self.optimiser.param_groups[0]["lr"],
                            trailers_per_s=batch_trailers / max(seconds, 1e-9), eta_s=eta)
        self.recorder.status("running", epoch=epoch, progress=global_step / self.total_steps, eta_s=eta)

    def _eta(self, global_step: int) -> float:
        """Seconds left after ``global_step``, at this process's mean time per step so far."""
        elapsed = time.perf_counter() - self.started
        return elapsed / max(self.steps_done_here, 1) * (self.total_steps - global_step)

    def _validate(self, val_rows: np.ndarray, train_loss: float) -> dict:
        if len(val_rows) == 0:
            log.warning("the data set has no validation trailers; early stopping follows the training loss")
            return {"val_loss": train_loss, "auprc_weighted": -train_loss}
        if self.config.stage == "coarse":
            return coarse_validation(self.model, self.store, val_rows, self.config.batch_size, self.device,
                                     self.buffers, dtype=self.autocast.dtype)
        val_set = self._dataset("val", epoch_seed=self.config.seed + 1)  # the same pairs every epoch
        return fine_validation(self.model, val_set, self._collate, self.config.batch_size, self.config.temperature,
                               self.device, dtype=self.autocast.dtype)

    def _end_epoch(self, epoch: int, train_loss: float, val: dict) -> bool:
        p = self.progress
        metric = val[self.metric_name] if self.metric_name in val else val["val_loss"]
        # patience 0 is a fixed budget: no early stopping, the kept checkpoint is the last epoch
        better = self.config.patience == 0 or math.isfinite(metric) and (p["best_metric"] is None or (
            metric > p["best_metric"] if self.config.stage == "coarse" else metric < p["best_metric"]))
        p["epoch"] = epoch
        p["history"].append({"epoch": epoch, "train_loss": train_loss, **val})
        if better:
            p.update(best_metric=float(metric), best_epoch=epoch, bad_epochs=0)
        else:
            p["bad_epochs"] += 1
        stop = 0 < self.config.patience <= p["bad_epochs"]
        if self.info.is_main:  # last.pt is written last: a run killed between the two redoes this epoch on resume
            state = self._state(epoch)
            if better:
                save_checkpoint(self.best, state)
            save_checkpoint(self.last, state)
        self.info.barrier()
        eta = self._eta(epoch * self.steps_per_epoch)
        message = f"epoch {epoch}: train loss {train_loss:.4f}, {self.metric_name} {metric:.4f}"
        if stop:
            message += f"; early stop ({self.config.patience} epochs without improvement)"
        log.info(message)
        self.recorder.event("epoch", epoch=epoch, step=epoch * self.steps_per_epoch, total_steps=self.total_steps,
                            loss=train_loss, lr=self.optimiser.param_groups[0]["lr"], val=val, eta_s=eta,
                            message=message)
        self.recorder.status("running", epoch=epoch, progress=epoch / self.config.epochs, eta_s=eta, message=message,
                             best_checkpoint=str(self.best) if self.best.exists() else None)
        return stop

    def _state(self, epoch: int) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "stage": self.config.stage, "epoch": epoch,
            "train_config": self.config.to_dict(), "model_config": self.model_config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimiser": self.optimiser.state_dict(), "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "genres": list(self.store.manifest.genres), "data_fingerprint": self.store.fingerprint,
            "generated": bool(self.store.manifest.generated), "metric_name": self.metric_name,
            "best_metric": self.progress["best_metric"], "best_epoch": self.progress["best_epoch"],
            "bad_epochs": self.progress["bad_epochs"], "history": self.progress["history"], "rng": rng,
            **({} if self.tags is None else {"tags": self.tags.summary()}),
        }
