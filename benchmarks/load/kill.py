"""The load benchmark's kill phase: sessions loop their scenario while one worker is killed, and reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from dataclasses import dataclass, field

from benchmarks.load.scenario import PASSWORD, RUN_TIMEOUT, STEPS, check, run_step, session_rng
from benchmarks.load.stack import SETTLE, Server, healthy, until
from mmx_core.serving.serve import sign_in
from testing import streamlit_client as sc

KILL_SESSIONS = 20           # sessions looping their scenario when one worker is killed
KILL_AFTER = 20.0            # seconds the sessions go on after the kill (longer while one is not back yet)
RECONNECT_SECONDS = 60.0     # a dropped session that is not back within this is lost


@dataclass
class Looper:
    """One session of the kill phase: its complete runs, the times its websocket dropped and it was back."""

    runs: int = 0
    drops: list[float] = field(default_factory=list)     # perf_counter when its websocket dropped
    back: list[float] = field(default_factory=list)      # perf_counter of its first complete run after a drop
    lost: int = 0                                        # drops never followed by a complete run
    errors: list[str] = field(default_factory=list)      # runs that failed without a drop


async def _reconnect(url: str, cookie: str, page: str, query: str, deadline: float):
    """As a browser tab whose websocket dropped: connect again with the same cookie and rerun the page it
    shows with its query string, until a run completes; ``(session, run)``, or ``(None, None)`` past ``deadline``."""
    step = "open Compare" if page else "open Explore"
    while time.perf_counter() < deadline:
        session = None
        try:
            session = await sc.Session.open(url, timeout=RUN_TIMEOUT, cookie=cookie)
            run = await session.run(page=page, query=query)
            if check(step, run) is None:
                return session, run
        except Exception:  # noqa: BLE001 - refused while the proxy finds a live worker: try again
            pass
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
        await asyncio.sleep(0.1)
    return None, None


async def _looping_session(url: str, rng: random.Random, stop: asyncio.Event, ready: list, rec: Looper) -> None:
    """Sign in once, then run the scenario over and over until ``stop``; a dropped websocket reconnects."""
    try:
        cookie = await asyncio.to_thread(sign_in, url, PASSWORD)
        session = await sc.Session.open(url, timeout=RUN_TIMEOUT, cookie=cookie)
    except Exception as exc:  # noqa: BLE001
        rec.errors.append(f"connect: {type(exc).__name__}: {str(exc)[:120]}")
        ready.append(rec)
        return
    explore, index, announced = None, 0, False
    try:
        while not stop.is_set():
            step = STEPS[index % len(STEPS)]
            try:
                run = await run_step(session, step, rng, explore)
            except Exception as exc:  # noqa: BLE001 - sending on a websocket that dropped between runs
                run = sc.Run(seconds=float("nan"), status="closed", exceptions=[f"{type(exc).__name__}: {exc}"])
            if run is None:
                rec.errors.append("click a trailer: no map")
                index += 1
                continue
            if run.status == "closed" or session.closed:
                dropped = time.perf_counter()
                rec.drops.append(dropped)
                page, query = ("Compare" if step == "open Compare" else ""), session.query
                with contextlib.suppress(Exception):
                    await session.close()
                new, back_run = await _reconnect(url, cookie, page, query, dropped + RECONNECT_SECONDS)
                if new is None:
                    rec.lost += 1
                    return
                session = new
                rec.back.append(time.perf_counter())
                rec.runs += 1
                if page:
                    index = 0                   # Compare done: the scenario starts again
                else:
                    explore, index = back_run, 1  # Explore shown again: its click comes next
                continue
            if (problem := check(step, run)) is not None:
                rec.errors.append(problem)
            else:
                rec.runs += 1
            if step == "open Explore":
                explore = run
            index += 1
            if index == len(STEPS) and not announced:
                ready.append(rec)
                announced = True
    finally:
        with contextlib.suppress(Exception):
            await session.close()


async def worker_kill(server: Server, sessions: int, after: float, seed: int) -> dict:
    """``sessions`` sessions loop their scenario through the proxy; once each has run it once, the first worker
    is killed (SIGKILL to its process group). Its sessions reconnect (:func:`_reconnect`); the time from the kill
    to each one's first complete run, and whether every one came back, are recorded."""
    await asyncio.sleep(SETTLE)
    stop, ready = asyncio.Event(), []
    recs = [Looper() for _ in range(sessions)]
    tasks = [asyncio.create_task(_looping_session(server.url, session_rng(seed, i), stop, ready, rec))
             for i, rec in enumerate(recs)]
    await until(lambda: len(ready) == sessions, RUN_TIMEOUT)
    victim = server.workers[0]
    restarts, pid = victim.restarts, victim.process.pid
    killed = time.perf_counter()
    os.killpg(pid, signal.SIGKILL)
    await asyncio.sleep(0.5)
    healthy_after = float("nan")
    deadline = killed + max(after, RECONNECT_SECONDS)
    while time.perf_counter() < deadline:
        if victim.process.pid != pid and await asyncio.to_thread(healthy, victim.url):
            healthy_after = time.perf_counter() - killed
            break
        await asyncio.sleep(0.25)
    await until(lambda: time.perf_counter() - killed >= after, after)
    await until(lambda: all(len(r.back) + r.lost >= len(r.drops) for r in recs), RECONNECT_SECONDS)
    stop.set()
    await asyncio.gather(*tasks)
    return {"sessions": sessions, "after": after, "recs": recs, "killed": killed, "port": victim.port,
            "restarted": victim.restarts > restarts, "healthy_after": healthy_after}
