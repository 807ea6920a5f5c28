"""DistributedDataParallel set-up: the same command under ``torchrun --nproc_per_node=N``.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; then every process joins one
process group (NCCL on GPUs, gloo on CPU) and takes an equal slice of each
global batch. Without those variables everything runs in one process.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from mmx_core.base.processgroup import ProcessGroup

__all__ = ["all_gather_with_grad", "mean_over_ranks"]


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


def mean_over_ranks(value: float, info: ProcessGroup) -> float:
    """Average a Python number over the DDP processes (itself when single-process)."""
    if not info.active:
        return value
    tensor = torch.tensor([value], dtype=torch.float64)
    if dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor)
    return float(tensor.item()) / info.world_size
