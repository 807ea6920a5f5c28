"""Sharding videos across torchrun ranks (gloo on CPU, NCCL on GPUs).

Under ``torchrun --nproc_per_node=N -m mmx_core extract ...`` each rank
extracts the videos whose position in the sorted list is ``rank`` modulo
``world_size`` into the shared work folder; after a barrier rank 0 assembles
the data set in the global order, so the result equals a one-process run.
Several machines work the same way through torchrun's rendezvous, with the
output folder on a file system all of them see.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch

from mmx_core.base.errors import MMXError

__all__ = ["Shard", "join", "leave", "pick_device"]


@dataclass
class Shard:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialised_here: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mine(self, n: int) -> list[int]:
        """Indices of the ``n`` videos this rank extracts."""
        return list(range(self.rank, n, self.world_size))

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def any_failed(self, failed: bool) -> bool:
        """True on every rank when ``failed`` is true on any rank."""
        if not self.active:
            return failed
        import torch.distributed as dist

        flag = torch.tensor([1 if failed else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


def pick_device(requested: str, shard: Shard) -> torch.device:
    """``auto``: CUDA when available (one GPU per local rank), else CPU."""
    if requested not in ("auto", "cpu", "cuda"):
        raise MMXError(f"--device {requested!r} is not one of auto, cpu, cuda")
    if requested == "cuda" and not torch.cuda.is_available():
        raise MMXError("--device cuda but no CUDA GPU is available to torch; use --device cpu or auto")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", shard.local_rank if shard.active else torch.cuda.current_device())


def join(requested_device: str) -> Shard:
    """Join torchrun's process group when launched by torchrun; else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Shard()
    import torch.distributed as dist

    shard = Shard(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = requested_device != "cpu" and torch.cuda.is_available()
        if use_cuda:
            torch.cuda.set_device(shard.local_rank)
        # extraction of one rank's share can take hours: a long timeout for the final barrier
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", timeout=timedelta(hours=48))
        shard.initialised_here = True
    return shard


def leave(shard: Shard) -> None:
    if shard.initialised_here:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
