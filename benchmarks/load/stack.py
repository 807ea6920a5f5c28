"""The served stack the load benchmark drives (nginx + Streamlit workers) and the workers' memory over time."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.harness import environ, project_folders
from benchmarks.load.scenario import PASSWORD
from mmx_core.serving.serve import served
from testing import streamlit_client as sc

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2                  # default --workers
SETTLE = 4.0                 # seconds to let the server finish sending and free memory before RSS is read


class Server:
    """The served stack (nginx + ``workers`` Streamlit workers, sign-in with :data:`PASSWORD`) with empty
    cache/data/runs folders; ``rss``/``cpu`` sum over the worker processes."""

    def __init__(self, workers: int = WORKERS):
        self.home = Path(tempfile.mkdtemp(prefix="mmx_bench_load_"))
        self._exit = contextlib.ExitStack()
        self._exit.callback(shutil.rmtree, self.home, ignore_errors=True)
        try:
            self._exit.enter_context(environ(project_folders(self.home)))  # the workers (and restarted ones) inherit it
            self.stack = self._exit.enter_context(served(workers, PASSWORD, run_dir=self.home / "run", root=ROOT))
        except BaseException:
            self._exit.close()
            raise
        self.url = self.stack.url

    @property
    def workers(self):
        return self.stack.workers

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self.stack.workers]

    def _sum(self, read) -> float:
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(OSError, sc.ProtocolError, IndexError, ValueError):   # one being restarted
                total += read(pid)
        return total

    def rss(self) -> float:
        return self._sum(sc.server_rss_mb)

    def cpu(self) -> float:
        return self._sum(sc.server_cpu_seconds)

    def stop(self) -> None:
        self._exit.close()


class RssSampler:
    """Samples the workers' RSS every ``every`` seconds in the event loop (``peak``, ``samples``)."""

    def __init__(self, server: Server, every: float = 0.5):
        self.server, self.every = server, every
        self.samples: list[tuple[float, float]] = []
        self._task: asyncio.Task | None = None

    async def _loop(self) -> None:
        start = time.perf_counter()
        while True:
            self.samples.append((time.perf_counter() - start, self.server.rss()))
            await asyncio.sleep(self.every)

    def __enter__(self) -> "RssSampler":
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc) -> None:
        self._task.cancel()

    @property
    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=float("nan"))


async def until(predicate, seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while not predicate() and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)


def healthy(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False
