"""Server load without browsers: N sessions at once drive the served stack (nginx + Streamlit workers).

The stack is :func:`mmx_core.serving.serve.served`: nginx in front of ``--workers`` ``streamlit run app.py``
processes, sticky by the sign-in cookie. Each session signs in once (:func:`~mmx_core.serving.serve.sign_in`,
its own cookie, so nginx's hash gives it its own worker) and then is a websocket client speaking Streamlit's
protobuf messages as the browser does (:mod:`testing.streamlit_client`), through the proxy: it opens Explore (the
default page), clicks a trailer (sends the selection the map's ``st.plotly_chart(key="map")`` produces for a
click on one point, which drives the trailer card and neighbour panel), then opens Compare. Measured, per N
sessions at once: client-side time from the rerun request to ``script_finished`` per script run (what the
server takes to run the script and send its messages, including waiting for the 2 cores it shares with the
other sessions, nginx and this client), errors (sign-in or connection failures, timeouts, exception elements,
``st.error`` alerts, a click without its neighbour panel), the workers' RSS growth per session (the sum over
the worker processes of ``/proc/<pid>/status``) and their CPU time. Then idle sessions (memory per session
with few running at once), a soak (sessions opening and closing for ``--soak-minutes``, RSS sampled) and one
worker killed mid-load (its sessions reconnect as a browser tab does; the time from the kill to each one's
first complete run). The same runs with 1 worker give the table beside.

The workers run with empty ``MMX_CACHE_DIR``, ``MMX_DATA_DIR`` and ``MMX_RUNS_DIR`` (temporary), so they show
the published set and the shipped coarse/fine sets with the shipped caches; one warm-up session per worker
count runs the scenario before anything is measured, and the idle phase that follows reaches every worker.
"""

from __future__ import annotations

import asyncio

from benchmarks.harness import Table
from benchmarks.load.kill import KILL_AFTER, KILL_SESSIONS, worker_kill
from benchmarks.load.phases import concurrent, idle_sessions, soak, warm_up
from benchmarks.load.stack import WORKERS, Server
from benchmarks.load.tables import load_tables


async def _phases(server: Server, sizes: tuple[int, ...], idle: tuple[int, int], soak_minutes: float,
                  loops: int, kill: tuple[int, float] | None) -> dict:
    results: dict = {"workers": len(server.workers), "start_rss": server.rss(), "warm": await warm_up(server, seed=0)}
    # idle sessions first: later phases leave freed heap that new sessions would reuse unseen
    results["idle"] = await idle_sessions(server, *idle, seed=99)
    results["concurrent"] = [await concurrent(server, n, seed=1 + i) for i, n in enumerate(sizes)]
    results["soak"] = await soak(server, soak_minutes, loops, seed=7) if soak_minutes > 0 else None
    results["kill"] = await worker_kill(server, *kill, seed=11) if kill else None
    return results


def _measure(workers: int, sizes: tuple[int, ...], idle: tuple[int, int], soak_minutes: float, loops: int,
             kill: tuple[int, float] | None) -> dict:
    """All phases on one stack of ``workers`` workers (started here, stopped after)."""
    server = Server(workers)
    try:
        return asyncio.run(_phases(server, sizes, idle, soak_minutes, loops, kill))
    finally:
        server.stop()


def run(quick: bool = False, soak_minutes: float | None = None, workers: int = WORKERS) -> list[Table]:
    """The load tables: everything through the proxy with ``workers`` workers (the goals' setting), and the
    script runs, idle and concurrent memory with 1 worker beside (no soak or kill there)."""
    sizes = (1, 5) if quick else (1, 20, 100, 300)
    idle = (10, 2) if quick else (100, 4)
    loops = 4 if quick else 5
    kill = (6, 10.0) if quick else (KILL_SESSIONS, KILL_AFTER)
    soak_minutes = (1.0 if quick else 30.0) if soak_minutes is None else soak_minutes
    results = {workers: _measure(workers, sizes, idle, soak_minutes, loops, kill)}
    if workers != 1:
        results[1] = _measure(1, sizes, idle, 0.0, loops, None)
    return load_tables(results, sizes, workers)

