"""The load benchmark's phases on one stack: warm-up, idle sessions, N sessions at once, the soak."""

from __future__ import annotations

import asyncio
import os
import random
import time

from benchmarks.load.scenario import RUN_TIMEOUT, STEPS, Outcome, error_count, scenario, session_rng
from benchmarks.load.stack import SETTLE, RssSampler, Server, until
from testing import streamlit_client as sc


async def warm_up(server: Server, seed: int, tries: int = 20) -> tuple[list[Outcome], float]:
    """Warm-up sessions (one after the other) until each worker ran one: Streamlit's caches filled in each
    (a worker ran a session when its CPU time grew by more than half a second)."""
    start = time.perf_counter()
    pids, warmed, outcomes = server.pids, set(), []
    for i in range(tries):
        before = {pid: sc.server_cpu_seconds(pid) for pid in pids}
        outcomes.append(await scenario(server.url, random.Random(seed + i)))
        warmed |= {pid for pid in pids if sc.server_cpu_seconds(pid) - before[pid] > 0.5}
        if warmed >= set(pids):
            break
    return outcomes, time.perf_counter() - start


async def idle_sessions(server: Server, m: int, at_once: int, seed: int) -> dict:
    """``m`` sessions, ``at_once`` running their scenario at a time, all left open: RSS per idle session."""
    await asyncio.sleep(SETTLE)
    rss0 = server.rss()
    hold, finished = asyncio.Event(), []
    tasks = []
    for i in range(m):
        tasks.append(asyncio.create_task(scenario(server.url, session_rng(seed, i), hold, finished)))
        await until(lambda: len(tasks) - len(finished) < at_once, RUN_TIMEOUT * len(STEPS))
    await until(lambda: len(finished) == m, RUN_TIMEOUT * len(STEPS))
    await asyncio.sleep(SETTLE)
    rss1 = server.rss()
    hold.set()
    outcomes = await asyncio.gather(*tasks)
    await asyncio.sleep(SETTLE)
    return {"m": m, "at_once": at_once, "rss0": rss0, "rss1": rss1, "rss2": server.rss(),
            "errors": error_count(outcomes)}


async def concurrent(server: Server, n: int, seed: int) -> dict:
    """N sessions at once; RSS before, with the N sessions open and idle after their scenario, after close."""
    await asyncio.sleep(SETTLE)
    rss0, cpu0, client0, load = server.rss(), server.cpu(), sum(os.times()[:2]), os.getloadavg()[0]
    hold, finished = asyncio.Event(), []
    with RssSampler(server) as sampler:
        start = time.perf_counter()
        tasks = [asyncio.create_task(scenario(server.url, session_rng(seed, i), hold, finished))
                 for i in range(n)]
        await until(lambda: len(finished) == n, RUN_TIMEOUT * len(STEPS) + 60)
        wall = time.perf_counter() - start
        cpu1, client1 = server.cpu(), sum(os.times()[:2])
        await asyncio.sleep(SETTLE)
        rss1 = server.rss()
        hold.set()
        outcomes = await asyncio.gather(*tasks)
        await asyncio.sleep(SETTLE)
        rss2 = server.rss()
    runs = sum(len(o.times) for o in outcomes)
    return {"n": n, "outcomes": outcomes, "rss0": rss0, "rss1": rss1, "rss2": rss2, "peak": sampler.peak,
            "wall": wall, "runs": runs, "server_cpu": cpu1 - cpu0, "client_cpu": client1 - client0, "load": load}


async def soak(server: Server, minutes: float, loops: int, seed: int) -> dict:
    """``loops`` loops of sign in -> open session -> scenario -> close (1-3 s pause) until ``minutes`` are up."""
    stop_at = time.perf_counter() + minutes * 60
    outcomes: list[Outcome] = []

    async def loop(index: int) -> None:
        rng = session_rng(seed, index)
        while time.perf_counter() < stop_at:
            outcomes.append(await scenario(server.url, rng))
            await asyncio.sleep(min(rng.uniform(1.0, 3.0), max(0.0, stop_at - time.perf_counter())))

    with RssSampler(server, every=5.0) as sampler:
        await asyncio.gather(*(loop(i) for i in range(loops)))
        await asyncio.sleep(SETTLE)
        sampler.samples.append((minutes * 60 + SETTLE, server.rss()))
    return {"minutes": minutes, "loops": loops, "outcomes": outcomes, "samples": sampler.samples}
