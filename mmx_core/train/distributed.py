"""DistributedDataParallel set-up: the same command under ``torchrun --nproc_per_node=N``.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; then every process joins one
process group (NCCL on GPUs, gloo on CPU) and takes an equal slice of each
global batch. Without those variables everything runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from mmx_core.base.devices import cuda_available

__all__ = ["DistInfo", "setup", "teardown", "all_gather_with_grad", "mean_over_ranks"]


@dataclass
class DistInfo:
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
        """This process's GPU under DDP (its local rank); None in a single process."""
        return self.local_rank if self.active else None


def setup(requested_device: str) -> DistInfo:
    """Join the torchrun process group when launched by torchrun; else a single-process DistInfo."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = requested_device != "cpu" and cuda_available()
        if use_cuda:
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        info.initialised_here = True
    return info


def teardown(info: DistInfo) -> None:
    if info.initialised_here and dist.is_initialized():
        dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0; backward sums the gradients of all ranks and keeps this rank's rows.

    Every rank computes the same loss over the gathered rows, so the summed
    gradient is ``world_size`` times the loss gradient of this rank's rows, which
    DDP's averaging of parameter gradients divides back out.
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.world = dist.get_rank(), dist.get_world_size()
        parts = [torch.empty_like(tensor) for _ in range(ctx.world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad.chunk(ctx.world, dim=0)[ctx.rank]


def all_gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` (equal shapes on every rank) along dim 0, differentiably."""
    return _GatherWithGrad.apply(tensor)


def mean_over_ranks(value: float, info: DistInfo) -> float:
    """Average a Python number over the DDP processes (itself when single-process)."""
    if not info.active:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor)
    return float(tensor.item()) / info.world_size
