"""Where this process stands under ``torchrun``: rank, world size, local rank, and joining the group.

Training (DistributedDataParallel) and extraction (videos shared across ranks) both run under
``torchrun --nproc_per_node=N -m mmx_core ...``; without torchrun they see one process of one.
NCCL on GPUs, gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from mmx_core.base.devices import cuda_available

__all__ = ["ProcessGroup", "join_process_group", "leave_process_group"]


@dataclass
class ProcessGroup:
    """This process's place in the torchrun group (one process of one without torchrun)."""

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

    @property
    def gpu_index(self) -> int | None:
        """This process's GPU under torchrun (its local rank); None in a single process."""
        return self.local_rank if self.active else None

    def mine(self, n: int) -> list[int]:
        """The positions of ``n`` work items this rank takes (``rank`` modulo ``world_size``)."""
        return list(range(self.rank, n, self.world_size))

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def any_failed(self, failed: bool) -> bool:
        """True on every rank when ``failed`` is true on any rank."""
        if not self.active:
            return failed
        import torch
        import torch.distributed as dist

        flag = torch.tensor([1 if failed else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


def join_process_group(requested_device: str, timeout: timedelta | None = None) -> ProcessGroup:
    """Join torchrun's process group when launched by torchrun; else a single-process group.

    ``timeout`` bounds collective calls (torch's default when None); long per-rank work before a
    barrier (extraction) asks for more."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return ProcessGroup()
    import torch
    import torch.distributed as dist

    group = ProcessGroup(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = requested_device != "cpu" and cuda_available()
        if use_cuda:
            torch.cuda.set_device(group.local_rank)
        extra = {"timeout": timeout} if timeout is not None else {}
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", **extra)
        group.initialised_here = True
    return group


def leave_process_group(group: ProcessGroup) -> None:
    """Leave the group when this process joined it."""
    if group.initialised_here:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
