"""Decoding worker processes feeding the experts through one bounded queue.

:class:`DecoderPool` starts ``workers`` processes (spawned: they import no
torch) that take videos from a task queue and send each message of
:func:`~mmx_core.extract.decode.decode_video` back through a result queue of
at most :data:`QUEUE_CLIPS` messages, so decoding runs ahead of inference by a
bounded number of clips. With ``workers=0`` the same messages are produced
lazily in the calling process.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from pathlib import Path
from typing import Any

from mmx_core.base.errors import MMXError
from mmx_core.extract.decode import DecodeSpec, decode_messages, decode_worker

__all__ = ["DecoderPool", "QUEUE_CLIPS"]

QUEUE_CLIPS = 32  # messages (about one clip each) in flight between the decoders and the experts


class DecoderPool:
    """Messages ``(video index, kind, payload)`` from the decoders of ``jobs``.

    Parameters
    ----------
    jobs : list of (int, Path)
        Video index and file, in the order they are handed out.
    spec : DecodeSpec
    workers : int
        Decoding processes (0: decode in this process, lazily).
    """

    def __init__(self, jobs: list[tuple[int, Path]], spec: DecodeSpec, workers: int):
        self.workers = min(int(workers), len(jobs))
        self._procs: list = []
        if self.workers > 0:
            ctx = mp.get_context("spawn")
            self._tasks = ctx.Queue()
            self._results = ctx.Queue(maxsize=QUEUE_CLIPS)
            for task in [(index, str(path)) for index, path in jobs] + [None] * self.workers:
                self._tasks.put(task)
            for _ in range(self.workers):
                proc = ctx.Process(target=decode_worker, args=(self._tasks, self._results, spec), daemon=True)
                proc.start()
                self._procs.append(proc)
            self._alive = self.workers
        else:
            self._inline = (m for index, path in jobs for m in decode_messages(index, path, spec))

    def get(self, timeout: float | None) -> tuple[int, str, Any] | None:
        """The next message; None when every decoder is done.

        Raises
        ------
        queue.Empty
            After ``timeout`` seconds without a message (never with ``workers=0``).
        MMXError
            Every decoding process died without finishing.
        """
        if self.workers == 0:
            return next(self._inline, None)
        while self._alive:
            try:
                message = self._results.get(timeout=timeout if timeout is not None else 5.0)
            except queue.Empty:
                if timeout is not None:
                    raise
                if not any(p.is_alive() for p in self._procs):
                    raise MMXError("a decoding worker died unexpectedly; run again with --resume") from None
                continue
            if message is None:
                self._alive -= 1
                continue
            return message
        return None

    def close(self) -> None:
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
