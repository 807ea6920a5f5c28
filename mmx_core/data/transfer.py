"""Send a batch from a DataLoader worker to the training process as one recycled shared-memory block.

Two costs dominate moving a batch between processes on this VM, and both are avoided here:

- torch sends each tensor of a worker's result through its own shared-memory file, and passing
  a file descriptor costs about a quarter of a millisecond; a batch has ten or more tensors.
  :func:`shareable` packs all of a batch's tensors into one block.
- fresh shared memory costs a page fault per 4 KiB page (about 2.7 us here, so 16 ms for a
  25 MB batch, three times the read itself). Each worker therefore keeps a few blocks and
  refills one only after the receiving process has let go of it: when a batch is unpacked in
  the receiver (:func:`_unpack`), the blocks of earlier batches whose memory the receiver no
  longer holds (all their tensors freed) are flagged free in a small shared array the worker
  reads. A worker with no free block takes fresh memory, so a receiver that keeps every batch
  still gets correct, independent batches.
"""

from __future__ import annotations

import os

import torch
from torch.multiprocessing.reductions import StorageWeakRef

__all__ = ["shareable"]

_ALIGN = 64       # bytes; every tensor starts on a cache line (and on its dtype's alignment)
_SLOTS = 6        # recycled blocks per worker: prefetched batches, the one in use, one not yet flagged
_GROWTH = 1.125   # a block that must grow takes some headroom, for batches of varying size


def shareable(batch: dict) -> "dict | _OneBlock":
    """``batch`` packed to travel as one shared-memory block when called in a DataLoader worker.

    Parameters
    ----------
    batch : dict
        Nested dicts whose leaves are CPU tensors or other picklable values.

    Returns
    -------
    dict or object
        ``batch`` itself outside a worker; in a worker, an object that unpickles as a dict equal
        to ``batch`` (same keys, dtypes, shapes and values), its tensors viewing one block.
    """
    if torch.utils.data.get_worker_info() is None:
        return batch
    tensors: list[torch.Tensor] = []
    spec = _spec(batch, tensors)
    placed, total = [], 0
    for tensor in tensors:
        placed.append((total, tensor.dtype, tuple(tensor.shape)))
        total += -(-tensor.numel() * tensor.element_size() // _ALIGN) * _ALIGN
    slot, block = _pool().block(max(total, 1))
    for tensor, where in zip(tensors, placed):
        _view(block, *where).copy_(tensor)
    return _OneBlock(block, spec, placed, _pool().flags if slot >= 0 else None, slot)


class _OneBlock:
    """A batch whose tensors live in one uint8 block; unpickles as the nested dict."""

    def __init__(self, block: torch.Tensor, spec, placed: list[tuple], flags: torch.Tensor | None, slot: int):
        self.block, self.spec, self.placed, self.flags, self.slot = block, spec, placed, flags, slot

    def __reduce__(self):
        return _unpack, (self.block, self.spec, self.placed, self.flags, self.slot)


class _BlockPool:
    """A worker's recycled shared blocks; ``flags[slot]`` is 1 while the receiver holds nothing of the block."""

    def __init__(self) -> None:
        self.flags = _shared(_SLOTS)
        self.flags.fill_(1)
        self.blocks: list[torch.Tensor | None] = [None] * _SLOTS

    def block(self, size: int) -> tuple[int, torch.Tensor]:
        """A free slot's block of at least ``size`` bytes (viewed to ``size``), or (-1, fresh memory)."""
        for slot in range(_SLOTS):
            if self.flags[slot]:
                held = self.blocks[slot]
                if held is None or held.numel() < size:
                    held = self.blocks[slot] = _shared(int(size * _GROWTH))
                self.flags[slot] = 0
                return slot, held[:size]
        return -1, _shared(size)


_POOL: dict[int, _BlockPool] = {}                                      # by process id: one per worker
_LENT: list[tuple[StorageWeakRef, torch.Tensor, int]] = []             # receiver: blocks not yet flagged free


def _pool() -> _BlockPool:
    pid = os.getpid()
    if pid not in _POOL:
        _POOL.clear()  # a pool inherited from the parent through fork is not ours
        _POOL[pid] = _BlockPool()
    return _POOL[pid]


def _shared(size: int) -> torch.Tensor:
    """A fresh uint8 tensor of ``size`` bytes in shared memory."""
    return torch.empty((0,), dtype=torch.uint8).set_(torch.UntypedStorage._new_shared(size), 0, (size,))


def _spec(value, tensors: list[torch.Tensor]):
    """The structure of ``value`` with each tensor replaced by ``("tensor", i)`` (i into ``tensors``)."""
    if isinstance(value, dict):
        return {key: _spec(item, tensors) for key, item in value.items()}
    if isinstance(value, torch.Tensor):
        tensors.append(value)
        return ("tensor", len(tensors) - 1)
    return ("value", value)


def _unpack(block: torch.Tensor, spec, placed: list[tuple], flags: torch.Tensor | None, slot: int):
    """Receiver side: flag free the blocks no longer held, then rebuild the batch over ``block``."""
    still_lent = []
    for storage, lender_flags, lent_slot in _LENT:
        if storage.expired():
            lender_flags[lent_slot] = 1
        else:
            still_lent.append((storage, lender_flags, lent_slot))
    if flags is not None:
        still_lent.append((StorageWeakRef(block.untyped_storage()), flags, slot))
    _LENT[:] = still_lent
    return _rebuild(block, spec, placed)


def _rebuild(block: torch.Tensor, spec, placed: list[tuple]):
    if isinstance(spec, dict):
        return {key: _rebuild(block, item, placed) for key, item in spec.items()}
    kind, value = spec
    return _view(block, *placed[value]) if kind == "tensor" else value


def _view(block: torch.Tensor, offset: int, dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
    size = torch.Size(shape).numel() * torch.empty((), dtype=dtype).element_size()
    return block[offset:offset + size].view(dtype).view(shape)
