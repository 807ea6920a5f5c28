"""Streamlit workers: ``streamlit run`` on a loopback port, health-checked, stopped with their process group.

The benchmarks and the browser test start single servers with the same functions.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

__all__ = ["free_port", "start_server", "wait_healthy", "stop_server", "HEALTH_PATH"]

HEALTH_PATH = "/_stcore/health"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(script: Path, port: int, cwd: Path, env: dict | None = None, log: Path | None = None,
                 extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """``streamlit run SCRIPT`` on 127.0.0.1:PORT, headless, in its own process group."""
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", *extra]
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(command, cwd=cwd, env=dict(os.environ, **(env or {})), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log:
            out.close()


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60.0, *, path: str = HEALTH_PATH,
                 context: ssl.SSLContext | None = None) -> float:
    """Wait until ``URL + path`` answers 200 (``process`` still running); returns the seconds waited.

    Raises
    ------
    RuntimeError
        ``process`` exited first.
    TimeoutError
        No answer within ``seconds``.
    """
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if process.poll() is not None:
            raise RuntimeError(f"the server process exited with code {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(url + path, timeout=2, context=context) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:  # not listening yet (ssl.SSLError is one too)
            time.sleep(0.2)
    raise TimeoutError(f"{url} was not healthy after {seconds:.0f} s")


def stop_server(process: subprocess.Popen, seconds: float = 20.0, first: int = signal.SIGTERM) -> None:
    """Send ``first`` (SIGTERM; nginx takes SIGQUIT, its graceful stop) to the process group that
    :func:`start_server` (or any ``start_new_session`` start) made, then SIGKILL if needed; no child is left."""
    if process.poll() is None:
        _kill_group(process.pid, first)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid, signal.SIGKILL)
            process.wait(timeout=seconds)
    _kill_group(process.pid, signal.SIGKILL)   # the leader is gone; leave no child behind


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
