"""The load benchmark's phases on one stack: warm-up, idle sessions, N sessions at once, the soak, click costs."""

from __future__ import annotations

import asyncio
import os
import random
import time

from benchmarks.harness import Table
from benchmarks.load.scenario import (
    RUN_TIMEOUT, STEPS, Outcome, check, error_count, scenario, session_rng, sign_in_cookie, trailer_count,
)
from benchmarks.load.stack import SETTLE, RssSampler, Server, until
from benchmarks.load.tables import quantiles
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


async def _click_runs(server: Server, clicks: int, seed: int) -> dict:
    """One session opens Explore, then clicks ``clicks`` random trailers one after the other; the workers'
    CPU seconds and the client-side seconds of each click run (nothing else runs on the server)."""
    rng = random.Random(seed)
    cookie = await sign_in_cookie(server.url)
    async with await sc.Session.open(server.url, timeout=RUN_TIMEOUT, cookie=cookie) as session:
        explore = await session.run(page="")
        chart, count = explore.widget("map"), trailer_count(explore)
        if chart is None or not count:
            raise RuntimeError(check("open Explore", explore) or "open Explore: no trailers")
        cpu, wall, errors = [], [], []
        for i in range(clicks + 1):                 # the first click (neighbour index, caches) is not counted
            session.set_widget(chart.id, string_value=sc.plotly_click(rng.randrange(count)))
            before = server.cpu()
            run = await session.run()
            await asyncio.sleep(0.2)                  # let the server finish sending before reading its CPU
            if i:
                cpu.append(server.cpu() - before)
                wall.append(run.seconds)
            if (problem := check("click a trailer", run)) is not None:
                errors.append(problem)
            chart = run.widget("map") or chart      # the chart's id follows its figure (the star moves)
    return {"cpu": cpu, "wall": wall, "errors": errors}


def click_costs(clicks: int = 30, seed: int = 0) -> Table:
    """Server CPU per click on Explore, one session alone through the proxy to one worker (the quick check)."""
    server = Server(1)
    try:
        asyncio.run(scenario(server.url, random.Random(seed)))          # warm-up: Streamlit's caches filled
        result = asyncio.run(_click_runs(server, clicks, seed + 1))
    finally:
        server.stop()
    rows = [[name, len(values), sum(values) / max(len(values), 1), *quantiles(values)]    # p50, p95, max
            for name, values in (("server CPU s", result["cpu"]), ("client-side s", result["wall"]))]
    return Table("Click on Explore, one session alone", ["measure", "clicks", "mean", "p50", "p95", "max"], rows,
                 note=(f"One session opens Explore through the proxy (1 worker) and clicks {clicks} random trailers in "
                       "turn (a first click is not counted); server CPU from /proc/<pid>/stat around each click run "
                       "(10 ms ticks: the mean is the figure to read). Errors: "
                       f"{'; '.join(result['errors'][:3]) or 'none'}."))
